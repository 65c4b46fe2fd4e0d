"""Ranked suspects for the formats that speak in findings (GitHub annotations, SARIF), and as JSON.

A suspect the static checker also reported keeps that finding's code, position and reasoning chain, with the
trace's evidence added to its message; a site only the trace saw becomes a finding with the code ``trace``.
Suspects with trace evidence are high confidence: a cut was observed, not inferred.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Sequence

from gradlint import __version__
from gradlint.findings import Confidence, Finding, Location, source_lines
from gradlint.rank import Suspect
from gradlint.report.trace_text import describe
from gradlint.trace.results import TraceResult
from gradlint.trace.serialize import SCHEMA_VERSION, suspects_dict, trace_dict

TRACE_CODE = "trace"


def as_findings(suspects: Sequence[Suspect], root: Path) -> List[Finding]:
    """One finding per suspect, in rank order."""
    return [_finding(suspect, root) for suspect in suspects]


def _finding(suspect: Suspect, root: Path) -> Finding:
    observed = "; ".join(f"trace: {describe(evidence)}" for evidence in suspect.trace)
    if suspect.findings:
        static = max(suspect.findings, key=lambda finding: finding.confidence)
        message = f"{static.message}; {observed}" if observed else static.message
        confidence = Confidence.HIGH if suspect.trace else static.confidence
        return Finding(
            static.code,
            static.rule,
            message,
            static.location,
            confidence,
            static.chain,
            static.fix,
            static.source_line,
            static.use,
        )
    source_line = _line(root / suspect.path, suspect.line)
    indent = len(source_line) - len(source_line.lstrip())
    location = Location(suspect.path, suspect.line, indent + 1, suspect.line, len(source_line.rstrip()) + 1)
    kind = suspect.trace[0].kind if suspect.trace else "site"
    return Finding(
        TRACE_CODE, f"observed-{kind}".replace("_", "-"), observed, location, Confidence.HIGH, source_line=source_line
    )


def _line(path: Path, number: int) -> str:
    try:
        lines = source_lines(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return ""
    return lines[number - 1] if 0 < number <= len(lines) else ""


def render_json(result: TraceResult, suspects: Sequence[Suspect]) -> str:
    """The trace (parameters, events, diagnoses) and the ranked suspects in one document."""
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "gradlint_version": __version__,
        "trace": trace_dict(result),
        "suspects": suspects_dict(suspects)["suspects"],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
