"""``torch.compile`` under the trace: compiled code runs eagerly, and the report says where it was compiled.

The trace watches Python-level torch calls; a compiled graph makes none (and tracing a function mode into one
fails or computes other gradients), so every pass runs the program with the compiler's ``force_eager``
stance. The gradients are then those of the program's eager semantics. Calls of ``torch.compile`` made while
tracing are recorded by site.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any

import torch

from gradlint.trace.frames import CodeMap
from gradlint.trace.results import Frame


class EagerCompile:
    """The ``force_eager`` stance while tracing, entered only when the compiler is in use: at once when it was
    imported before (compiled functions may exist), else at the first ``torch.compile`` call (importing the
    compiler costs seconds, which a program that never compiles should not pay)."""

    def __init__(self, codes: CodeMap):
        self.codes = codes
        self.sites: list[Frame] = []
        self._stack = ExitStack()
        self._eager = False

    def _force_eager(self) -> None:
        if self._eager:
            return
        self._eager = True
        compiler = getattr(torch, "compiler", None)
        if compiler is not None and hasattr(compiler, "set_stance"):
            stance = compiler.set_stance("force_eager")
            self._stack.callback(stance.__exit__, None, None, None)
        else:  # before torch 2.6: new compilations are skipped, code compiled earlier may still run compiled
            from torch import _dynamo

            self._stack.enter_context(_dynamo.config.patch(disable=True))

    def __enter__(self) -> EagerCompile:
        if "torch._dynamo" in sys.modules:
            self._force_eager()
        original = torch.compile

        def compile(*args: Any, **kwargs: Any) -> Any:
            self._force_eager()
            user = self.codes.user_frame(sys._getframe(1))
            if user is not None and self.codes.frame(user) not in self.sites:
                self.sites.append(self.codes.frame(user))
            return original(*args, **kwargs)

        compile.__wrapped__ = original  # type: ignore[attr-defined]
        torch.compile = compile
        self._stack.callback(setattr, torch, "compile", original)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()
        self._eager = False
