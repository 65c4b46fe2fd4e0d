"""Jupyter notebooks: a notebook in, one program and a map from its lines to cells out, and edits back in.

The code cells, in order, form one program, as running them top to bottom does. A line of IPython syntax
that is not Python (a line magic ``%...``, a shell line ``!...``, ``x = !ls``, help ``obj?``) becomes
``pass`` at its indentation, so that every line keeps its number; a cell run by a cell magic is left out,
except for the magics that run the cell as Python (``%%time``...), whose first line becomes ``pass``.
Positions move from program lines to the cell (counted from 1 among all the notebook's cells, as Jupyter
shows them) and the line in that cell. A notebook whose kernel is not Python has no program.

Writing back changes the sources of the edited cells and nothing else: the notebook is serialised in the
layout it was read in (indentation, escaping, final newline), and refused when no layout reproduces it.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from gradlint.findings import Edit, Finding, Location, Step, source_lines

SUFFIX = ".ipynb"
# Cell magics whose body is Python, run with some extra behaviour.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3"})
_ESCAPE = re.compile(r"^\s*(?:[%!]|\?|[\w.]+\?{1,2}\s*$|[\w.]+\s*=\s*[%!])")


class NotebookError(ValueError):
    """The file is not a notebook gradlint can read or write."""


@dataclass(frozen=True)
class CellMap:
    """Where each code cell of the program starts: ``lines[i]`` is the program line on which cell ``cells[i]``
    starts."""

    lines: Tuple[int, ...] = ()
    cells: Tuple[int, ...] = ()

    def locate(self, line: int) -> Tuple[int, int]:
        """The cell of program line ``line`` and the line within that cell."""
        index = max(bisect.bisect_right(self.lines, line) - 1, 0)
        if not self.cells:
            return 1, line
        return self.cells[index], line - self.lines[index] + 1

    def finding(self, finding: Finding) -> Finding:
        """``finding`` with its location, its chain and its fix's edits in cell coordinates."""
        location = finding.location
        moved = replace(
            finding,
            location=self.location(location) or self._start(location),
            chain=tuple(self._step(step, location.path) for step in finding.chain),
        )
        if finding.autofix is not None:
            edits = tuple(
                replace(edit, location=where)
                for edit in finding.autofix.edits
                if (where := self.location(edit.location)) is not None
            )
            moved = replace(
                moved,
                autofix=replace(finding.autofix, edits=edits) if len(edits) == len(finding.autofix.edits) else None,
            )
        return moved

    def location(self, location: Location) -> Optional[Location]:
        """``location`` in cell coordinates; None when it runs from one cell into another."""
        cell, line = self.locate(location.line)
        end_cell, end_line = self.locate(location.end_line)
        return replace(location, line=line, end_line=end_line, cell=cell) if end_cell == cell else None

    def _start(self, location: Location) -> Location:
        """The first character of ``location``, in cell coordinates (for a range that runs across cells)."""
        cell, line = self.locate(location.line)
        return replace(location, line=line, end_line=line, end_column=location.column + 1, cell=cell)

    def _step(self, step: Step, path: str) -> Step:
        if step.line <= 0 or step.path not in ("", path):
            return step
        cell, line = self.locate(step.line)
        return replace(step, line=line, cell=cell)


def program(data: bytes) -> Tuple[str, CellMap]:
    """The notebook's code cells as one program, and where each cell starts in it."""
    notebook = _load(data)
    if not _is_python(notebook):
        return "", CellMap()
    parts: List[str] = []
    starts: List[int] = []
    cells: List[int] = []
    line = 1
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        lines = _python_lines(source_text(cell))
        if lines is None:
            continue
        starts.append(line)
        cells.append(number)
        parts.extend(text + "\n" for text in lines)
        line += len(lines)
    return "".join(parts), CellMap(tuple(starts), tuple(cells))


