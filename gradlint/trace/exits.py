"""The ways a target can end the process, turned into ends the trace can report.

While a trace runs:

- ``os._exit(code)`` called by the target in this thread raises ``TargetExit`` instead of ending the process
  at once, so the outcomes seen so far are still reported (and a non-zero code is not taken for success);
- SIGINT and SIGTERM (Ctrl-C, ``timeout``, a process manager) raise ``TraceInterrupted`` in the target, so the
  trace stops, reports what it saw and writes its bundle; the signal is remembered for the exit code.

Both are undone when the trace ends. Signal handlers can only be set from the main thread: elsewhere the
signals keep their handlers.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any, NoReturn, Optional

from gradlint.trace.frames import CodeMap
from gradlint.trace.results import Frame

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TargetExit(BaseException):
    """The target called ``os._exit(code)``."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class TraceInterrupted(KeyboardInterrupt):
    """A signal asked the trace to stop (a KeyboardInterrupt, so that pytest and the like stop as for Ctrl-C)."""


@dataclass
class Ends:
    """What ended the target, when it did not simply return."""

    exit_code: Optional[int] = None  # os._exit(code)
    exit_site: Optional[Frame] = None  # the user's line that called it
    signal: Optional[int] = None  # SIGINT or SIGTERM


class ExitGuard:
    def __init__(self, codes: CodeMap) -> None:
        self.codes = codes
        self.ends = Ends()
        self._pid = os.getpid()
        self._thread = threading.get_ident()
        self._saved_exit = os._exit
        self._saved_handlers: dict[int, Any] = {}

    def __enter__(self) -> ExitGuard:
        self._saved_exit = os._exit
        real_exit, pid, thread, ends, codes = os._exit, self._pid, self._thread, self.ends, self.codes

        def exit_(status: int) -> NoReturn:
            if os.getpid() != pid or threading.get_ident() != thread:  # a forked child, another thread
                real_exit(status)
            user = codes.user_frame(sys._getframe(1))
            ends.exit_code, ends.exit_site = status, codes.frame(user) if user is not None else None
            raise TargetExit(status)

        os._exit = exit_
        if threading.current_thread() is threading.main_thread():
            for number in _SIGNALS:
                self._saved_handlers[number] = signal.signal(number, self._interrupt)
        return self

    def _interrupt(self, number: int, frame: Optional[FrameType]) -> None:
        self.ends.signal = number
        raise TraceInterrupted(signal.Signals(number).name)

    def __exit__(self, *exc_info: object) -> None:
        os._exit = self._saved_exit
        for number, handler in self._saved_handlers.items():
            signal.signal(number, handler)
        self._saved_handlers.clear()
