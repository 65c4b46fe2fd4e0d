"""GitHub Actions workflow commands, which show findings as annotations on the pull request diff.

GitHub shows only the first few annotations of each kind per step, so the most important findings come
first; ``step_summary`` gives the full list as a markdown table for the job summary page.
"""

from __future__ import annotations

from typing import Sequence

from gradlint.findings import Finding
from gradlint.report import ReportContext, chain_text, position, posix, ranked, severity

_COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    return "".join(annotation(finding) + "\n" for finding in ranked(findings))


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


def step_summary(findings: Sequence[Finding]) -> str:
    """All findings as a markdown table, most important first."""
    if not findings:
        return "### gradlint\n\nNo findings.\n"
    rows = [
        "| Location | Code | Rule | Confidence | Message |",
        "| --- | --- | --- | --- | --- |",
    ]
    for finding in ranked(findings):
        location = finding.location
        cells = (
            f"`{posix(position(location))}`",
            finding.code,
            finding.rule,
            finding.confidence.label,
            finding.message,
        )
        rows.append("| " + " | ".join(_table_cell(cell) for cell in cells) + " |")
    count = len(findings)
    title = f"### gradlint: {count} finding{'s' if count != 1 else ''}"
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
