"""Human-readable report: one ``path:line:col: CODE message [confidence]`` line per finding, optionally the
source line with a caret under the reported range, the reasoning chain and the fix, then a summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import click

from gradlint.findings import Confidence, Finding
from gradlint.fixes.apply import applicable
from gradlint.report import ReportContext, chain_text, counts_by_rule, position, severity

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
    lines.append(_summary(findings, context.files_checked))
    fixable = _fixable_summary(findings)
    if fixable:
        lines.append(fixable)
    if context.statistics and findings:
        lines.extend(_statistics(findings))
    return "\n".join(lines) + "\n"


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
    more = f" ({unsafe} more with `--fix --unsafe-fixes`)" if unsafe else ""
    if not safe:
        return f"{unsafe} {'fix' if unsafe == 1 else 'fixes'} available with `--fix --unsafe-fixes`."
    return f"[*] {safe} fixable with `--fix`{more}."


def _summary(findings: Sequence[Finding], files_checked: int) -> str:
    files = _plural(files_checked, "file")
    if not findings:
        return f"No findings in {files}."
    by_rule = ", ".join(f"{count.code}: {count.count}" for count in counts_by_rule(findings))
    return f"Found {_plural(len(findings), 'finding')} ({by_rule}) in {files}."


def _statistics(findings: Sequence[Finding]) -> list[str]:
    counts = counts_by_rule(findings)
    name_width = max(len("rule"), *(len(count.rule) for count in counts))
    count_width = max(len("count"), *(len(str(count.count)) for count in counts))
    rows = [f"{'code':<5}  {'rule':<{name_width}}  {'count':>{count_width}}"]
    rows += [f"{count.code:<5}  {count.rule:<{name_width}}  {count.count:>{count_width}}" for count in counts]
    return ["", *rows]


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _plain(text: str, **_styles: object) -> str:
    return text
