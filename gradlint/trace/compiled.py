"""``torch.compile`` under the trace: compiled code runs eagerly, and the report says where it was compiled.

The trace watches Python-level torch calls; a compiled graph makes none (and tracing a function mode into one
fails or computes other gradients), so every pass runs the program with the compiler's ``force_eager``
stance. The gradients are then those of the program's eager semantics. Calls of ``torch.compile`` made while
tracing are recorded by site.
"""

from __future__ import annotations

import functools
import sys
from contextlib import ExitStack
from typing import Any

import torch

from gradlint.trace.frames import CodeMap
from gradlint.trace.results import Frame


class EagerCompile:
    def __init__(self, codes: CodeMap):
        self.codes = codes
        self.sites: list[Frame] = []
        self._stack = ExitStack()

    def __enter__(self) -> EagerCompile:
        stack = self._stack
        compiler = getattr(torch, "compiler", None)
        if hasattr(compiler, "set_stance"):
            stance = compiler.set_stance("force_eager")
            stack.callback(stance.__exit__, None, None, None)
        else:  # before torch 2.6: new compilations are skipped, code compiled earlier may still run compiled
            from torch import _dynamo

            stack.enter_context(_dynamo.config.patch(disable=True))
        original = torch.compile
        sites = self.sites
        codes = self.codes

        @functools.wraps(original)
        def compile(*args: Any, **kwargs: Any) -> Any:
            user = codes.user_frame(sys._getframe(1))
            if user is not None and codes.frame(user) not in sites:
                sites.append(codes.frame(user))
            return original(*args, **kwargs)

        torch.compile = compile
        stack.callback(setattr, torch, "compile", original)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()
