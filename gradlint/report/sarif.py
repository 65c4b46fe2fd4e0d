"""SARIF 2.1.0, the format GitHub code scanning and other viewers read.

Paths are relative to the project root (``uriBaseId`` ``%SRCROOT%``). Every rule of the catalogue is
described, so viewers can show its documentation; confidence becomes the result's precision and rank.
Each result carries a fingerprint that survives the code moving to other lines (see ``gradlint.baseline``); with
a baseline commit, every result is marked new.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import quote

from gradlint import __version__, baseline
from gradlint.findings import Confidence, Finding, Location, Step
from gradlint.report import PROJECT_URL, RULES_DOC_URL, ReportContext, code_severity, posix, severity

if TYPE_CHECKING:
    from gradlint.rules.base import Rule

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "gradlint/v1"
RULE_TAGS = ("correctness", "pytorch", "autograd")
_RANKS = {Confidence.HIGH: 90.0, Confidence.MEDIUM: 60.0, Confidence.LOW: 30.0}


def render(findings: Sequence[Finding], context: ReportContext) -> str:
    descriptors = [rule_descriptor(rule) for rule in context.rules]
    known = {descriptor["id"] for descriptor in descriptors}
    for finding in findings:
        if finding.code not in known:
            known.add(finding.code)
            descriptors.append(_uncatalogued_descriptor(finding))
    index = {descriptor["id"]: position for position, descriptor in enumerate(descriptors)}
    fingerprints = baseline.fingerprints(findings)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gradlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": PROJECT_URL,
                        "rules": descriptors,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [
                    _result(finding, index[finding.code], fingerprint, context)
                    for finding, fingerprint in zip(findings, fingerprints)
                ],
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def rule_descriptor(rule: type[Rule]) -> dict[str, Any]:
    from gradlint.rules.docs import render_rule_page

    page = render_rule_page(rule)
    summary = rule.summary()
    # A rule is as precise as the most confident finding its own examples promise.
    precision = max((example.confidence for example in rule.INVALID), default=Confidence.MEDIUM)
    level = code_severity(rule.code)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": rule.sections().get("What it does") or summary},
        "help": {"text": page, "markdown": page},
        "helpUri": f"{RULES_DOC_URL}#{heading_anchor(page)}",
        "defaultConfiguration": {"level": level},
        "properties": {"precision": precision.label, "tags": list(RULE_TAGS), "problem.severity": level},
    }


def heading_anchor(page: str) -> str:
    """The anchor GitHub gives the page's first heading: lower case, punctuation dropped, spaces as hyphens."""
    heading = next((line.lstrip("#").strip() for line in page.splitlines() if line.startswith("#")), "")
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _uncatalogued_descriptor(finding: Finding) -> dict[str, Any]:
    """For codes outside the catalogue (the trace's own sites)."""
    text = f"{finding.code} {finding.rule}"
    level = severity(finding)
    return {
        "id": finding.code,
        "name": finding.rule,
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "help": {"text": text, "markdown": text},
        "defaultConfiguration": {"level": level},
        "properties": {"precision": "very-high", "tags": list(RULE_TAGS), "problem.severity": level},
    }


def _result(finding: Finding, rule_index: int, fingerprint: str, context: ReportContext) -> dict[str, Any]:
    location = finding.location
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": severity(finding),
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact(location.path),
                    "region": _region(location),
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "rank": _RANKS[finding.confidence],
        "properties": {"confidence": finding.confidence.label, "precision": finding.confidence.label},
    }
    if finding.fix:
        result["properties"]["fix"] = finding.fix
    if location.cell is not None:
        result["properties"]["cell"] = location.cell
    if finding.autofix is not None and location.cell is None:  # a tool would apply a cell's edit to the JSON
        result["fixes"] = [_fix(finding)]
    if context.baseline_commit is not None:
        result["baselineState"] = "new"  # only findings absent at the baseline commit are reported
    related = [_related(position, step, finding) for position, step in enumerate(finding.chain) if step.line > 0]
    if related:
        result["relatedLocations"] = related
    return result


def _region(location: Location) -> dict[str, int]:
    return {
        "startLine": location.line,
        "startColumn": location.column,
        "endLine": location.end_line,
        "endColumn": location.end_column,
    }


def _fix(finding: Finding) -> dict[str, Any]:
    """The autofix as SARIF replacements (in a notebook, positions within the cell named by ``cell``)."""
    autofix = finding.autofix
    assert autofix is not None
    return {
        "description": {"text": autofix.title + ("" if autofix.safe else " (unsafe)")},
        "artifactChanges": [
            {
                "artifactLocation": _artifact(finding.location.path),
                "replacements": [
                    {
                        "deletedRegion": _region(edit.location),
                        "insertedContent": {"text": edit.content},
                    }
                    for edit in autofix.edits
                ],
            }
        ],
        "properties": {"safe": autofix.safe},
    }


def _related(position: int, step: Step, finding: Finding) -> dict[str, Any]:
    related: dict[str, Any] = {
        "id": position,
        "physicalLocation": {
            "artifactLocation": _artifact(step.path or finding.location.path),
            "region": {"startLine": step.line},
        },
        "message": {"text": step.code},
    }
    if step.cell is not None:
        related["properties"] = {"cell": step.cell}
    return related


def _artifact(path: str) -> dict[str, str]:
    for flavour in (PurePosixPath, PureWindowsPath):
        if flavour(path).is_absolute():
            return {"uri": flavour(path).as_uri()}
    return {"uri": quote(posix(path)), "uriBaseId": SRCROOT}
