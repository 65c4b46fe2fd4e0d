"""The passes over a target: a cheap first run, then reruns only when they have something to find.

1. **Outcomes** (``record="auto"`` or ``"never"``): the target runs with no function mode, only the hooks that
   see parameters made and every backward (``TraceSession(record=False)``): the gradient outcome of every
   parameter, at almost no cost. A healthy target is done here.
2. **Gradient check** (``check_gradients``): the parameters with a real gradient are compared with finite
   differences of the same program (``gradlint.trace.finite_differences``); those that disagree are ``wrong``.
3. **Recording** (``record="auto"``): when a selected parameter is bad (missing, zero, non-finite, wrong, in
   error) or the target raised, the target runs again under the function mode, in diagnosis mode when a zero
   or non-finite gradient or a reused graph needs explaining: where the gradients were cut, and why.

Every run starts from the same random states (torch's, Python's, numpy's), with the user's modules imported
afresh; the result counts the runs (``passes``) and says in ``notes`` why each rerun happened, and where the
recording run saw other outcomes than the first (a target that is not deterministic). ``record="always"``
runs the target once, recording in diagnosis mode from the start: for targets that must not run twice.
The output of the first run is shown; that of the recording run is logged after a separator.

A run interrupted by SIGINT or SIGTERM ends the passes: what was seen until then is the result.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import io
import signal
from typing import Callable, Collection, Mapping, Optional, Sequence

from gradlint.trace import explain, targets
from gradlint.trace.capture import tee_output
from gradlint.trace.exits import ExitGuard
from gradlint.trace.failures import failure
from gradlint.trace.finite_differences import Candidate, Checker, checked
from gradlint.trace.frames import CodeMap
from gradlint.trace.isolation import Isolation, Randomness
from gradlint.trace.results import Failure, FailureKind, Outcome, ParameterReport, TargetKind, TraceResult
from gradlint.trace.session import TraceSession

_DIAGNOSED = (Outcome.ZERO, Outcome.NONFINITE, Outcome.ERROR)


@dataclasses.dataclass(frozen=True)
class Options:
    args: Sequence[str] = ()
    user_paths: Sequence[str] = ()
    root: str = "."
    pythonpath: Sequence[str] = ()
    executed_lines: Optional[Mapping[str, Collection[int]]] = None
    params: Sequence[str] = ()  # glob patterns of the parameters that matter (all, if none)
    record: str = "auto"  # "auto", "always" or "never"
    check_gradients: bool = False
    directions: int = 3  # random directions per tensor parameter for the gradient check


Rerun = Callable[[targets.Session], targets.Execution]


def select(result: TraceResult, patterns: Sequence[str]) -> tuple[TraceResult, list[str]]:
    """The result restricted to the parameters some pattern matches, and the patterns that match none."""
    if not patterns:
        return result, []
    names = [p.name for p in result.parameters]
    unmatched = [pattern for pattern in patterns if not fnmatch.filter(names, pattern)]
    kept = tuple(p for p in result.parameters if any(fnmatch.fnmatchcase(p.name, pattern) for pattern in patterns))
    return dataclasses.replace(result, parameters=kept), unmatched


def _interrupted(result: TraceResult, signal_name: str) -> TraceResult:
    return dataclasses.replace(result, failure=failure(FailureKind.INTERRUPTED, result.target, signal_name))


class Passes:
    """Runs the passes after the first, through ``rerun``: the same target once more under a given session."""

    def __init__(self, options: Options, rerun: Rerun, log: io.StringIO):
        self.options = options
        self.rerun = rerun
        self.log = log

    def first_session(self) -> TraceSession:
        always = self.options.record == "always"
        return TraceSession(
            user_paths=self.options.user_paths,
            root=self.options.root,
            record=always,
            detail=always,
            executed_lines=self.options.executed_lines,
        )

    def outcome(
        self, session: TraceSession, execution: Optional[targets.Execution], target: str, kind: TargetKind
    ) -> TraceResult:
        """The result of a session's run (``execution`` None: it was interrupted)."""
        result = session.result(target, kind)
        if execution is None:
            return _interrupted(result, "SIGINT")
        return dataclasses.replace(result, failure=execution.failure, test_outcome=execution.test_outcome)

    def finish(self, first: TraceResult, session: TraceSession) -> TraceResult:
        """The passes after the first run (whose session and result are given)."""
        options = self.options
        result, unmatched = select(first, options.params)
        if unmatched:
            detail = ", ".join(map(repr, unmatched))
            return dataclasses.replace(
                result,
                failure=failure(
                    FailureKind.UNKNOWN_PARAMETER, result.target, detail, known=[p.name for p in first.parameters]
                ),
            )
        usable = result.failure is None or result.failure.kind is FailureKind.RAISED
        notes = list(result.notes)
        if options.check_gradients and usable and result.failure is None:
            result = self._check(result, session, notes)
        if options.record == "auto" and usable and self._needs_recording(result):
            result = self._record(result, notes, session.rewritten())
        return explain.with_reasons(dataclasses.replace(result, notes=tuple(notes)))

    @staticmethod
    def _needs_recording(result: TraceResult) -> bool:
        return result.failure is not None or any(p.outcome.is_bad for p in result.parameters)

    def _check(self, result: TraceResult, session: TraceSession, notes: list[str]) -> TraceResult:
        keys = session.keys()
        candidates = [
            Candidate(p.name, keys[p.name]) for p in result.parameters if p.outcome is Outcome.OK and p.name in keys
        ]
        unkeyed = [p.name for p in result.parameters if p.outcome is Outcome.OK and p.name not in keys]
        if unkeyed:
            notes.append(f"not checked against finite differences (created before the trace): {', '.join(unkeyed)}")
        checker = Checker(session.codes, self._quiet_rerun, max(1, self.options.directions))
        checks = checker.check(candidates) if candidates else {}
        notes += checker.notes
        if checker.runs:
            notes.append(
                f"--check-gradients ran the target {checker.runs} more times (finite differences, each "
                "run stopped at its first backward)"
            )
        parameters = tuple(checked(p, checks.get(p.name)) for p in result.parameters)
        return dataclasses.replace(result, parameters=parameters, passes=result.passes + checker.runs)

    def _quiet_rerun(self, session: targets.Session) -> None:
        with tee_output(io.StringIO(), echo=False):
            self.rerun(session)

    def _record(self, first: TraceResult, notes: list[str], rewritten: set[str]) -> TraceResult:
        """The recording run; ``rewritten``: parameters whose gradient the program changed in place after its last
        backward in the first run (which read what the program left; the recording run reads it before)."""
        detail = bool(first.graph_reuse) or any(p.outcome in _DIAGNOSED for p in first.parameters)
        session = TraceSession(user_paths=self.options.user_paths, root=self.options.root, detail=detail)
        bad = ", ".join(f"{p.name} {p.outcome.value}" for p in first.parameters if p.outcome.is_bad)
        why = f"a parameter had a bad gradient ({bad})" if bad else "the target raised"
        notes.append(f"the target ran again under the recording trace, with the same random seeds, because {why}")
        recording_log = io.StringIO()
        execution: Optional[targets.Execution] = None
        try:
            with tee_output(recording_log, echo=False):
                execution = self.rerun(session)
        except KeyboardInterrupt:
            pass
        self.log.write("\n---- gradlint recording pass (the target ran again) ----\n" + recording_log.getvalue())
        second, _ = select(self.outcome(session, execution, first.target, first.kind), self.options.params)
        before = {p.name: p for p in first.parameters}
        changed = [p for p in second.parameters if p.name in before and _differs(before[p.name], p)]
        if any(p.name in rewritten for p in changed):
            notes.append(
                "the program changed gradients in place after their last backward (the first run read "
                "what it left, the recording run what backward made): "
                + ", ".join(p.name for p in changed if p.name in rewritten)
            )
        changed = [p for p in changed if p.name not in rewritten]
        if changed:
            notes.append(
                "the recording run saw other gradients than the first (is the target deterministic?): "
                + ", ".join(
                    f"{p.name} ({before[p.name].outcome.value} in the first run, {p.outcome.value} when recorded)"
                    for p in changed
                )
            )
        parameters = tuple(checked(p, before[p.name].check) if p.name in before else p for p in second.parameters)
        return dataclasses.replace(
            second,
            parameters=parameters,
            passes=first.passes + 1,
            executed_lines=first.executed_lines,
            compiled=first.compiled or second.compiled,
        )


