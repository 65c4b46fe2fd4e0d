"""Reporters: findings in, text out, one module per output format.

Every format module has ``render(findings, context) -> str``; ``render`` here picks one by name.
Finding paths are already relative to the project root (``context.root``).
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from gradlint.engine import PARSE_ERROR_CODE
from gradlint.findings import Finding, Location, Step
from gradlint.suppressions import UNUSED_SUPPRESSION_CODE

if TYPE_CHECKING:
    from gradlint.baseline import ChangedLines
    from gradlint.rules.base import Rule

FORMATS = ("text", "json", "github", "sarif")
PROJECT_URL = "https://github.com/gradlint/gradlint"
RULES_DOC_URL = f"{PROJECT_URL}/blob/main/docs/rules.md"


@dataclass(frozen=True)
class ReportContext:
    root: Path = Path(".")
    files_checked: int = 0
    show_source: bool = False
    statistics: bool = False
    quiet: bool = False  # the findings only, without the summary
    color: bool = False
    rules: Sequence[type[Rule]] = field(default=())  # the catalogue, for formats that describe every rule
    baseline_commit: str | None = None  # set: the findings are those not present at this commit
    existing: int = 0  # with a baseline commit, how many findings were present there (not reported)
    changed: ChangedLines | None = None  # lines changed since the base: their findings are annotated first


@dataclass(frozen=True)
class RuleCount:
    code: str
    rule: str
    count: int


def render(format_name: str, findings: Sequence[Finding], context: ReportContext) -> str:
    if format_name not in FORMATS:
        raise ValueError(f"unknown report format {format_name!r}")
    module = importlib.import_module(f"gradlint.report.{format_name}")
    return module.render(findings, context)


def severity(finding: Finding) -> str:
    return code_severity(finding.code)


def code_severity(code: str) -> str:
    """``error`` for a file that could not be checked, ``note`` for an unused suppression, else ``warning``."""
    if code == PARSE_ERROR_CODE:
        return "error"
    if code == UNUSED_SUPPRESSION_CODE:
        return "note"
    return "warning"


def ranked(findings: Sequence[Finding]) -> list[Finding]:
    """Most important first: higher confidence, then lower code, then position."""
    return sorted(findings, key=lambda finding: (-finding.confidence, finding.code, finding.sort_key))


def counts_by_rule(findings: Sequence[Finding]) -> list[RuleCount]:
    """How many findings each rule has, most frequent first."""
    counts = Counter((finding.code, finding.rule) for finding in findings)
    return [
        RuleCount(code, rule, count)
        for (code, rule), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def position(location: Location) -> str:
    """``path:line:column``; in a notebook ``path:cell 3:line:column``, as ruff writes it."""
    cell = f"cell {location.cell}:" if location.cell is not None else ""
    return f"{location.path}:{cell}{location.line}:{location.column}"


def chain_text(finding: Finding) -> str:
    """The reasoning chain as ``cell_a ← self.cell_a (crystal.py:41) ← config.cell_a``: a step's place is
    shown when it is known and differs from the finding's own line."""
    return " ← ".join(_step_text(step, finding) for step in finding.chain)


def _step_text(step: Step, finding: Finding) -> str:
    here = step.path in ("", finding.location.path)
    if step.line <= 0 or (here and step.cell == finding.location.cell and step.line == finding.location.line):
        return step.code
    line = f"cell {step.cell}, line {step.line}" if step.cell is not None else f"line {step.line}"
    if here:
        return f"{step.code} ({line})"
    return f"{step.code} ({step.path}:{line if step.cell is not None else step.line})"


def plural(count: int, noun: str, nouns: str = "") -> str:
    """``1 file``, ``2 files``; ``nouns`` is the plural when it is not ``noun`` + s (``fixes``)."""
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


def posix(path: str) -> str:
    return path.replace("\\", "/")
