"""Plain data that every reporter consumes: where, what, how sure, and why.

Nothing here formats text; reporters decide how a finding looks.
Lines and columns are 1-based; ``end_column`` is exclusive (the column just past the node), as in SARIF.
Lines are what Python's tokenizer counts: only ``\n``, ``\r\n`` and ``\r`` end one (``source_lines``), not the
form feeds, separators and Unicode line breaks at which ``str.splitlines`` also splits.
In a notebook, ``cell`` is the 1-based index of the cell among all the notebook's cells, and lines count from
the top of that cell.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Optional, Tuple

LINE_BREAK = re.compile(r"\r\n?|\n")


def source_lines(text: str) -> list[str]:
    """The lines of source text, numbered as Python numbers them (index 0 is line 1), without their breaks."""
    lines = LINE_BREAK.split(text)
    if lines[-1] == "":
        lines.pop()
    return lines


class Confidence(enum.IntEnum):
    """How sure the analysis is that the cut value carries a gradient that matters."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Confidence:
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown confidence {label!r}: expected low, medium or high") from None


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    cell: Optional[int] = None


@dataclass(frozen=True)
class Edit:
    """Replace the text in ``location``'s range with ``content``."""

    location: Location
    content: str


@dataclass(frozen=True)
class Autofix:
    """A mechanical repair of a finding. ``safe``: it changes nothing but the gradient; an unsafe fix may also
    change values in their last bits, shapes or types in cases the analysis cannot rule out."""

    title: str
    edits: Tuple[Edit, ...]
    safe: bool


@dataclass(frozen=True)
class Step:
    """One link of a reasoning chain: the expression a value came from, and where that binding happened."""

    code: str
    path: str
    line: int
    cell: Optional[int] = None


@dataclass(frozen=True)
class Finding:
    code: str
    rule: str
    message: str
    location: Location
    confidence: Confidence
    chain: tuple[Step, ...] = ()
    fix: str = ""
    source_line: str = ""
    # Where the severed value goes: "computation", "escapes", "logging", "condition", ... ("" when not tracked).
    use: str = ""
    autofix: Optional[Autofix] = None

    @property
    def sort_key(self) -> tuple[str, int, int, int, str]:
        location = self.location
        return (location.path, location.cell or 0, location.line, location.column, self.code)