def _differs(first: ParameterReport, second: ParameterReport) -> bool:
    """Whether two runs' outcomes differ (a parameter found wrong by the check keeps its autograd outcome)."""
    return first.outcome is not second.outcome and first.outcome is not Outcome.WRONG


def trace(target: str, kind: TargetKind, options: Options, log: io.StringIO, echo: bool) -> TraceResult:
    """Trace ``target``; what its first run prints is shown (if ``echo``) and copied into ``log``."""
    parsed = targets.parse(target)
    if isinstance(parsed, Failure):
        return TraceResult(target, kind, failure=parsed)
    randomness = Randomness.capture()

    def rerun(session: targets.Session) -> targets.Execution:
        with Isolation(session.recorder.codes, options.pythonpath, randomness):
            return targets.execute(parsed, options.args, session)

    passes = Passes(options, rerun, log)
    guard = ExitGuard(CodeMap(options.user_paths, options.root))
    with guard:
        session = passes.first_session()
        execution: Optional[targets.Execution] = None
        try:
            with tee_output(log, echo):
                execution = rerun(session)
        except KeyboardInterrupt:
            pass
        first = passes.outcome(session, execution, parsed.text, parsed.kind)
        if execution is not None:
            try:
                first = passes.finish(first, session)
            except KeyboardInterrupt:
                first = _interrupted(first, "SIGINT")
    ends = guard.ends
    notes = []
    if ends.exit_code is not None:
        where = f" at {ends.exit_site.path}:{ends.exit_site.line}" if ends.exit_site else ""
        notes.append(f"the target called os._exit({ends.exit_code}){where}; the trace stopped it there to report")
    if ends.signal is not None and first.failure is not None and first.failure.kind is FailureKind.INTERRUPTED:
        first = _interrupted(first, signal.Signals(ends.signal).name)
    return dataclasses.replace(first, notes=(*first.notes, *notes))
