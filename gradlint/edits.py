"""Text edits on users' files: applied to a file's bytes (Python source or notebook), shown as a diff, written.

A Python file keeps its encoding, byte order mark and line endings: edits replace characters between positions
and touch nothing else. :func:`write` writes only the files whose bytes change, through :mod:`gradlint.writer`
(as ``--add-noqa`` does), and refuses a file that changed on disk since it was read.
"""

from __future__ import annotations

import difflib
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple

from gradlint import notebooks, writer
from gradlint.findings import Edit

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class FileChange:
    """A file's bytes before and after edits; ``path`` is where it is, ``display`` how reports name it."""

    path: Path
    display: str
    before: bytes
    after: bytes


def overlaps(first: Edit, second: Edit) -> bool:
    """Whether two edits of one file touch the same characters (or insert at the same place)."""
    one, other = first.location, second.location
    if one.cell != other.cell:
        return False
    return (one.line, one.column) <= (other.end_line, other.end_column) and (other.line, other.column) <= (
        one.end_line,
        one.end_column,
    )


def apply_text(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with non-overlapping ``edits`` applied."""
    starts = [0] + [match.end() for match in _LINE_END.finditer(text)]

    def offset(line: int, column: int) -> int:
        if not 0 < line <= len(starts):
            raise ValueError(f"line {line} is past the end of the text")
        return min(starts[line - 1] + column - 1, len(text))

    pieces: List[str] = []
    position = len(text)
    for edit in sorted(edits, key=lambda edit: (edit.location.line, edit.location.column), reverse=True):
        where = edit.location
        start, end = offset(where.line, where.column), offset(where.end_line, where.end_column)
        if end > position or start > end:
            raise ValueError("overlapping edits")
        pieces.append(text[end:position])
        pieces.append(edit.content)
        position = start
    pieces.append(text[:position])
    return "".join(reversed(pieces))


def apply(data: bytes, edits: Sequence[Edit], *, notebook: bool) -> bytes:
    """A file's bytes with ``edits`` applied: to a notebook's cells, or to Python source in its own encoding."""
    if notebook:
        return notebooks.apply_edits(data, edits, apply_text)
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return apply_text(data.decode(encoding), edits).encode(encoding)


def diff(changes: Iterable[FileChange]) -> str:
    """A unified diff of every change; a notebook's, cell by cell (``path:cell 3``)."""
    chunks: List[str] = []
    for change in changes:
        for name, before, after in _texts(change):
            chunks.extend(
                difflib.unified_diff(
                    before.splitlines(keepends=True), after.splitlines(keepends=True), fromfile=name, tofile=name
                )
            )
            if chunks and not chunks[-1].endswith("\n"):
                chunks[-1] += "\n\\ No newline at end of file\n"
    return "".join(chunks)


def _texts(change: FileChange) -> List[Tuple[str, str, str]]:
    if change.display.endswith(notebooks.SUFFIX):
        before, after = notebooks.cell_sources(change.before), notebooks.cell_sources(change.after)
        return [
            (f"{change.display}:cell {number}", before[number], after.get(number, ""))
            for number in before
            if before[number] != after.get(number)
        ]
    encoding, _ = tokenize.detect_encoding(io.BytesIO(change.before).readline)
    return [(change.display, change.before.decode(encoding), change.after.decode(encoding))]


def write(changes: Iterable[FileChange]) -> List[str]:
    """Write every change whose bytes differ; returns a one-line message for each file that could not be."""
    problems: List[str] = []
    for change in changes:
        if change.after == change.before:
            continue
        try:
            if change.path.read_bytes() != change.before:
                problems.append(f"{change.display}: changed on disk while it was checked; left as it is")
                continue
            writer.replace(change.path, change.after)
        except OSError as error:
            problems.append(f"{change.display}: cannot write the file ({error.strerror or error})")
    return problems
