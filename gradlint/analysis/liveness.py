"""What one walk over a function body tells before it is interpreted: which names it still reads after each
statement, and which names it uses as only tensors can be used.

A branch that computes an intermediate value and drops it (``small = mean[mask]; noisy[mask] = poisson(small)``)
decides nothing about the gradient; one whose result is read after it does. Reads are counted in source order;
inside a loop, everything the loop reads counts too, since the next iteration runs before what follows.

A name read with a tensor's own attributes or methods (``x.device``, ``x.detach()``, ``x.unsqueeze(0)``) or handed
to a torch computation holds a tensor: in library code, a caller's tensor whose ``requires_grad`` is unknown.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst

from gradlint.analysis import torch_api as api
from gradlint.analysis.declarations import Block
from gradlint.analysis.nodes import children

_LOOPS = (cst.For, cst.While)
_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_BLOCKS = (cst.IndentedBlock, cst.SimpleStatementSuite)
_BINDERS = (cst.AssignTarget, cst.AnnAssign, cst.For, cst.NamedExpr)


class Reads:
    """The names read in one function body, in source order, where each compound statement starts and ends, and
    the names it uses as tensors."""

    def __init__(self, body: Block, qualname: Callable[[cst.BaseExpression], Optional[str]]) -> None:
        self._qualname = qualname
        self._names: List[str] = []
        self._spans: Dict[cst.CSTNode, Tuple[int, int]] = {}  # statement -> (first read, one past its last read)
        self._loops: Dict[cst.CSTNode, Tuple[cst.CSTNode, ...]] = {}  # statement -> the loops around it
        self._cache: Dict[cst.CSTNode, FrozenSet[str]] = {}
        self._tensors: Set[str] = set()
        self._walk_block(body, ())
        self.tensors: FrozenSet[str] = frozenset(self._tensors)

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
            kind = type(statement)
            inner = loops + (statement,) if kind in _LOOPS else loops
            if kind is cst.If or kind in _LOOPS:
                self._loops[statement] = loops
            if kind is cst.FunctionDef or kind is cst.ClassDef:
                continue
            self._walk(statement, inner)
            self._spans[statement] = (start, len(self._names))

    def _walk(self, root: cst.CSTNode, loops: Tuple[cst.CSTNode, ...]) -> None:
        stack: List[cst.CSTNode] = [root]
        while stack:
            node: Any = stack.pop()  # dispatched on its exact type (fast), which the type checker cannot follow
            kind = type(node)
            if kind is cst.Name:
                self._names.append(node.value)
            elif kind is cst.If and node is not root:  # an elif: a statement of its own
                self._walk_block([node], loops)
            elif kind in _BLOCKS:
                self._walk_nested(node.body, loops)
            elif kind in _SCOPES:
                continue
            elif kind is cst.Attribute or kind is cst.Arg:  # ``x.std``, ``f(std=...)``: only the value is a read
                if kind is cst.Attribute and type(node.value) is cst.Name and node.attr.value in api.TENSOR_ONLY:
                    self._tensors.add(node.value.value)
                stack.append(node.value)
            else:
                if kind is cst.Call:
                    self._note_torch_arguments(node)
                binding = getattr(node, "target", None) if kind in _BINDERS else None
                stack.extend(reversed([child for child in children(node) if child is not binding]))

    def _note_torch_arguments(self, call: cst.Call) -> None:
        names = [arg.value.value for arg in call.args if type(arg.value) is cst.Name]
        if not names:
            return
        callee = self._qualname(call.func)
        if (
            callee
            and callee.startswith("torch.")
            and callee[6:7].islower()
            and callee not in api.FACTORIES
            and callee not in api.NON_DIFFERENTIABLE_FUNCTIONS
        ):
            self._tensors.update(names)

    def _walk_nested(self, body: Sequence[cst.CSTNode], loops: Tuple[cst.CSTNode, ...]) -> None:
        for statement in body:
            if isinstance(statement, cst.BaseCompoundStatement):
                self._walk_block([statement], loops)
            else:
                self._walk(statement, loops)
