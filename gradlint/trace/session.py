"""One traced stretch of a program: install the recorder's hooks (and the mode), then restore every global.

``TraceSession`` is the engine under ``run()``, ``watch()`` and the pytest plugin::

    with TraceSession(user_paths=["src"], detail=True) as session:
        ...                                  # the program: forward passes, backward calls
    result = session.result(target="block", kind=TargetKind.BLOCK)

A recording session (the default) runs the program under a function mode that sees every torch call: the
severing events and, with ``detail``, the diagnoses. ``record=False`` is the cheap session: no mode, only the
hooks that see parameters made (``gradlint.trace.creation``) and every backward (``gradlint.trace.engine``),
so it gives the gradient outcomes at almost no cost. Both run ``torch.compile``d code eagerly and keep
warnings at the user's lines.

On exit the function-mode stack, grad mode, ``torch.from_numpy`` and every hook are put back as they were, and
the line tracer (when asked for) is removed.
"""

from __future__ import annotations

import dataclasses
import os
from contextlib import ExitStack
from typing import Collection, Mapping, Optional, Sequence

import torch

from gradlint.trace import explain, ops
from gradlint.trace.compiled import EagerCompile
from gradlint.trace.creation import CreationHooks
from gradlint.trace.detail import Detail
from gradlint.trace.engine import EngineHook
from gradlint.trace.frames import CodeMap
from gradlint.trace.lines import LineRecorder
from gradlint.trace.mode import DetailMode, TraceMode, watch_from_numpy
from gradlint.trace.recorder import ParamRecord, Recorder
from gradlint.trace.results import (
    Frame,
    GraphReuse,
    Outcome,
    ParameterReport,
    Reason,
    SeveringEvent,
    TargetKind,
    TraceResult,
)
from gradlint.trace.user_warnings import UserLineWarnings


def _mode_stack_depth() -> int:
    return torch._C._len_torch_function_stack()


