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

from gradlint.findings import LINE_BREAK


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

    def record_syntactic_position(
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


def spans(module: cst.Module, wanted: Collection[cst.CSTNode]) -> Dict[cst.CSTNode, Span]:
    """The span of every wanted node of ``module``."""
    if not wanted:
        return {}
    state = _RecordingState(module, wanted)
    module._codegen(state)
    tokens = state.tokens
    offsets = [0, *itertools.accumulate(map(len, tokens))]
    text = "".join(tokens)
    line_starts = [0] + [match.end() for match in LINE_BREAK.finditer(text)]

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
        result[node] = Span(line, column, end_line, end_column)
    return result
