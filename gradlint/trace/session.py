"""One traced stretch of a program: install the mode and its helpers, then restore every global.

``TraceSession`` is the engine under ``run()``, ``watch()`` and the pytest plugin::

    with TraceSession(user_paths=["src"], detail=True) as session:
        ...                                  # the program: forward passes, backward calls
    result = session.result(target="block", kind=TargetKind.BLOCK)

On exit the function-mode stack, grad mode and ``torch.from_numpy`` are put back as they were, and
the line tracer (when asked for) is removed.
"""

from __future__ import annotations

import functools
import os
from typing import Collection, Mapping, Optional, Sequence

import torch

from gradlint.trace import explain, ops
from gradlint.trace.detail import Detail
from gradlint.trace.frames import CodeMap
from gradlint.trace.lines import LineRecorder
from gradlint.trace.mode import DetailMode, TraceMode, watch_from_numpy
from gradlint.trace.recorder import ParamRecord, Recorder
from gradlint.trace.results import Frame, GraphReuse, ParameterReport, Reason, SeveringEvent, TargetKind, TraceResult


@functools.cache
def _tables() -> ops.OpTables:
    return ops.build()


def _mode_stack_depth() -> int:
    return torch._C._len_torch_function_stack()


class TraceSession:
    def __init__(
        self,
        *,
        user_paths: Sequence[str | os.PathLike[str]] = (),
        root: str | os.PathLike[str] = ".",
        detail: bool = False,
        parameters: Optional[Mapping[str, torch.Tensor]] = None,
        executed_lines: Optional[Mapping[str, Collection[int]]] = None,
    ):
        self.codes = CodeMap(user_paths, root)
        self.recorder = Recorder(self.codes, parameters)
        if detail:
            self.recorder.detail = Detail(self.codes)
        mode_class = DetailMode if detail else TraceMode
        self.mode = mode_class(self.recorder, _tables())
        self.lines = LineRecorder(executed_lines, self.codes.display_path) if executed_lines is not None else None
        self._saved_grad_mode = True
        self._saved_from_numpy = torch.from_numpy
        self._depth = 0

    def __enter__(self) -> TraceSession:
        self._saved_grad_mode = torch.is_grad_enabled()
        self._saved_from_numpy = torch.from_numpy
        self._depth = _mode_stack_depth()
        torch.from_numpy = watch_from_numpy(self._saved_from_numpy, self.recorder)
        if self.lines is not None:
            self.lines.start()
        self.mode.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        while _mode_stack_depth() > self._depth:
            torch._C._pop_torch_function_stack()
        if self.lines is not None:
            self.lines.stop()
        torch.from_numpy = self._saved_from_numpy
        torch.set_grad_enabled(self._saved_grad_mode)

    # ---- results ----------------------------------------------------------------------------------

    def _names(self) -> dict[int, str]:
        """Final names for kept parameters; a re-created parameter keeps only its latest tensor."""
        latest: dict[tuple[str, Optional[Frame]], ParamRecord] = {}
        for record in sorted(self.recorder.params.values(), key=lambda r: r.order):
            created = record.created
            label = record.name or (f"{created.path}:{created.line}" if created else f"parameter{record.order}")
            latest[(label, created)] = record
        counts: dict[str, int] = {}
        for label, _ in latest:
            counts[label] = counts.get(label, 0) + 1
        names = {}
        for (label, created), record in latest.items():
            unique = label if counts[label] == 1 or created is None else f"{label}@{created.path}:{created.line}"
            names[id(record.tensor)] = unique
        return names

    def result(self, target: str, kind: TargetKind) -> TraceResult:
        """The trace so far (also callable while the session is active: its own work is not traced)."""
        with torch._C.DisableTorchFunction():
            return self._result(target, kind)

    def _result(self, target: str, kind: TargetKind) -> TraceResult:
        recorder = self.recorder
        recorder.finish()
        names = self._names()
        reports = []
        for key, name in names.items():
            record = recorder.params[key]
            snap = recorder.outcome_of(record)
            reports.append(ParameterReport(name, record.created, tuple(record.tensor.shape), snap.outcome,
                                           Reason.CONNECTED, snap.norm, snap.max_abs))
        bad = {key for key in names if recorder.outcome_of(recorder.params[key]).outcome.is_bad}
        events = tuple(
            SeveringEvent(e.kind, e.op, e.site, e.chain, e.count,
                          tuple(sorted(names[k] for k in e.params if k in names)), tuple(e.related))
            for e in recorder.events.values()
        )
        detail = recorder.detail
        reuse = tuple(
            GraphReuse(r.node, r.created.site if r.created else None,
                       detail.stored_at(r.created) if detail is not None and r.created else None,
                       r.used.site if r.used else None, tuple(sorted(names[k] for k in r.params if k in names)))
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
        )
        return explain.with_reasons(result)
