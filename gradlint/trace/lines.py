"""Which of a given set of user lines executed, via a tracer that only looks inside those files.

The global trace function answers each new frame with a dict lookup on its code object, and returns
a line tracer only for code in the files of interest. A tracer already installed (a debugger or a
coverage tool) is left alone; the executed lines are then unknown.
"""

from __future__ import annotations

import sys
import threading
from types import CodeType, FrameType
from typing import Any, Callable, Collection, Mapping, Optional

_Tracer = Callable[[FrameType, str, Any], Optional["_Tracer"]]  # what sys.settrace takes


class LineRecorder:
    def __init__(self, wanted: Mapping[str, Collection[int]], display_path: Callable[[str], str]):
        self.wanted = {path: frozenset(lines) for path, lines in wanted.items()}
        self.executed: dict[str, set[int]] = {path: set() for path in self.wanted}
        self.active = False
        self.unavailable = False  # another tracer was installed
        self._display_path = display_path
        self._code_lines: dict[CodeType, Optional[tuple[frozenset[int], set[int]]]] = {}

    def _interest(self, code: CodeType) -> Optional[tuple[frozenset[int], set[int]]]:
        if code not in self._code_lines:
            path = self._display_path(code.co_filename)
            self._code_lines[code] = (self.wanted[path], self.executed[path]) if path in self.wanted else None
        return self._code_lines[code]

    def _global(self, frame: FrameType, event: str, arg: object) -> Optional[_Tracer]:
        interest = self._interest(frame.f_code)
        if interest is None:
            return None
        wanted, executed = interest

        def local(frame: FrameType, event: str, arg: object) -> _Tracer:
            if event == "line" and frame.f_lineno in wanted:
                executed.add(frame.f_lineno)
            return local

        return local

    def start(self) -> None:
        if not self.wanted:
            return
        if sys.gettrace() is not None:
            self.unavailable = True
        else:
            self.active = True
            sys.settrace(self._global)
            threading.settrace(self._global)

    def stop(self) -> None:
        if self.active:
            sys.settrace(None)
            threading.settrace(None)
            self.active = False

    def result(self) -> Optional[dict[str, frozenset[int]]]:
        if self.unavailable:
            return None
        return {path: frozenset(lines) for path, lines in self.executed.items()}
