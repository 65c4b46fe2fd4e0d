"""Source positions for just the nodes we report, at the cost of one code generation.

libcst's ``PositionProvider`` records a range for every node of the tree, which costs about twice the parse.
A file needs positions only for its findings and the steps of their reasoning chains, so this module runs the
same code generation and records token indices for the wanted nodes alone; offsets become line and column at
the end. Ranges follow ``PositionProvider``'s syntactic convention (parentheses and surrounding whitespace
excluded) for expressions and simple statement lines.
"""

from __future__ import annotations

import bisect
import itertools
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Collection, ContextManager, Dict, List, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

from gradlint.findings import LINE_BREAK, source_lines


@dataclass(frozen=True)
class Span:
    """1-based line, 0-based column start; end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


class _RecordingState(CodegenState):
    def __init__(self, module: cst.Module, wanted: Collection[cst.CSTNode]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        # Ids, not nodes: a node's __hash__ is a Python call, and this check runs for every node of the file.
        self.wanted = {id(node) for node in wanted}
        self.pending: List[int] = []
        self.ranges: Dict[cst.CSTNode, Tuple[int, int]] = {}

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted:
            self.pending.append(len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted:
            start = self.pending.pop()
            self.ranges.setdefault(node, (start, len(self.tokens)))

    def record_syntactic_position(  # type: ignore[override]  # libcst's stub names its own generator's type
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> ContextManager[None]:
        # Called for most nodes of the file: the unwanted ones get a shared do-nothing context.
        if id(node) not in self.wanted:
            return _NOTHING
        return _SyntacticRange(self, node)


class _SyntacticRange:
    __slots__ = ("state", "node", "start")

    def __init__(self, state: _RecordingState, node: cst.CSTNode) -> None:
        self.state = state
        self.node = node
        self.start = 0

    def __enter__(self) -> None:
        self.start = len(self.state.tokens)

    def __exit__(self, *exc_info: object) -> None:
        self.state.ranges[self.node] = (self.start, len(self.state.tokens))


_NOTHING = nullcontext()


def spans(module: cst.Module, wanted: Collection[cst.CSTNode], source: str) -> Dict[cst.CSTNode, Span]:
    """The span of every wanted node of ``module``, parsed from ``source``, in ``source``'s lines and columns."""
    if not wanted:
        return {}
    state = _RecordingState(module, wanted)
    module._codegen(state)
    tokens = state.tokens
    offsets = [0, *itertools.accumulate(map(len, tokens))]
    text = "".join(tokens)
    line_starts = [0] + [match.end() for match in LINE_BREAK.finditer(text)]
    columns = _SourceColumns(text, source)

    def position(offset: int) -> Tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1]

    result = {}
    for node, (first, last) in state.ranges.items():
        start = offsets[first]
        while start < len(text) and text[start] in " \t":
            start += 1
        line, column = position(start)
        end_line, end_column = position(max(offsets[last], start))
        result[node] = Span(line, columns.start(line, column), end_line, columns.end(end_line, end_column))
    return result


class _SourceColumns:
    """Columns in the generated code -> columns in the source it was parsed from.

    libcst's code generation reproduces the source except for a form feed before a statement that starts a
    line, which it drops: on such a line a column of the generated code is one less than in the source, where
    Python (and the reader) count the form feed. Lines are never dropped, so only columns need mapping, and only
    on the lines that differ.
    """

    def __init__(self, generated: str, source: str) -> None:
        same = generated == source
        self.generated = [] if same else source_lines(generated)
        self.source = [] if same else source_lines(source)
        if len(self.generated) != len(self.source):
            self.generated = self.source = []
        self._maps: Dict[int, List[int]] = {}

    def start(self, line: int, column: int) -> int:
        columns = self._map(line)
        return columns[column] if columns is not None and column < len(columns) else column

    def end(self, line: int, column: int) -> int:
        """For an exclusive end: just past the source column of the last character."""
        columns = self._map(line)
        return columns[column - 1] + 1 if columns is not None and 0 < column <= len(columns) else column

    def _map(self, line: int) -> Optional[List[int]]:
        if not 0 < line <= len(self.generated) or self.generated[line - 1] == self.source[line - 1]:
            return None
        columns = self._maps.get(line)
        if columns is None:
            columns = self._maps[line] = _matched_columns(self.generated[line - 1], self.source[line - 1])
        return columns


def _matched_columns(generated: str, source: str) -> List[int]:
    """For each character of ``generated``, the column of the same character in ``source``, of which it is a
    subsequence (matched as early as possible)."""
    columns = []
    position = 0
    for character in generated:
        found = source.find(character, position)
        if found < 0:  # not there after all: keep the column
            columns.append(position)
        else:
            columns.append(found)
            position = found + 1
    return columns
