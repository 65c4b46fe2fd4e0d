"""``with gradlint.watch() as w:`` traces a block of code in place (also the ``gradlint_watch`` fixture).

After (or during) the block: ``w.parameters`` (outcome per parameter), ``w.events`` (severing
events), ``w.suspects`` (ranked sites), ``w.result`` (the whole ``TraceResult``), ``w.report()``
(the text report) and ``w.assert_gradients(*names)``, which fails with the report when a named
parameter's gradient is missing, zero, non-finite or in error. Watch blocks run in diagnosis mode by
default: they cannot be re-run, so zero factors and vanishing points are found on the spot.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional, Sequence

import torch

from gradlint.rank import Suspect, rank
from gradlint.report.trace_text import render
from gradlint.trace.results import ParameterReport, SeveringEvent, TargetKind, TraceResult
from gradlint.trace.session import TraceSession


class Watch:
    def __init__(self, *, user_paths: Sequence[str | os.PathLike[str]] = (), root: str | os.PathLike[str] = ".",
                 detail: bool = True, parameters: Optional[Mapping[str, torch.Tensor]] = None):
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

    def report(self) -> str:
        result = self.result
        return render(result, rank(None, result))

    def assert_gradients(self, *names: str) -> None:
        """Fail unless every named parameter (every parameter, if none is named) has a usable gradient."""
        result = self.result
        known = {p.name: p for p in result.parameters}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise AssertionError(f"no traced parameter is called {', '.join(unknown)}; "
                                 f"parameters seen: {', '.join(known) or 'none'}")
        checked = [known[name] for name in names] if names else list(known.values())
        bad = [p for p in checked if p.outcome.is_bad]
        if bad:
            summary = ", ".join(f"{p.name} is {p.outcome.value}" for p in bad)
            raise AssertionError(f"bad gradient: {summary}\n\n{render(result, rank(None, result))}")


watch = Watch