def from_cells(cells: Sequence[Tuple[bool, str]]) -> bytes:
    """The JSON of a Python notebook with these cells (``(is_code, source)``), as an editor holds it open."""
    document = {
        "cells": [
            {"cell_type": "code" if is_code else "markdown", "metadata": {}, "source": source}
            for is_code, source in cells
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document).encode("utf-8")


def apply_edits(data: bytes, edits: Sequence[Edit], apply_text: Callable[[str, Sequence[Edit]], str]) -> bytes:
    """The notebook with ``edits`` applied to its cells' sources (``apply_text(text, edits)`` edits one cell),
    in the layout it was read in."""
    by_cell: Dict[int, List[Edit]] = {}
    for edit in edits:
        by_cell.setdefault(edit.location.cell or 0, []).append(edit)
    changes = {
        number: (lambda text, cell_edits=cell_edits: apply_text(text, cell_edits))
        for number, cell_edits in by_cell.items()
    }
    return change_cells(data.decode("utf-8"), changes).encode("utf-8")


def change_cells(text: str, changes: Mapping[int, Callable[[str], str]]) -> str:
    """The notebook ``text`` with the source of each code cell numbered in ``changes`` replaced by what its
    function makes of it, in the layout the notebook was read in."""
    notebook = _load(text.encode("utf-8"))
    layout = _layout(text, notebook)
    cells = notebook.get("cells", [])
    for number, change in changes.items():
        if not 0 < number <= len(cells) or cells[number - 1].get("cell_type") != "code":
            raise NotebookError(f"no code cell {number}")
        cell = cells[number - 1]
        cell["source"] = _source_like(cell["source"], change(source_text(cell)))
    return _dump(notebook, layout)


def cell_sources(data: bytes) -> Dict[int, str]:
    """The source of every code cell, by cell number."""
    notebook = _load(data)
    return {
        number: source_text(cell)
        for number, cell in enumerate(notebook.get("cells", []), start=1)
        if isinstance(cell, dict) and cell.get("cell_type") == "code"
    }


def source_text(cell: Dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _load(data: bytes) -> Dict[str, Any]:
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise NotebookError(f"not a notebook: the file is not JSON ({error})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells", []), list):
        raise NotebookError("not a notebook: no list of cells")
    return notebook


def _is_python(notebook: Dict[str, Any]) -> bool:
    metadata = notebook.get("metadata") or {}
    language = (metadata.get("language_info") or {}).get("name") or (metadata.get("kernelspec") or {}).get("language")
    return language is None or str(language).lower() == "python"


def _python_lines(source: str) -> Optional[List[str]]:
    """The cell's lines with IPython syntax turned into ``pass``; None for a cell that is not Python. Lines end
    where Python's tokenizer ends them (not at form feeds or other Unicode separators, as ``splitlines`` does)."""
    lines = source_lines(source)
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)
        if not magic or magic[0] not in PYTHON_CELL_MAGICS:
            return None
        lines[0] = "pass"
    continued = False
    for index, line in enumerate(lines):
        if continued or _ESCAPE.match(line):
            continued = line.rstrip().endswith("\\")
            lines[index] = line[: len(line) - len(line.lstrip(" \t"))] + "pass"
    return lines


def _source_like(original: Any, text: str) -> Any:
    """``text`` in the form the cell's source had: one string, or a list of lines that keep their newlines."""
    if isinstance(original, list):
        return text.splitlines(keepends=True)
    return text


def _layout(text: str, notebook: Dict[str, Any]) -> Tuple[Optional[int], bool, bool]:
    """The indentation, escaping and final newline that serialise ``notebook`` back to ``text`` exactly."""
    for indent in (1, 2, 4, None):
        for ensure_ascii in (False, True):
            for newline in (True, False):
                if _dump(notebook, (indent, ensure_ascii, newline)) == text:
                    return indent, ensure_ascii, newline
    raise NotebookError("cannot write the notebook back without changing its layout")


def _dump(notebook: Dict[str, Any], layout: Tuple[Optional[int], bool, bool]) -> str:
    indent, ensure_ascii, newline = layout
    return json.dumps(notebook, indent=indent, ensure_ascii=ensure_ascii) + ("\n" if newline else "")
