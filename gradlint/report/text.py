"""Human-readable report: one ``path:line:col: CODE message [confidence]`` line per finding, optionally the
source line with a caret under the reported range, the reasoning chain and the fix, then a summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import click

from gradlint.findings import Confidence, Finding
from gradlint.fixes.apply import applicable
from gradlint.report import ReportContext, chain_text, counts_by_rule, plural, position, severity

if TYPE_CHECKING:
    from gradlint.rules.base import Rule

_CONFIDENCE_COLORS = {Confidence.HIGH: "red", Confidence.MEDIUM: "yellow", Confidence.LOW: "cyan"}

Style = Callable[..., str]


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    style: Style = click.style if context.color else _plain
    lines: list[str] = []
    for finding in findings:
        lines.append(_headline(finding, style))
        if context.show_source:
            lines.extend(_details(finding, style))
    if not context.quiet:
        lines.append(" ".join(part for part in (_summary(findings, context), _fixable_summary(findings)) if part))
    if context.statistics and findings:
        lines.extend(_statistics(findings))
    return "".join(line + "\n" for line in lines)


def catalogue(rules: Sequence[type[Rule]]) -> str:
    """The rules as a table of code, name and summary."""
    name_width = max((len(rule.name) for rule in rules), default=0)
    return "".join(f"{rule.code}  {rule.name:<{name_width}}  {rule.summary()}\n" for rule in rules)


def _headline(finding: Finding, style: Style) -> str:
    where = f"{position(finding.location)}:"
    code_color = "red" if severity(finding) == "error" else _CONFIDENCE_COLORS[finding.confidence]
    return (
        f"{style(where, bold=True)} {style(finding.code, fg=code_color, bold=True)}{_fixable(finding)} "
        f"{_one_line(finding.message)} "
        f"{style(f'[{finding.confidence.label}]', dim=True)}"
    )


def _details(finding: Finding, style: Style) -> list[str]:
    lines: list[str] = []
    location = finding.location
    gutter = " " * len(str(location.line))
    if finding.source_line:
        source = finding.source_line.rstrip("\r\n")
        start = max(location.column - 1, 0)
        end = location.end_column - 1 if location.end_line == location.line else len(source)
        end = min(max(end, start + 1), max(len(source), start + 1))
        # Keep tabs so the caret lines up with the source whatever the tab width.
        padding = "".join(char if char == "\t" else " " for char in source[:start])
        lines += [
            f"{gutter} |",
            f"{location.line} | {source}",
            f"{gutter} | {padding}{style('^' * (end - start), fg='red', bold=True)}",
        ]
    if finding.chain:
        lines.append(f"{gutter} = chain: {chain_text(finding)}")
    if finding.fix:
        lines.append(f"{gutter} = fix: {finding.fix}")
    if finding.autofix is not None:
        safety = "" if finding.autofix.safe else " (unsafe: with --unsafe-fixes)"
        lines.append(f"{gutter} = autofix: {finding.autofix.title}{safety}")
    return lines


def _fixable(finding: Finding) -> str:
    """`` [*]`` after the code of a finding that ``--fix`` repairs, as ruff marks them."""
    return " [*]" if applicable(finding, unsafe=False) else ""


def _fixable_summary(findings: Sequence[Finding]) -> str:
    safe = sum(applicable(finding, unsafe=False) for finding in findings)
    unsafe = sum(applicable(finding, unsafe=True) for finding in findings) - safe
    if not safe and not unsafe:
        return ""
    if not safe:
        return f"{plural(unsafe, 'fix', 'fixes')} available with `--fix --unsafe-fixes`."
    more = f" ({unsafe} more with `--fix --unsafe-fixes`)" if unsafe else ""
    return f"[*] {safe} fixable with `--fix`{more}."


def _summary(findings: Sequence[Finding], context: ReportContext) -> str:
    files = plural(context.files_checked, "file")
    new = "" if context.baseline_commit is None else "new "
    existing = "" if context.baseline_commit is None else f" ({context.existing} existing at {context.baseline_commit})"
    if not findings:
        return f"No {new}findings in {files}{existing}."
    by_rule = ", ".join(f"{count.code}: {count.count}" for count in counts_by_rule(findings))
    return f"Found {plural(len(findings), new + 'finding')} ({by_rule}) in {files}{existing}."


def _statistics(findings: Sequence[Finding]) -> list[str]:
    counts = counts_by_rule(findings)
    name_width = max(len("rule"), *(len(count.rule) for count in counts))
    count_width = max(len("count"), *(len(str(count.count)) for count in counts))
    rows = [f"{'code':<5}  {'rule':<{name_width}}  {'count':>{count_width}}"]
    rows += [f"{count.code:<5}  {count.rule:<{name_width}}  {count.count:>{count_width}}" for count in counts]
    return ["", *rows]


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _plain(text: str, **_styles: object) -> str:
    return text
