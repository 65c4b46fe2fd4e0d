"""Machine-readable report; the object layout is documented in docs/json-schema.md and only changes with
``schema_version``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

from gradlint import __version__
from gradlint.findings import Finding, Location
from gradlint.report import ReportContext, posix

if TYPE_CHECKING:
    from gradlint.rules.base import Rule

SCHEMA_VERSION = 1


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "gradlint_version": __version__,
        "files_checked": context.files_checked,
        "baseline": None
        if context.baseline_commit is None
        else {
            "commit": context.baseline_commit,
            "existing": context.existing,
        },
        "findings": [finding_object(finding) for finding in findings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def finding_object(finding: Finding) -> dict[str, Any]:
    return {
        "path": posix(finding.location.path),
        **_range(finding.location),
        "code": finding.code,
        "rule": finding.rule,
        "message": finding.message,
        "confidence": finding.confidence.label,
        "fix": finding.fix or None,
        "use": finding.use or None,
        "chain": [
            {"code": step.code, "path": posix(step.path) or None, "line": step.line or None, "cell": step.cell}
            for step in finding.chain
        ],
        "autofix": None
        if finding.autofix is None
        else {
            "title": finding.autofix.title,
            "safe": finding.autofix.safe,
            "edits": [{**_range(edit.location), "content": edit.content} for edit in finding.autofix.edits],
        },
    }


def _range(location: Location) -> dict[str, Any]:
    return {
        "line": location.line,
        "column": location.column,
        "end_line": location.end_line,
        "end_column": location.end_column,
        "cell": location.cell,
    }


def catalogue(rules: Sequence[type[Rule]]) -> str:
    """The rules as a JSON list of {code, name, summary}."""
    entries = [{"code": rule.code, "name": rule.name, "summary": rule.summary()} for rule in rules]
    return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"
