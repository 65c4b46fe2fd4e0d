"""The state of one trace: parameters, aggregated severing events, no-grad regions, backward calls.

The mode (``gradlint.trace.mode``) calls in here only when something fires, so everything here may
walk the stack or the graph. Non-differentiable values computed from differentiable ones are marked
(``taints``, region ``values``) so that their history is known where they are used later, without
any per-operation bookkeeping.
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional, Sequence

import torch

from gradlint.trace import graph, naming, outcome, source
from gradlint.trace.frames import GRADLINT, OTHER, TORCH, USER, CodeMap
from gradlint.trace.marks import Marks
from gradlint.trace.outcome import GradSnapshot
from gradlint.trace.results import EventKind, Frame, Outcome

if TYPE_CHECKING:
    from gradlint.trace.detail import BackwardProbe, Detail, NodeInfo
    from gradlint.trace.engine import Backward

GRAD_MODE_FILES = ("torch/autograd/grad_mode.py", "torch/utils/_contextlib.py")
BACKWARD_FILES = ("torch/autograd/graph.py", "torch/autograd/__init__.py", "torch/_tensor.py")  # down to the engine
_WALK_LIMIT = 50  # per event site: later firings only count, they do not walk the graph again
_REGION_LIMIT = 10_000  # candidate values remembered per no-grad region
_GRAPH_REUSE = re.compile(r"backward through the graph a second time")


@dataclass
class ParamRecord:
    tensor: torch.Tensor
    name: Optional[str]
    created: Optional[Frame]
    order: int
    snapshot: Optional[GradSnapshot] = None
    # The gradient a successful backward left (and its version then), summarized lazily.
    pending: Optional[tuple[Optional[torch.Tensor], int]] = None
    failed: bool = False  # implicated in a backward that raised
    provisional: bool = False  # named after a module attribute: a name found in the frames is better
    ordinal: int = 0  # among the parameters created at the same site, in creation order
    frozen_at: Optional[Frame] = None  # where the program switched its gradient off on purpose
    copy_of: Optional[int] = None  # id of the parameter it is a deep copy of
    rewritten: bool = False  # its gradient was changed in place after its backward

    @property
    def key(self) -> Optional[tuple[str, int, int]]:
        """Identifies the parameter across runs of the same program: creation site and ordinal there."""
        return (self.created.path, self.created.line, self.ordinal) if self.created is not None else None


@dataclass
class EventRecord:
    kind: EventKind
    op: str
    site: Frame
    chain: tuple[Frame, ...]
    count: int = 0
    params: set[int] = field(default_factory=set)
    related: list[Frame] = field(default_factory=list)

    def relate(self, frame: Frame) -> None:
        if frame not in self.related and frame != self.site and len(self.related) < 20:
            self.related.append(frame)


@dataclass
class Taint:
    """A non-differentiable tensor computed from a differentiable one."""

    kind: str  # "compare" (also argmax & co.) or "cast"
    origins: tuple[graph.Origin, ...]  # of the differentiable values it was computed from
    site: Optional[Frame] = None  # casts: where the cast happened
    chain: tuple[Frame, ...] = ()
    op: str = ""
    confirmed: bool = False


@dataclass
class Region:
    """A stretch where grad mode was off."""

    site: Optional[Frame]
    chain: tuple[Frame, ...]
    internal: bool  # entered by torch itself (optimizer step, gradcheck)
    # values computed in the region from differentiable ones -> (origins of those, the value's site)
    values: Marks[tuple[tuple[graph.Origin, ...], Frame]] = field(default_factory=Marks)


@dataclass
class ReuseRecord:
    node: str
    created: Optional[NodeInfo]  # of the stale node (detail mode)
    used: Optional[NodeInfo]  # of the node that consumed it
    params: frozenset[int]


@dataclass
class BackwardCall:
    roots: list[graph.Node]
    site: Optional[FrameType]
    probe: Optional[BackwardProbe] = None


def _see_leaf(params: dict[int, ParamRecord], tensor: torch.Tensor) -> None:
    if id(tensor) not in params:
        params[id(tensor)] = ParamRecord(tensor, None, None, len(params))


class Recorder:
    def __init__(self, codes: CodeMap, named: Optional[Mapping[str, torch.Tensor]] = None):
        self.codes = codes
        self.params: dict[int, ParamRecord] = {}
        self.events: dict[tuple[str, int, str], EventRecord] = {}
        # Given the dict, not a bound method: a reference back to the recorder would make a cycle, and the
        # recorder (holding the last graph and gradients) would wait for the cyclic collector to be freed.
        self.leaf_index = graph.LeafIndex(functools.partial(_see_leaf, self.params))
        self.region: Optional[Region] = None
        self.last_backward_sequence = -1
        self.backward_calls = 0
        self.output_zero = False
        self.reuse: list[ReuseRecord] = []
        self.detail: Optional[Detail] = None  # when diagnosing
        self.on_created: Optional[Callable[[ParamRecord], None]] = None  # told of each parameter made
        self._created_at: dict[Optional[Frame], int] = {}  # creation site -> parameters made there
        self._roots: dict[tuple[str, int], list[object]] = {}  # backward site -> its latest graph
        self._differentiated: Optional[set[object]] = None  # nodes those graphs hold, when asked
        self._last_roots: list[torch.Tensor] = []
        self._grad_owners: dict[int, ParamRecord] = {}  # id of a pending gradient -> its param
        self.taints: Marks[Taint] = Marks()
        self._severed: Marks[tuple[str, int, str]] = Marks()
        self._arrays: Marks[tuple[str, int, str]] = Marks()  # numpy arrays of severed values
        for name, tensor in (named or {}).items():
            self.params[id(tensor)] = ParamRecord(tensor, name, None, len(self.params))

    # ---- parameters -------------------------------------------------------------------------

    def see_leaf(self, tensor: torch.Tensor) -> None:
        _see_leaf(self.params, tensor)

    def created_parameter(self, tensor: torch.Tensor, op: str, start: FrameType) -> None:
        """``op`` returned a leaf that requires grad (or switched its gradient on).

        It is named after what the statement binds it to when the user's code called ``op`` itself; made
        inside a library (a module's parameters), it gets the site of the user's call only.
        """
        if not (tensor.requires_grad and tensor.grad_fn is None):
            return
        record = self.params.get(id(tensor))
        if record is not None:
            record.frozen_at = None
            return
        user = self.codes.user_frame(start)
        name, created = None, None
        if user is not None:
            binder = user
            if self.codes.entry(start) is user:
                name, binder = naming.name_at_creation(user, op, self._next_user)
            created = self.codes.frame(binder)
        ordinal = self._created_at.get(created, 0)
        self._created_at[created] = ordinal + 1
        record = self.params[id(tensor)] = ParamRecord(tensor, name, created, len(self.params), ordinal=ordinal)
        if self.on_created is not None:
            self.on_created(record)

    def registered_parameter(
        self, module: torch.nn.Module, attribute: str, tensor: torch.Tensor, start: FrameType
    ) -> None:
        """A module registered ``tensor`` as its parameter ``attribute``: a name until the frames give a better one.

        In the module's own ``__init__`` the name is the attribute; a library module gets the name its user
        binds it to (``self.fc = nn.Linear(...)`` names ``fc.weight``).
        """
        record = self.params.get(id(tensor))
        user = self.codes.user_frame(start)
        if record is None or record.name is not None or user is None:
            return
        owner = user.f_locals.get("self")
        if owner is module:
            record.name = attribute
        else:
            bound, _, _ = source.binding_at(user, "")
            record.name = f"{bound}.{attribute}" if bound else None
        record.provisional = record.name is not None

    def switching_off(self, tensor: torch.Tensor, op: str, start: FrameType) -> None:
        """The program is about to switch off ``tensor``'s gradient.

        On a module parameter (``nn.Parameter``) that is a freeze on purpose (fine-tuning, a target network),
        not a cut; on any other tensor that requires grad it cuts it.
        """
        if not tensor.requires_grad:
            return
        if isinstance(tensor, torch.nn.Parameter) and tensor.grad_fn is None:
            self.see_leaf(tensor)
            user = self.codes.user_frame(start)
            self.params[id(tensor)].frozen_at = self.codes.frame(user) if user is not None else None
        else:
            self.event(EventKind.REQUIRES_GRAD, op, (tensor,), start)

    def copied(self, copy: torch.Tensor, original: torch.Tensor) -> None:
        """``copy`` is a deep copy of the parameter ``original`` (a target network's, say)."""
        if copy.requires_grad and original.requires_grad:
            self.see_leaf(original)
            record = self.params.get(id(copy))
            if record is not None:
                record.copy_of = id(original)

    def _next_user(self, frame: FrameType) -> Optional[FrameType]:
        return self.codes.user_frame(frame.f_back)

    def scan_frames(self, start: Optional[FrameType]) -> None:
        """Register leaf tensors requiring grad found in the live user frames, and name unnamed ones."""
        params = self.params

        def wanted(tensor: torch.Tensor) -> bool:
            record = params.get(id(tensor))
            if record is not None:  # a parameter frozen since is still named
                return record.name is None or record.provisional
            return tensor.requires_grad and tensor.grad_fn is None

        user = self.codes.user_frame(start)
        frames = [user, *self.codes.callers(user)] if user is not None else []
        for key, (name, tensor) in naming.tensors_in_frames(frames, wanted).items():
            self.see_leaf(tensor)
            params[key].name = name
            params[key].provisional = False

    # ---- severing events ----------------------------------------------------------------------

    def event(self, kind: EventKind, op: str, sources: Iterable[object], start: FrameType) -> Optional[EventRecord]:
        """Record one firing, attributed to the user frame that called the operation.

        ``sources``: the differentiable values cut (tensors, or their ``graph.origins``).
        """
        sources = graph.origins(sources)
        if self._already_differentiated(sources):
            return None
        frame = self.codes.entry(start)
        user = self.codes.user_frame(frame) if frame is not None else None
        if user is None:
            return None
        return self._fire(kind, op, self.codes.frame(user), lambda: self.codes.chain(user), sources)

    def _already_differentiated(self, sources: Sequence[graph.Origin]) -> bool:
        """Whether every source is a computed tensor whose graph a finished backward already went through.

        Cutting such a value takes no gradient from anything: it has delivered its gradient (``loss.item()``
        after ``loss.backward()``, to log or to assert on). Events are rare, so the graphs are walked only when
        one fires after a backward.
        """
        if not self._roots or not sources:
            return False
        # A leaf (a tensor) is never done with: it keeps receiving gradients.
        if any(
            isinstance(origin, torch.Tensor) or graph.sequence_number(origin) > self.last_backward_sequence
            for origin in sources
        ):
            return False
        if self._differentiated is None:
            self._differentiated = set(graph.breadth_first([node for roots in self._roots.values() for node in roots]))
        return all(origin in self._differentiated for origin in sources)

    def _fire(
        self,
        kind: EventKind,
        op: str,
        site: Frame,
        chain: Callable[[], tuple[Frame, ...]],
        sources: Iterable[graph.Origin],
    ) -> EventRecord:
        key = (site.path, site.line, op)
        record = self.events.get(key)
        if record is None:
            record = self.events[key] = EventRecord(kind, op, site, chain())
        record.count += 1
        if record.count <= _WALK_LIMIT:
            record.params |= self.leaf_index.leaves_of_origins(sources)
        return record

    def mark_severed(self, result: object, record: Optional[EventRecord]) -> None:
        if record is not None and isinstance(result, torch.Tensor):
            self._severed.mark(result, (record.site.path, record.site.line, record.op))

    def numpy_produced(self, tensor: torch.Tensor, array: object) -> None:
        key = self._severed.lookup(tensor)
        if key is not None:
            with contextlib.suppress(TypeError):  # only arrays (weakly referenceable) come back via from_numpy
                self._arrays.mark(array, key)

    def numpy_reentered(self, array: object, start: FrameType) -> None:
        """``torch.from_numpy`` of an array that came from a severed tensor: note where it came back."""
        for candidate in (array, getattr(array, "base", None)):
            key = self._arrays.lookup(candidate) if candidate is not None else None
            if key is None or key not in self.events:
                continue
            user = self.codes.user_frame(start)
            if user is not None:
                self.events[key].relate(self.codes.frame(user))
                return

    def taint(self, result: torch.Tensor, kind: str, sources: Sequence[object], op: str, start: FrameType) -> None:
        if kind == "cast":
            frame = self.codes.entry(start)
            user = self.codes.user_frame(frame) if frame is not None else None
            if user is None:
                return
            self.taints.mark(
                result, Taint(kind, graph.origins(sources), self.codes.frame(user), self.codes.chain(user), op)
            )
        else:
            self.taints.mark(result, Taint(kind, graph.origins(sources)))

    def cast_reentered(self, taint: Taint, start: FrameType) -> None:
        """An integer cast of a differentiable value flowed back into floating-point computation."""
        if taint.confirmed or taint.site is None:
            return
        taint.confirmed = True
        record = self._fire(EventKind.CAST, taint.op, taint.site, lambda: taint.chain, taint.origins)
        user = self.codes.user_frame(self.codes.entry(start))
        if user is not None:
            record.relate(self.codes.frame(user))

    def branch(self, values: Sequence[torch.Tensor], op: str, start: FrameType) -> None:
        """Python took the truth value of ``values`` (differentiable, or computed from differentiable ones).

        The condition of a validation (an ``assert``, an ``if`` that only raises) is no cut: the program goes
        on with the same values either way.
        """
        sources: list[object] = []
        for tensor in values:
            taint = None if tensor.requires_grad else self.taints.lookup(tensor)
            if tensor.requires_grad:
                sources.append(tensor)
            elif taint is not None:
                sources.extend(taint.origins)
        if not sources:
            return
        frame = self.codes.entry(start)
        if frame is not None and source.only_validates(frame):
            return
        self.event(EventKind.BRANCH, op, sources, start)

    # ---- grad-disabled regions ----------------------------------------------------------------

    def grad_mode_changed(self, before: bool, after: bool, start: FrameType) -> None:
        if before and not after:
            self.region = self._open_region(start)
        elif after and not before:
            self.close_region()

    def _open_region(self, start: FrameType) -> Region:
        """The region's site: the ``with`` statement, or the first line (decorator) of a decorated function."""
        frame: Optional[FrameType] = start
        while frame is not None and self.codes.category(frame.f_code) in (GRADLINT, TORCH):
            if frame.f_code.co_name == "decorate_context":
                code = getattr(frame.f_locals.get("func"), "__code__", None)
                if code is not None and self.codes.category(code) in (USER, OTHER):
                    site = Frame(self.codes.display_path(code.co_filename), code.co_firstlineno, code.co_name)
                    caller = self.codes.user_frame(frame)
                    chain = (self.codes.frame(caller), *self.codes.chain(caller)) if caller is not None else ()
                    return Region(site, chain, internal=False)
            frame = frame.f_back
        entry = self.codes.entry(start, GRAD_MODE_FILES)
        user = self.codes.user_frame(entry) if entry is not None else None
        if user is None:
            return Region(None, (), internal=True)
        return Region(self.codes.frame(user), self.codes.chain(user), internal=False)

    def region_use(self, result: torch.Tensor, sources: Sequence[object], start: FrameType) -> None:
        """An operation under disabled grad mode consumed values that carry (or carried) a gradient."""
        region = self.region
        if region is not None and (region.internal or len(region.values) >= _REGION_LIMIT):
            return
        frame = self.codes.entry(start)
        user = self.codes.user_frame(frame) if frame is not None else None
        if user is None:
            return
        site = self.codes.frame(user)
        if region is None:  # inference mode, or grad disabled before the trace began
            region = self.region = Region(site, self.codes.chain(user), internal=False)
        region.values.mark(result, (graph.origins(sources), site))

    def region_sources(self, tensor: torch.Tensor) -> Optional[tuple[graph.Origin, ...]]:
        """The origins of the differentiable values behind a tensor computed in the current region, if any."""
        entry = self.region.values.lookup(tensor) if self.region is not None else None
        return entry[0] if entry is not None else None

    def close_region(self) -> None:
        region, self.region = self.region, None
        if region is None or region.internal or region.site is None:
            return
        escaped = list(region.values.live_values())
        if not escaped:
            return
        record = self._fire(
            EventKind.NO_GRAD,
            "torch.no_grad",
            region.site,
            lambda: region.chain,
            [origin for origins, _ in escaped for origin in origins],
        )
        for _, site in escaped:
            record.relate(site)

    # ---- backward -----------------------------------------------------------------------------

    def before_backward(self, backward: Backward, start: FrameType) -> Optional[BackwardCall]:
        """None when torch itself runs this backward (gradcheck and the like): it is not recorded."""
        site = self.codes.entry(start, BACKWARD_FILES)
        if site is None:
            return None
        nodes = [root.grad_fn for root in backward.roots if root.grad_fn is not None]
        call = BackwardCall(nodes, site)
        if self.detail is not None:
            call.probe = self.detail.probe(nodes)
        return call

    def after_backward(
        self, call: BackwardCall, backward: Backward, returned: Optional[dict[int, Optional[torch.Tensor]]] = None
    ) -> None:
        """``returned``: for ``torch.autograd.grad``, the gradients it returned by input id.

        Gradients are only referenced here; they are summarized at the end, or just before the program
        zeroes them in place.
        """
        self.backward_calls += 1
        self.leaf_index.clear()
        self._differentiated = None
        self._discover(call)
        sequence = max((graph.sequence_number(node) for node in call.roots), default=-1)
        self.last_backward_sequence = max(self.last_backward_sequence, sequence)
        self._last_roots = backward.roots
        if returned is None:
            updates = [(record, record.tensor.grad) for record in self.params.values()]
        else:
            updates = [(self.params[key], grad) for key, grad in returned.items() if key in self.params]
        for record, grad in updates:
            if record.pending is not None:
                self._grad_owners.pop(id(record.pending[0]), None)
            record.pending = (grad, grad._version if grad is not None else 0)
            record.failed = False
            if grad is not None:
                self._grad_owners[id(grad)] = record
        if call.probe is not None:
            self.settle()
            call.probe.finish(self)

    def internal_gradients(self, returned: dict[int, Optional[torch.Tensor]]) -> None:
        """Gradients computed by torch's own machinery (gradcheck's vector-Jacobian products).

        Each call sees one slice of the Jacobian, so the outcomes of all calls are combined: a parameter
        is zero only if every slice was, missing only if every slice was.
        """
        self.backward_calls += 1
        records = [self.params[key] for key in returned if key in self.params]
        self.settle(records)
        for record, snap in zip(records, outcome.snapshot([returned[id(r.tensor)] for r in records])):
            record.snapshot = outcome.combine(record.snapshot, snap)

    def grads_changing(self, tensors: Iterable[object]) -> None:
        """The program is about to modify these tensors in place: summarize any that are pending gradients."""
        records = [self._grad_owners.get(id(tensor)) for tensor in tensors]
        self.settle([r for r, t in zip(records, tensors) if r is not None and r.pending and r.pending[0] is t])

    def settle(self, records: Optional[Iterable[ParamRecord]] = None) -> None:
        """Summarize pending gradients (of ``records``, default all).

        A gradient the program changed in place since its backward (without a function mode, nothing tells
        before it zeroes one) is marked ``rewritten``: its outcome is that of what the program left.
        """
        chosen = [
            (r, r.pending) for r in (self.params.values() if records is None else records) if r.pending is not None
        ]
        snapshots = outcome.snapshot([gradient for _, (gradient, _) in chosen])
        for (record, (gradient, version)), snap in zip(chosen, snapshots):
            self._grad_owners.pop(id(gradient), None)
            record.rewritten = gradient is not None and gradient._version != version
            record.snapshot, record.pending = snap, None

    def backward_failed(self, call: BackwardCall, error: BaseException) -> None:
        if call.probe is not None:
            call.probe.abandon()
        self._discover(call)
        if not _GRAPH_REUSE.search(str(error)):
            return
        for node, consumer in graph.stale_boundary(call.roots, self.last_backward_sequence):
            params = self.leaf_index.leaves_of_node(node)
            info = self.detail.node_info(node) if self.detail is not None else None
            used = self.detail.node_info(consumer) if self.detail is not None and consumer is not None else None
            self.reuse.append(ReuseRecord(node.name(), info, used, params))
            for key in params:
                if key in self.params:
                    self.params[key].failed = True

    def _discover(self, call: BackwardCall) -> None:
        """Remember the latest graph of each backward call site; scan its live frames the first time."""
        site = call.site
        # By file and line: a code object's hash is recomputed from its contents on every lookup.
        key = (site.f_code.co_filename, site.f_lineno) if site is not None else ("", 0)
        first = key not in self._roots
        self._roots[key] = call.roots
        if first:
            self.scan_frames(site)

    def finish(self) -> None:
        """Close what is still open: the region, leaves only the graphs reach, pending gradients."""
        self.close_region()
        for roots in self._roots.values():
            for leaf in graph.reachable_leaves(roots):
                self.see_leaf(leaf)
        self.settle()
        self.output_zero = any(r.numel() > 0 and not bool(r.detach().any()) for r in self._last_roots)
        unseen = [r for r in self.params.values() if r.snapshot is None]
        for record, snap in zip(unseen, outcome.snapshot([r.tensor.grad for r in unseen])):
            record.snapshot = snap

    def outcome_of(self, record: ParamRecord) -> GradSnapshot:
        if record.failed:
            return GradSnapshot(Outcome.ERROR)
        return record.snapshot or outcome.MISSING
