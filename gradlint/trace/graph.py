"""Walks of the autograd graph: the leaves a value depends on, and nodes whose saved values are gone.

Walks are iterative (graphs from long loops are deep) and memoized per node, so the graph behind many
severing events of one forward pass is walked once.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

import torch

Node = Any  # torch.autograd.graph.Node; kept loose because C++ node classes vary
_MEMO_LIMIT = 200_000


def children(node: Node) -> Iterator[tuple[int, Node]]:
    """(input slot, next node) pairs of a backward node, skipping empty slots."""
    for slot, (child, _) in enumerate(getattr(node, "next_functions", ())):
        if child is not None:
            yield slot, child


def leaf_variable(node: Node) -> Optional[torch.Tensor]:
    """The leaf tensor of an ``AccumulateGrad`` node (the only nodes without inputs that hold one)."""
    return None if getattr(node, "next_functions", ()) else getattr(node, "variable", None)


Origin = object  # a differentiable value's graph node, or the leaf tensor itself


def origins(values: Iterable[object]) -> tuple[Origin, ...]:
    """Where the gradients of differentiable ``values`` go: their graph nodes, or the leaves themselves.

    Kept in place of the values: a node holds what backward needs, not the value, so a mask's
    history does not keep a large temporary alive. Origins map to themselves, so converting twice is
    harmless.
    """
    return tuple(map(_origin, values))


def _origin(value: object) -> Origin:
    if isinstance(value, torch.Tensor):
        node = value.grad_fn
        return value if node is None else node
    return value


class LeafIndex:
    """Ids of the leaf tensors requiring grad that a graph node (or a set of origins) depends on."""

    def __init__(self, on_leaf: Callable[[torch.Tensor], None]):
        self._on_leaf = on_leaf
        self._memo: dict[Node, frozenset[int]] = {}

    def clear(self) -> None:
        self._memo.clear()

    def leaves_of_origins(self, sources: Iterable[Origin]) -> frozenset[int]:
        found: frozenset[int] = frozenset()
        for origin in sources:
            if not isinstance(origin, torch.Tensor):
                found |= self.leaves_of_node(origin)
            elif origin.requires_grad:
                self._on_leaf(origin)
                found |= frozenset((id(origin),))
        return found

    def leaves_of_node(self, root: Node) -> frozenset[int]:
        memo = self._memo
        if root in memo:
            return memo[root]
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node in memo:
                continue
            if expanded:
                found: frozenset[int] = frozenset()
                for _, child in children(node):
                    found |= memo.get(child, frozenset())
                memo[node] = found
                continue
            variable = leaf_variable(node)
            if variable is not None:
                self._on_leaf(variable)
                memo[node] = frozenset((id(variable),))
                continue
            stack.append((node, True))
            stack.extend((child, False) for _, child in children(node) if child not in memo)
        return memo[root]


def reachable_leaves(roots: Iterable[Node]) -> list[torch.Tensor]:
    """The leaf tensors requiring grad that a graph reaches (a plain walk, no per-node sets)."""
    stack = [node for node in roots if node is not None]
    seen: set[Node] = set(stack)
    leaves = []
    while stack:
        node = stack.pop()
        following = getattr(node, "next_functions", ())
        if not following:
            variable = getattr(node, "variable", None)
            if variable is not None:
                leaves.append(variable)
            continue
        for child, _ in following:
            if child is not None and child not in seen:
                seen.add(child)
                stack.append(child)
    return leaves


def breadth_first(roots: Iterable[Node]) -> dict[Node, int]:
    """Every node reachable from ``roots`` with its distance from the nearest root."""
    depth: dict[Node, int] = {}
    frontier = [node for node in roots if node is not None]
    for node in frontier:
        depth[node] = 0
    while frontier:
        following = []
        for node in frontier:
            for _, child in children(node):
                if child not in depth:
                    depth[child] = depth[node] + 1
                    following.append(child)
        frontier = following
    return depth


def saved_values_freed(node: Node) -> Optional[bool]:
    """True when the node's saved tensors were released by an earlier backward; None if it saves none."""
    names = [name for name in dir(node) if name.startswith("_saved_")]
    if not names:
        return None
    for name in names:
        try:
            getattr(node, name)
        except RuntimeError:
            return True
    return False


def sequence_number(node: Node) -> int:
    number = getattr(node, "_sequence_nr", None)
    return number() if number is not None else -1


def stale_boundary(roots: Iterable[Node], created_up_to: int) -> list[tuple[Node, Optional[Node]]]:
    """Freed nodes nearest the roots, each with the node that consumed it (its parent, or None).

    Only nodes created up to sequence number ``created_up_to`` (the last successful backward) count:
    a failed backward also releases the nodes it already ran, and those are newer.
    """
    found = []
    seen: set[Node] = set()
    frontier: list[tuple[Node, Optional[Node]]] = [(node, None) for node in roots if node is not None]
    while frontier:
        following: list[tuple[Node, Optional[Node]]] = []
        for node, consumer in frontier:
            if node in seen:
                continue
            seen.add(node)
            if sequence_number(node) <= created_up_to and saved_values_freed(node):
                found.append((node, consumer))
                continue
            following.extend((child, node) for _, child in children(node))
        frontier = following
    return found
