"""Plain data of a trace: what was cut where, which parameters lost their gradient, and why.

Nothing here imports torch or formats text: the runner fills these, reporters render them,
``gradlint.rank`` merges them with static findings. Paths are display paths (relative to the trace
root when inside it, POSIX separators); lines are 1-based.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping, Optional


@dataclass(frozen=True)
class Frame:
    """One stack frame: where code ran."""

    path: str
    line: int
    function: str


class EventKind(str, enum.Enum):
    """Families of severing operations (they mirror the static checker's rule families)."""

    DETACH = "detach"  # detach(), detach_()
    SCALAR = "scalar"  # item(), tolist(), float(t), int(t), math.*(t)
    NUMPY = "numpy"  # numpy(), np.asarray(t), a round trip through from_numpy
    DATA = "data"  # .data read or write
    CONSTRUCT = "construct"  # torch.tensor / as_tensor / new_tensor fed with parameter tensors
    RANGE = "range"  # linspace / logspace / arange with tensor endpoints
    NO_GRAD = "no_grad"  # a grad-disabled region whose results escape it
    CAST = "cast"  # integer cast whose result flows back into computation
    REQUIRES_GRAD = "requires_grad"  # requires_grad_(False), .requires_grad = False
    BRANCH = "branch"  # Python truth value of a tensor that depends on a parameter
    NON_DIFFERENTIABLE = "non_differentiable"  # any other op whose output lost its input's gradient


@dataclass(frozen=True)
class SeveringEvent:
    """All firings of one operation at one site, aggregated."""

    kind: EventKind
    op: str
    site: Frame
    chain: tuple[Frame, ...]  # the user frames that called the site's function, innermost first
    count: int
    parameters: tuple[str, ...]  # parameters the severed value depended on (sorted)
    related: tuple[Frame, ...] = ()  # no_grad: where escaping values were computed; cast: where it re-entered


class Outcome(str, enum.Enum):
    """What a parameter's gradient looked like after the target's backward."""

    MISSING = "missing"  # .grad is None
    ZERO = "zero"  # exactly zero everywhere
    NONFINITE = "nonfinite"  # contains NaN or infinity
    ERROR = "error"  # the backward that should have produced it raised
    WRONG = "wrong"  # finite and non-zero, but it disagrees with finite differences
    OK = "ok"  # finite, not all zero
    FROZEN = "frozen"  # no gradient, on purpose: switched off, or a copy kept out of backward

    @property
    def is_bad(self) -> bool:
        return self not in (Outcome.OK, Outcome.FROZEN)


class Reason(str, enum.Enum):
    """Why the outcome is what it is."""

    CONNECTED = "connected"  # real gradients
    SEVERED = "severed"  # not in the output's graph; severing events name it
    DISCONNECTED = "disconnected"  # not in the output's graph; no severing operation was observed
    ZERO_FORWARD = "zero_forward"  # an identically zero factor multiplies it into the output
    VANISHING = "vanishing"  # connected, but one operation passes back zero
    NONFINITE = "nonfinite"  # a backward node turns finite gradients into NaN/inf
    GRAPH_REUSE = "graph_reuse"  # backward went through a graph freed by an earlier backward
    WRONG = "wrong"  # disagrees with central finite differences on the same program
    FROZEN = "frozen"  # the program switched the gradient of this module parameter off
    COPY = "copy"  # a deep copy of another parameter that receives no gradient (a target network)
    UNEXPLAINED = "unexplained"  # bad outcome without a diagnosis (e.g. diagnosis pass did not reproduce)


@dataclass(frozen=True)
class GradientCheck:
    """A parameter's autograd gradient against central finite differences of the same program.

    Both are directional derivatives of the loss of the program's first backward along the direction where
    they disagree most (the parameter itself, for a scalar; a random unit direction, for a tensor).
    """

    autograd: float
    numeric: float
    error: float  # |autograd - numeric| / max(|autograd|, |numeric|)
    directions: int  # directions compared
    step: float  # the finite-difference step along a unit direction
    dtype: str  # the precision of the comparison, e.g. "float64"
    runs: int  # runs of the program it took
    verdict: str  # "agrees", "disagrees", "unstable" (no verdict) or "unchecked"


@dataclass(frozen=True)
class ParameterReport:
    name: str
    created: Optional[Frame]  # None when first seen in the graph (created before the trace)
    shape: tuple[int, ...]
    outcome: Outcome
    reason: Reason
    norm: Optional[float] = None
    max_abs: Optional[float] = None
    frozen_at: Optional[Frame] = None  # where its gradient was switched off, or where it was copied
    copy_of: Optional[str] = None  # the parameter it is a deep copy of
    check: Optional[GradientCheck] = None  # with --check-gradients


@dataclass(frozen=True)
class ValueOrigin:
    """Where a constant fed to a fill or a product came from."""

    expression: str  # the source expression of the value, e.g. "self.config.default_F"
    value: Optional[float]
    defined: Optional[Frame]  # where that value was written (a field or parameter default)
    kind: str = ""  # "dataclass_default", "class_attribute", "parameter_default" or ""


@dataclass(frozen=True)
class ZeroFactor:
    """The earliest identically zero tensor that multiplies into a parameter's path."""

    site: Frame
    op: str
    origin: Optional[ValueOrigin]


@dataclass(frozen=True)
class VanishingPoint:
    """The backward node nearest the output whose gradient toward some parameters is zero everywhere."""

    node: str  # autograd node name, e.g. "RoundBackward0"
    site: Optional[Frame]  # forward site of the operation that created the node
    parameters: tuple[str, ...]
    zero_factor: Optional[ZeroFactor]  # set when the node multiplies by an identically zero factor


@dataclass(frozen=True)
class NonFiniteOrigin:
    """The backward node nearest the output that turns finite incoming gradients into NaN/inf."""

    node: str
    site: Optional[Frame]
    parameters: tuple[str, ...]


@dataclass(frozen=True)
class GraphReuse:
    """A backward through a graph already freed: the tensor that was cached with its graph."""

    node: str  # the stale node nearest the output
    created: Optional[Frame]  # where the cached tensor was computed (innermost user frame)
    stored: Optional[Frame]  # where it was kept: a cache decorator or the __init__ that built it
    used: Optional[Frame]  # where the current forward consumed it
    parameters: tuple[str, ...]


class FailureKind(str, enum.Enum):
    NOT_FOUND = "not_found"  # no such file, module, function or test
    IMPORT_ERROR = "import_error"  # the target could not be imported / collected
    RAISED = "raised"  # the target raised (its gradients may still be reported)
    NO_BACKWARD = "no_backward"  # never called backward and returned no tensor
    NO_PARAMETERS = "no_parameters"  # no leaf tensor requiring grad was seen
    UNKNOWN_PARAMETER = "unknown_parameter"  # a name given with --param was not found
    NO_TORCH = "no_torch"  # torch is not installed
    INTERRUPTED = "interrupted"  # SIGINT or SIGTERM stopped the trace (detail: the signal's name)


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    message: str  # one paragraph: what happened and what to do
    detail: str = ""  # the exception line, when there was one


RECORD_CHOICES = ("auto", "always", "never")  # when the target runs under the recording trace (gradlint.trace.passes)


class TargetKind(str, enum.Enum):
    PYTEST = "pytest"
    FUNCTION = "function"
    SCRIPT = "script"
    BLOCK = "block"  # a ``with gradlint.watch():`` block


@dataclass
class TraceResult:
    target: str
    kind: TargetKind
    parameters: tuple[ParameterReport, ...] = ()
    events: tuple[SeveringEvent, ...] = ()
    vanishing: tuple[VanishingPoint, ...] = ()
    nonfinite: tuple[NonFiniteOrigin, ...] = ()
    graph_reuse: tuple[GraphReuse, ...] = ()
    output_zero: bool = False  # the backward root (loss) was identically zero
    executed_lines: Optional[Mapping[str, frozenset[int]]] = None  # only the lines asked for
    failure: Optional[Failure] = None
    test_outcome: str = ""  # pytest targets: "passed", "failed" or "skipped"
    duration: float = 0.0  # seconds, all passes
    passes: int = 1  # how many times the target ran
    compiled: tuple[Frame, ...] = ()  # where torch.compile was called: that code ran eagerly
    notes: tuple[str, ...] = ()  # what the reader should know: reruns, an exit intercepted ...
    log: str = field(default="", repr=False)  # the target's captured stdout and stderr
    bundle: Optional[str] = None  # the report folder written, if any

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def bad_parameters(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters if p.outcome.is_bad)

    @property
    def zero_factors(self) -> tuple[ZeroFactor, ...]:
        return tuple(v.zero_factor for v in self.vanishing if v.zero_factor is not None)

    def parameter(self, name: str) -> ParameterReport:
        for report in self.parameters:
            if report.name == name:
                return report
        raise KeyError(name)
