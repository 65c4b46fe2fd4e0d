"""GitHub Actions workflow commands, which show findings as annotations on the pull request diff.

GitHub shows only the first few annotations of each kind per step, so the findings on lines the pull request
changed come first (when the changed lines are known), then the most important; ``step_summary`` gives the
full list as a markdown table for the job summary page, with the counts of new and existing findings.
"""

from __future__ import annotations

from typing import Sequence

from gradlint.findings import Finding
from gradlint.report import ReportContext, chain_text, plural, position, posix, ranked, severity

_COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    return "".join(annotation(finding) + "\n" for finding in _ordered(findings, context))


def _ordered(findings: Sequence[Finding], context: ReportContext) -> list[Finding]:
    """Findings on changed lines first, each part most important first."""
    order = ranked(findings)
    if context.changed is None:
        return order
    changed = context.changed
    return [finding for finding in order if finding in changed] + [f for f in order if f not in changed]


def annotation(finding: Finding) -> str:
    location = finding.location
    # Columns are only meaningful on one line; GitHub's end column is inclusive, ours is exclusive.
    single_line = location.end_line == location.line
    properties = [
        ("file", posix(location.path)),
        ("line", str(location.line)),
        ("col", str(location.column) if single_line else ""),
        ("endLine", str(location.end_line)),
        ("endColumn", str(max(location.end_column - 1, location.column)) if single_line else ""),
        ("title", f"{finding.code} {finding.rule}" + (f" (cell {location.cell})" if location.cell else "")),
    ]
    rendered = ",".join(f"{name}={_escape_property(value)}" for name, value in properties if value)
    return f"::{_COMMANDS[severity(finding)]} {rendered}::{_escape_data(_message(finding))}"


def step_summary(findings: Sequence[Finding], context: ReportContext) -> str:
    """All reported findings as a markdown table, in the order of the annotations, under a title that counts
    them: new and existing with a baseline commit, and how many are on changed lines when that is known."""
    counts = [plural(len(findings), "new finding" if context.baseline_commit is not None else "finding")]
    if context.baseline_commit is not None:
        counts.append(f"{context.existing} existing at `{context.baseline_commit}`")
    if context.changed is not None:
        counts.append(f"{sum(finding in context.changed for finding in findings)} on changed lines")
    title = f"### gradlint: {', '.join(counts)}"
    if not findings:
        return f"{title}\n"
    rows = [
        "| Location | Code | Rule | Confidence | Message |",
        "| --- | --- | --- | --- | --- |",
    ]
    for finding in _ordered(findings, context):
        location = finding.location
        cells = (
            f"`{posix(position(location))}`",
            finding.code,
            finding.rule,
            finding.confidence.label,
            finding.message,
        )
        rows.append("| " + " | ".join(_table_cell(cell) for cell in cells) + " |")
    return "\n".join([title, "", *rows]) + "\n"


def _message(finding: Finding) -> str:
    lines = [f"{finding.message} [{finding.confidence.label}]"]
    if finding.chain:
        lines.append(f"chain: {chain_text(finding)}")
    if finding.fix:
        lines.append(f"fix: {finding.fix}")
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _table_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
