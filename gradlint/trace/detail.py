"""Diagnosis mode: forward sites of graph nodes, identically zero values, and backward-time probes.

This costs a stack walk and a reduction per operation, so it runs only when a gradient needs
explaining: a second pass of a target whose first pass found a zero or non-finite gradient or a graph
reused after backward, and in ``watch()`` blocks.

- Each operation's graph node gets a ``NodeInfo`` (forward site, user call chain, and the zero factor
  among its inputs) in ``node.metadata``.
- Each floating result that is identically zero is tagged with the ``ZeroFactor`` it came from: the
  earliest zero input it inherits, or this operation (with the constant it was filled from).
- Before a backward, hooks go on every node of the graph; afterwards, for each parameter whose
  gradient is zero (or non-finite), the node nearest the output that stops (or spoils) it is found.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Callable, Mapping, Optional, Sequence

import torch

from gradlint.trace import graph, origins, source
from gradlint.trace.frames import CodeMap
from gradlint.trace.marks import Marks
from gradlint.trace.ops import op_name, short_name
from gradlint.trace.results import Frame, NonFiniteOrigin, Outcome, VanishingPoint, ZeroFactor

META = "gradlint"
_CACHE_DECORATOR_WORDS = ("cache", "memo")


@dataclass(frozen=True)
class NodeInfo:
    site: Frame
    chain: tuple[Frame, ...]
    zero_input: Optional[ZeroFactor]


def _numbers(values: Sequence[Any]) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]


@dataclass
class _Stop:
    node: str
    info: Optional[NodeInfo]
    params: set[int] = field(default_factory=set)


class Detail:
    def __init__(self, codes: CodeMap):
        self.codes = codes
        self.zeros: Marks[ZeroFactor] = Marks()  # identically zero tensors -> where the zero came from
        self.vanishing: dict[tuple[str, Optional[Frame]], _Stop] = {}
        self.nonfinite: dict[tuple[str, Optional[Frame]], _Stop] = {}

    # ---- forward --------------------------------------------------------------------------------

    def note_output(
        self, func: Any, args: tuple, kwargs: Mapping[str, Any], result: torch.Tensor, start: FrameType
    ) -> None:
        zero_input = self._zero_input((*args, *kwargs.values()))
        node: graph.Node = result.grad_fn  # torch's stub makes Node.metadata a method; C++ nodes hold a dict
        if node is not None and META not in node.metadata:
            user = self.codes.user_frame(start)
            if user is not None:
                node.metadata[META] = NodeInfo(self.codes.frame(user), self.codes.chain(user), zero_input)
        self._track_zero(func, args, result, zero_input, start)

    def _zero_input(self, values: Sequence[Any]) -> Optional[ZeroFactor]:
        for value in values:
            if isinstance(value, torch.Tensor):
                factor = self.zeros.lookup(value)
                if factor is not None and value.numel() and is_all_zero(value):
                    return factor
        return None

    def _track_zero(
        self, func: Any, args: tuple, result: torch.Tensor, zero_input: Optional[ZeroFactor], start: FrameType
    ) -> None:
        if not (result.is_floating_point() or result.is_complex()) or not result.numel() or result.is_meta:
            return
        if not is_all_zero(result):
            self.zeros.unmark(result)
        elif zero_input is not None or self.zeros.lookup(result) is None:
            self.zeros.mark(result, zero_input or self._new_zero(func, args, start))

    def _new_zero(self, func: Any, args: tuple, start: FrameType) -> ZeroFactor:
        user = self.codes.user_frame(start)
        site = self.codes.frame(user) if user is not None else Frame("?", 0, "?")
        origin = None
        zeros = [v for v in _numbers(args) if v == 0]
        direct = self.codes.entry(start)
        if zeros and user is not None and direct is user:
            call = source.current_call(user, short_name(func))
            origin = origins.resolve(
                user, origins.operand_with_value(user, call, zeros[0]), zeros[0], self._definition_frame
            )
        return ZeroFactor(site, op_name(func), origin)

    def _definition_frame(self, filename: str, line: int, label: str) -> Frame:
        return Frame(self.codes.display_path(filename), line, label)

    @staticmethod
    def node_info(node: Any) -> Optional[NodeInfo]:
        metadata = getattr(node, "metadata", None)
        return metadata.get(META) if isinstance(metadata, dict) else None

    # ---- backward -------------------------------------------------------------------------------

    def probe(self, roots: Sequence[Any]) -> BackwardProbe:
        return BackwardProbe(self, roots)

    def stored_at(self, info: NodeInfo) -> Optional[Frame]:
        """Where a cached tensor was kept: a caching decorator on, or the ``__init__`` of, its builder."""
        for frame in (info.site, *info.chain):
            filename = self.codes.filename(frame.path)
            function = source.enclosing_function(filename, frame.line) if filename else None
            if function is not None:
                for decorator in function.decorator_list:
                    if any(word in ast.unparse(decorator).lower() for word in _CACHE_DECORATOR_WORDS):
                        return Frame(frame.path, decorator.lineno, function.name)
            if frame.function == "__init__":
                return frame
        return None

    def vanishing_points(self, names: dict[int, str], bad: set[int]) -> tuple[VanishingPoint, ...]:
        return tuple(
            VanishingPoint(
                stop.node,
                stop.info.site if stop.info else None,
                tuple(sorted(names[k] for k in stop.params & bad)),
                stop.info.zero_input if stop.info else None,
            )
            for stop in self.vanishing.values()
            if stop.params & bad
        )

    def nonfinite_origins(self, names: dict[int, str], bad: set[int]) -> tuple[NonFiniteOrigin, ...]:
        return tuple(
            NonFiniteOrigin(
                stop.node, stop.info.site if stop.info else None, tuple(sorted(names[k] for k in stop.params & bad))
            )
            for stop in self.nonfinite.values()
            if stop.params & bad
        )


_PROBE = 1024


def is_all_zero(tensor: torch.Tensor) -> bool:
    """Whether every value is zero; most tensors show a non-zero value among their first elements already."""
    values = tensor.detach()
    if values.is_contiguous() and values.numel() > _PROBE and bool(values.view(-1)[:_PROBE].any()):
        return False
    return not bool(values.any())


_Gradients = Sequence[Optional[torch.Tensor]]  # a node's incoming or outgoing gradients, as hooks see them


def _summary(grads: _Gradients) -> tuple[bool, bool]:
    """(some value non-zero, every value finite), from one reduction per gradient: its largest absolute value."""
    nonzero, finite = False, True
    for grad in grads:
        if grad is None or not grad.numel():
            continue
        largest = float(torch.linalg.vector_norm(grad.detach(), ord=math.inf))
        nonzero = nonzero or largest != 0.0
        finite = finite and math.isfinite(largest)
    return nonzero, finite


class BackwardProbe:
    """Hooks on every node of a graph for one backward call."""

    def __init__(self, detail: Detail, roots: Sequence[Any]):
        self.detail = detail
        self.depth = graph.breadth_first(roots)
        self.observed: dict[Any, tuple[tuple[bool, bool], list[tuple[bool, bool]]]] = {}
        self.handles = []
        for node in self.depth:
            if graph.leaf_variable(node) is None and hasattr(node, "register_hook"):
                self.handles.append(node.register_hook(self._hook(node)))

    def _hook(self, node: Any) -> Callable[[_Gradients, _Gradients], None]:
        def record(grad_inputs: _Gradients, grad_outputs: _Gradients) -> None:
            self.observed[node] = (_summary(grad_outputs), [_summary((g,)) for g in grad_inputs])

        return record

    def abandon(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def finish(self, recorder: Any) -> None:
        self.abandon()
        outcomes = {key: recorder.outcome_of(record).outcome for key, record in recorder.params.items()}
        zero = {key for key, value in outcomes.items() if value is Outcome.ZERO}
        nonfinite = {key for key, value in outcomes.items() if value is Outcome.NONFINITE}
        if zero:
            self._nearest(
                recorder.leaf_index,
                zero,
                self.detail.vanishing,
                lambda incoming, out: incoming[0] and incoming[1] and not any(o[0] for o in out),
            )
        if nonfinite:
            self._nearest(
                recorder.leaf_index,
                nonfinite,
                self.detail.nonfinite,
                lambda incoming, out: incoming[1] and not all(o[1] for o in out),
            )

    def _nearest(
        self,
        leaf_index: graph.LeafIndex,
        params: set[int],
        into: dict,
        stops: Callable[[tuple[bool, bool], list[tuple[bool, bool]]], bool],
    ) -> None:
        best: dict[int, tuple[int, Any]] = {}
        for node, (incoming, outgoing) in self.observed.items():
            reachable = leaf_index.leaves_of_node(node) & params
            if not reachable:
                continue
            for key in reachable:
                slots = [
                    outgoing[slot]
                    for slot, child in graph.children(node)
                    if slot < len(outgoing) and key in leaf_index.leaves_of_node(child)
                ]
                if slots and stops(incoming, slots) and (key not in best or self.depth[node] < best[key][0]):
                    best[key] = (self.depth[node], node)
        for key, (_, node) in best.items():
            info = self.detail.node_info(node)
            stop_key = (node.name(), info.site if info else None)
            into.setdefault(stop_key, _Stop(node.name(), info)).params.add(key)
