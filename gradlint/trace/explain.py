"""Why each parameter's gradient is what it is, from the outcome and the diagnoses naming it."""

from __future__ import annotations

import dataclasses

from gradlint.trace.results import Outcome, ParameterReport, Reason, TraceResult


def _reason(report: ParameterReport, result: TraceResult) -> Reason:
    name = report.name
    if report.outcome is Outcome.OK:
        return Reason.CONNECTED
    if report.outcome is Outcome.FROZEN:
        return report.reason
    if report.outcome is Outcome.WRONG:
        return Reason.WRONG
    if report.outcome is Outcome.ERROR:
        return Reason.GRAPH_REUSE if any(name in r.parameters for r in result.graph_reuse) else Reason.UNEXPLAINED
    if report.outcome is Outcome.MISSING:
        return Reason.SEVERED if any(name in e.parameters for e in result.events) else Reason.DISCONNECTED
    if report.outcome is Outcome.NONFINITE:
        return Reason.NONFINITE if any(name in n.parameters for n in result.nonfinite) else Reason.UNEXPLAINED
    for point in result.vanishing:
        if name in point.parameters:
            return Reason.ZERO_FORWARD if point.zero_factor is not None else Reason.VANISHING
    return Reason.UNEXPLAINED


def with_reasons(result: TraceResult) -> TraceResult:
    parameters = tuple(dataclasses.replace(p, reason=_reason(p, result)) for p in result.parameters)
    return dataclasses.replace(result, parameters=parameters)
