"""Which names a function still reads after a statement: what a branch binds matters only if it is read later.

A branch that computes an intermediate value and drops it (``small = mean[mask]; noisy[mask] = poisson(small)``)
decides nothing about the gradient; one whose result is read after it does. Reads are counted in source order;
inside a loop, everything the loop reads counts too, since the next iteration runs before what follows.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Sequence, Tuple

import libcst as cst

_LOOPS = (cst.For, cst.While)


class Reads:
    """The names read in one function body, in source order, and where each compound statement starts and ends."""

    def __init__(self, body: Sequence[cst.BaseStatement]) -> None:
        self._names: List[str] = []
        self._spans: Dict[cst.CSTNode, Tuple[int, int]] = {}  # statement -> (first read, one past its last read)
        self._loops: Dict[cst.CSTNode, Tuple[cst.CSTNode, ...]] = {}  # statement -> the loops around it
        self._cache: Dict[cst.CSTNode, FrozenSet[str]] = {}
        self._walk_block(body, ())

    def after(self, statement: cst.CSTNode) -> FrozenSet[str]:
        """The names read after ``statement``, or again by a loop around it."""
        known = self._cache.get(statement)
        if known is None:
            if statement not in self._spans:
                return frozenset(self._names)
            end = self._spans[statement][1]
            names = set(self._names[end:])
            for loop in self._loops.get(statement, ()):
                start, stop = self._spans[loop]
                names.update(self._names[start:stop])
            known = self._cache[statement] = frozenset(names)
        return known

    def _walk_block(self, body: Sequence[cst.CSTNode], loops: Tuple[cst.CSTNode, ...]) -> None:
        for statement in body:
            start = len(self._names)
            inner = loops + (statement,) if isinstance(statement, _LOOPS) else loops
            if isinstance(statement, (cst.If, *_LOOPS)):
                self._loops[statement] = loops
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                continue
            self._walk(statement, inner)
            self._spans[statement] = (start, len(self._names))

    def _walk(self, root: cst.CSTNode, loops: Tuple[cst.CSTNode, ...]) -> None:
        stack: List[cst.CSTNode] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Name):
                self._names.append(node.value)
                continue
            if isinstance(node, cst.If) and node is not root:  # an elif: a statement of its own
                self._walk_block([node], loops)
                continue
            if isinstance(node, (cst.IndentedBlock, cst.SimpleStatementSuite)):
                self._walk_nested(node.body, loops)
                continue
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                continue
            if isinstance(node, (cst.Attribute, cst.Arg)):  # ``x.std``, ``f(std=...)``: only the value is a read
                stack.append(node.value)
                continue
            stack.extend(reversed([child for child in node.children if not _is_binding(node, child)]))

    def _walk_nested(self, body: Sequence[cst.CSTNode], loops: Tuple[cst.CSTNode, ...]) -> None:
        for statement in body:
            if isinstance(statement, cst.BaseCompoundStatement):
                self._walk_block([statement], loops)
            else:
                self._walk(statement, loops)


def _is_binding(parent: cst.CSTNode, child: cst.CSTNode) -> bool:
    """Whether ``child`` is a plain name that ``parent`` binds (``x`` in ``x = ...``), not a read."""
    if not isinstance(child, cst.Name):
        return False
    if isinstance(parent, cst.AssignTarget):
        return child is parent.target
    if isinstance(parent, (cst.AnnAssign, cst.For)):
        return child is parent.target
    return isinstance(parent, cst.NamedExpr) and child is parent.target