class TraceSession:
    def __init__(
        self,
        *,
        user_paths: Sequence[str | os.PathLike[str]] = (),
        root: str | os.PathLike[str] = ".",
        detail: bool = False,
        record: bool = True,
        parameters: Optional[Mapping[str, torch.Tensor]] = None,
        executed_lines: Optional[Mapping[str, Collection[int]]] = None,
    ):
        self.codes = CodeMap(user_paths, root)
        self.recorder = Recorder(self.codes, parameters)
        self.record = record or detail
        if detail:
            self.recorder.detail = Detail(self.codes)
        self.mode: Optional[TraceMode] = None
        if self.record:
            self.mode = (DetailMode if detail else TraceMode)(self.recorder, ops.tables())
        self.lines = LineRecorder(executed_lines, self.codes.display_path) if executed_lines is not None else None
        self.compiled = EagerCompile(self.codes)
        self._stack = ExitStack()
        self._saved_grad_mode = True
        self._depth = 0

    def __enter__(self) -> TraceSession:
        self._saved_grad_mode = torch.is_grad_enabled()
        self._depth = _mode_stack_depth()
        stack = self._stack
        for hook in (
            self.compiled,
            UserLineWarnings(self.codes),
            CreationHooks(self.recorder, factories=not self.record),
            EngineHook(self.recorder),
        ):
            stack.enter_context(hook)
        if self.mode is not None:
            saved_from_numpy = torch.from_numpy
            torch.from_numpy = watch_from_numpy(saved_from_numpy, self.recorder)
            stack.callback(setattr, torch, "from_numpy", saved_from_numpy)
        if self.lines is not None:
            self.lines.start()
            stack.callback(self.lines.stop)
        if self.mode is not None:
            self.mode.__enter__()
            stack.callback(self._pop_modes)
        return self

    def _pop_modes(self) -> None:
        while _mode_stack_depth() > self._depth:
            torch._C._pop_torch_function_stack()

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()
        torch.set_grad_enabled(self._saved_grad_mode)

    # ---- results ----------------------------------------------------------------------------------

    def _names(self) -> dict[int, str]:
        """Final names for kept parameters.

        A re-created parameter (same name, same creation site) keeps only its latest tensor that took part in a
        backward, or its latest if none did: a copy made after the last backward is no parameter of it.
        """
        recorder = self.recorder

        def differentiated(record: ParamRecord) -> bool:
            return recorder.outcome_of(record).outcome is not Outcome.MISSING

        latest: dict[tuple[str, Optional[Frame]], ParamRecord] = {}
        for record in sorted(recorder.params.values(), key=lambda r: r.order):
            created = record.created
            label = record.name or (f"{created.path}:{created.line}" if created else f"parameter{record.order}")
            kept = latest.get((label, created))
            if kept is None or differentiated(record) or not differentiated(kept):
                latest[(label, created)] = record
        counts: dict[str, int] = {}
        for label, _ in latest:
            counts[label] = counts.get(label, 0) + 1
        names = {}
        for (label, created), record in latest.items():
            unique = label if counts[label] == 1 or created is None else f"{label}@{created.path}:{created.line}"
            names[id(record.tensor)] = unique
        return names

    def tensors(self) -> dict[str, torch.Tensor]:
        """Each named parameter's tensor."""
        return {name: self.recorder.params[key].tensor for key, name in self._names().items()}

    def rewritten(self) -> set[str]:
        """The parameters whose gradient the program changed in place after their last backward."""
        return {name for key, name in self._names().items() if self.recorder.params[key].rewritten}

    def keys(self) -> dict[str, tuple[str, int, int]]:
        """Each named parameter's key (creation site and ordinal there), for those whose creation was seen."""
        keys = {name: self.recorder.params[key].key for key, name in self._names().items()}
        return {name: key for name, key in keys.items() if key is not None}

    def _report(self, record: ParamRecord, name: str, names: dict[int, str]) -> ParameterReport:
        """A parameter's outcome; one without a gradient that the program froze or copied on purpose is frozen."""
        recorder = self.recorder
        snap = recorder.outcome_of(record)
        report = ParameterReport(
            name, record.created, tuple(record.tensor.shape), snap.outcome, Reason.CONNECTED, snap.norm, snap.max_abs
        )
        if snap.outcome is not Outcome.MISSING:
            return report
        if record.frozen_at is not None and not record.tensor.requires_grad:
            return dataclasses.replace(
                report,
                outcome=Outcome.FROZEN,
                reason=Reason.FROZEN,
                frozen_at=record.frozen_at,
                copy_of=names.get(record.copy_of or 0),
            )
        original = recorder.params.get(record.copy_of or 0)
        if original is not None and recorder.outcome_of(original).outcome is not Outcome.MISSING:
            return dataclasses.replace(
                report,
                outcome=Outcome.FROZEN,
                reason=Reason.COPY,
                frozen_at=record.created,
                copy_of=names.get(id(original.tensor)),
            )
        return report

    def result(self, target: str, kind: TargetKind) -> TraceResult:
        """The trace so far (also callable while the session is active: its own work is not traced)."""
        with torch._C.DisableTorchFunction():
            return self._result(target, kind)

    def _result(self, target: str, kind: TargetKind) -> TraceResult:
        recorder = self.recorder
        recorder.finish()
        names = self._names()
        reports = [self._report(recorder.params[key], name, names) for key, name in names.items()]
        bad = {key for key, report in zip(names, reports) if report.outcome.is_bad}
        events = tuple(
            SeveringEvent(
                e.kind,
                e.op,
                e.site,
                e.chain,
                e.count,
                tuple(sorted(names[k] for k in e.params if k in names)),
                tuple(e.related),
            )
            for e in recorder.events.values()
        )
        detail = recorder.detail
        reuse = tuple(
            GraphReuse(
                r.node,
                r.created.site if r.created else None,
                detail.stored_at(r.created) if detail is not None and r.created else None,
                r.used.site if r.used else None,
                tuple(sorted(names[k] for k in r.params if k in names)),
            )
            for r in recorder.reuse
        )
        result = TraceResult(
            target=target,
            kind=kind,
            parameters=tuple(reports),
            events=events,
            vanishing=detail.vanishing_points(names, bad) if detail is not None else (),
            nonfinite=detail.nonfinite_origins(names, bad) if detail is not None else (),
            graph_reuse=reuse,
            output_zero=recorder.output_zero,
            executed_lines=self.lines.result() if self.lines is not None else None,
            compiled=tuple(self.compiled.sites),
        )
        return explain.with_reasons(result)
