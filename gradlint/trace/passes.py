"""The passes over a target: a cheap first pass, then a diagnosis pass when a gradient needs explaining.

The second pass runs when the first finds a zero or non-finite gradient, or a backward through a freed
graph: the target runs again in diagnosis mode (same random state, modules imported afresh, output
logged but not shown) to find the zero factor, the vanishing or non-finite node, or the cached tensor.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Collection, Mapping, Optional, Sequence

from gradlint.trace import explain, targets
from gradlint.trace.capture import tee_output
from gradlint.trace.isolation import Isolation, Randomness
from gradlint.trace.results import Failure, FailureKind, Outcome, TargetKind, TraceResult
from gradlint.trace.session import TraceSession

_DIAGNOSED = (Outcome.ZERO, Outcome.NONFINITE)


@dataclasses.dataclass(frozen=True)
class Options:
    args: Sequence[str]
    user_paths: Sequence[str]
    root: str
    pythonpath: Sequence[str]
    executed_lines: Optional[Mapping[str, Collection[int]]]


def _one_pass(target: targets.Target, options: Options, *, detail: bool, randomness: Randomness) -> TraceResult:
    session = TraceSession(user_paths=options.user_paths, root=options.root, detail=detail,
                           executed_lines=None if detail else options.executed_lines)
    with Isolation(session.codes, options.pythonpath, randomness):
        execution = targets.execute(target, options.args, session)
    result = session.result(target.text, target.kind)
    return dataclasses.replace(result, failure=execution.failure, test_outcome=execution.test_outcome)


def _needs_diagnosis(result: TraceResult) -> bool:
    usable = result.failure is None or result.failure.kind is FailureKind.RAISED
    return usable and (bool(result.graph_reuse) or any(p.outcome in _DIAGNOSED for p in result.parameters))


def _merge(first: TraceResult, second: TraceResult) -> TraceResult:
    merged = dataclasses.replace(
        first,
        vanishing=second.vanishing,
        nonfinite=second.nonfinite,
        graph_reuse=second.graph_reuse or first.graph_reuse,
        passes=2,
    )
    return explain.with_reasons(merged)


def trace(target: str, kind: TargetKind, options: Options, log: io.StringIO, echo: bool) -> TraceResult:
    """Trace ``target``; what it prints is shown (if ``echo``) and copied into ``log``."""
    parsed = targets.parse(target)
    if isinstance(parsed, Failure):
        return TraceResult(target, kind, failure=parsed)
    randomness = Randomness.capture()
    with tee_output(log, echo):
        result = _one_pass(parsed, options, detail=False, randomness=randomness)
    if _needs_diagnosis(result):
        diagnosis_log = io.StringIO()
        with tee_output(diagnosis_log, echo=False):
            second = _one_pass(parsed, options, detail=True, randomness=randomness)
        log.write("\n---- gradlint diagnosis pass (the target ran again) ----\n" + diagnosis_log.getvalue())
        result = _merge(result, second)
    return result
