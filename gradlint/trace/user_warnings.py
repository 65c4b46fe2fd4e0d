"""Warnings keep the user's line under the trace.

A warning torch raises inside an operation names the innermost Python frame, which under the trace is gradlint's
(the function mode or a hook passing the call on), and Python would then show it once for gradlint's line
instead of once per line of the user's. While tracing, such a warning is issued again for the user's frame
that made the call, with that module's filters and registry, and gradlint's registry entry is dropped.
"""

from __future__ import annotations

import sys
import warnings
from types import FrameType
from typing import Any, Optional

from gradlint.trace.frames import GRADLINT, CodeMap


class UserLineWarnings:
    def __init__(self, codes: CodeMap):
        self.codes = codes
        self._saved: Any = None

    def __enter__(self) -> UserLineWarnings:
        self._saved = getattr(warnings, "_showwarnmsg", None)  # what the interpreter calls to show a warning
        if self._saved is not None:
            warnings._showwarnmsg = self._show  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._saved is not None:
            warnings._showwarnmsg = self._saved  # type: ignore[attr-defined]

    def _issuer(self, message: warnings.WarningMessage) -> Optional[FrameType]:
        """gradlint's frame the warning was attributed to, if it is one."""
        if self.codes.category_of_file(message.filename) != GRADLINT:
            return None
        frame: Optional[FrameType] = sys._getframe(2)
        while frame is not None and not (
            frame.f_code.co_filename == message.filename and frame.f_lineno == message.lineno
        ):
            frame = frame.f_back
        return frame

    def _show(self, message: warnings.WarningMessage) -> None:
        issuer = self._issuer(message)
        user = self.codes.user_frame(issuer) if issuer is not None else None
        if issuer is None or user is None:
            self._saved(message)
            return
        issuer.f_globals.get("__warningregistry__", {}).pop(
            (str(message.message), message.category, message.lineno), None
        )
        module = user.f_globals
        warnings.warn_explicit(
            message.message,
            message.category,
            user.f_code.co_filename,
            user.f_lineno,
            module=module.get("__name__"),
            registry=module.setdefault("__warningregistry__", {}),
            module_globals=module,
        )
