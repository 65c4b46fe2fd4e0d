"""JSON-ready dicts of trace results and suspects (schema in ``docs/trace.md``; no torch needed).

Dataclasses become dicts with their field names as keys, enums their values, tuples lists; floats that
JSON cannot hold become the strings ``"nan"``, ``"inf"`` and ``"-inf"``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, Sequence

from gradlint.findings import Finding
from gradlint.rank import Suspect
from gradlint.trace.results import TraceResult

SCHEMA_VERSION = 1


def plain(value: Any) -> Any:
    """A JSON-ready copy of a result value."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Finding):
        return finding_dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(item) for item in value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return value


def finding_dict(finding: Finding) -> dict[str, Any]:
    location = finding.location
    return {
        "code": finding.code,
        "rule": finding.rule,
        "message": finding.message,
        "path": location.path,
        "line": location.line,
        "column": location.column,
        "confidence": finding.confidence.label,
        "chain": [{"code": s.code, "path": s.path, "line": s.line} for s in finding.chain],
    }


def gradients_dict(result: TraceResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "target": result.target,
        "output_zero": result.output_zero,
        "parameters": plain(result.parameters),
    }


def trace_dict(result: TraceResult) -> dict[str, Any]:
    body = {key: value for key, value in plain(result).items() if key != "log"}
    return {"schema": SCHEMA_VERSION, **body, "bad_parameters": list(result.bad_parameters)}


def suspect_dict(suspect: Suspect, rank: int) -> dict[str, Any]:
    return {
        "rank": rank,
        "path": suspect.path,
        "line": suspect.line,
        "function": suspect.function,
        "tier": suspect.tier,
        "codes": list(suspect.codes),
        "parameters": list(suspect.parameters),
        "bad_parameters": list(suspect.bad_parameters),
        "executed": suspect.executed,
        "static_missed": suspect.static_missed,
        "trace": [
            {
                **{
                    key: plain(getattr(e, key))
                    for key in ("kind", "op", "count", "parameters", "explains", "chain", "priority")
                },
                "detail": plain(e.source),
            }
            for e in suspect.trace
        ],
        "findings": [finding_dict(f) for f in suspect.findings],
    }


def suspects_dict(suspects: Sequence[Suspect]) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "suspects": [suspect_dict(s, n) for n, s in enumerate(suspects, 1)]}
