"""Copy what the target prints into a log while still showing it (Python-level writes only)."""

from __future__ import annotations

import io
import sys
from contextlib import contextmanager
from typing import Iterator, TextIO


class _Tee(io.TextIOBase):
    def __init__(self, stream: TextIO, log: io.StringIO, echo: bool):
        self._stream = stream
        self._log = log
        self._echo = echo

    def write(self, text: str) -> int:
        if self._echo:
            self._stream.write(text)
        self._log.write(text)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")


@contextmanager
def tee_output(log: io.StringIO, echo: bool = True) -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(saved[0], log, echo), _Tee(saved[1], log, echo)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
