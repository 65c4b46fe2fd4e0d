"""``with gradlint.watch() as w:`` traces a block of code in place (also the ``gradlint_watch`` fixture).

After (or during) the block: ``w.parameters`` (outcome per parameter), ``w.events`` (severing
events), ``w.suspects`` (ranked sites), ``w.result`` (the whole ``TraceResult``), ``w.report()``
(the text report), ``w.check_gradients(loss)`` (the gradients against finite differences of a
closure recomputing the loss) and ``w.assert_gradients(*names)``, which fails with the report when
a named parameter's gradient is missing, zero, non-finite, wrong or in error. Watch blocks run in
diagnosis mode by default: they cannot be re-run, so zero factors and vanishing points are found on
the spot.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Mapping, Optional, Sequence

import torch

from gradlint.rank import Suspect, rank
from gradlint.report.trace_text import render
from gradlint.trace import explain
from gradlint.trace.finite_differences import check_function, checked
from gradlint.trace.results import ParameterReport, SeveringEvent, TargetKind, TraceResult
from gradlint.trace.session import TraceSession


class Watch:
    def __init__(
        self,
        *,
        user_paths: Sequence[str | os.PathLike[str]] = (),
        root: str | os.PathLike[str] = ".",
        detail: bool = True,
        parameters: Optional[Mapping[str, torch.Tensor]] = None,
    ):
        self._session = TraceSession(user_paths=user_paths, root=root, detail=detail, parameters=parameters or {})
        self._active = False
        self._final: Optional[TraceResult] = None

    def __enter__(self) -> Watch:
        self._session.__enter__()
        self._active = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._session.__exit__(*exc_info)
        self._active = False
        self._final = self._session.result("watch block", TargetKind.BLOCK)

    @property
    def result(self) -> TraceResult:
        if self._final is not None:
            return self._final
        return self._session.result("watch block", TargetKind.BLOCK)

    @property
    def parameters(self) -> tuple[ParameterReport, ...]:
        return self.result.parameters

    @property
    def events(self) -> tuple[SeveringEvent, ...]:
        return self.result.events

    @property
    def suspects(self) -> list[Suspect]:
        return rank(None, self.result)

    def check_gradients(self, loss: Callable[[], torch.Tensor], *names: str, directions: int = 3) -> None:
        """Compare the gradients of the named parameters (all, if none is named) with finite differences.

        ``loss`` recomputes the loss from the parameters' current values (a closure over the block's model and
        data); each parameter is moved in place by a small step along ``directions`` random directions and put
        back. Call it after the block. A parameter whose gradient disagrees becomes ``wrong`` in the results,
        so ``assert_gradients`` fails for it. Costs two evaluations of ``loss`` per direction and parameter.
        """
        if self._active:
            raise RuntimeError("call check_gradients after the watch block, not inside it")
        result = self.result
        wanted = set(names) or {p.name for p in result.parameters}
        tensors = {name: tensor for name, tensor in self._session.tensors().items() if name in wanted}
        with torch._C.DisableTorchFunction():
            checks = check_function(loss, tensors, directions)
        parameters = tuple(checked(p, checks.get(p.name)) for p in result.parameters)
        self._final = explain.with_reasons(dataclasses.replace(result, parameters=parameters))

    def report(self) -> str:
        result = self.result
        return render(result, rank(None, result))

    def assert_gradients(self, *names: str) -> None:
        """Fail unless every named parameter (every parameter, if none is named) has a usable gradient."""
        result = self.result
        known = {p.name: p for p in result.parameters}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise AssertionError(
                f"no traced parameter is called {', '.join(unknown)}; parameters seen: {', '.join(known) or 'none'}"
            )
        checked = [known[name] for name in names] if names else list(known.values())
        bad = [p for p in checked if p.outcome.is_bad]
        if bad:
            summary = ", ".join(f"{p.name} is {p.outcome.value}" for p in bad)
            raise AssertionError(f"bad gradient: {summary}\n\n{render(result, rank(None, result))}")


watch = Watch
