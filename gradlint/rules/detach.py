"""Detaching: ``.detach()`` and ``.detach_()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Set, Tuple

from gradlint import lazy_cst as cst
from gradlint.analysis import torch_api as api
from gradlint.analysis.nodes import children, constant_key
from gradlint.analysis.values import MEDIUM, CandidateMark, Sym, strongest
from gradlint.findings import Confidence
from gradlint.rules.base import Invalid, TensorMethodRule, Valid
from gradlint.rules.syntax import sums, variables_read

if TYPE_CHECKING:
    from gradlint.analysis.context import Context


class DetachOnDifferentiable(TensorMethodRule):
    """`.detach()` or `.detach_()` on a value that carries a gradient.

    What it does:
        Reports `.detach()` and `.detach_()` on a tensor computed from differentiable inputs when the detached
        value goes on into computation, is returned, or is stored; also `._values()` of a sparse tensor, which
        hands out its values without their history (`.coalesce().values()` keeps it).

    Why it cuts gradients:
        `.detach()` returns a tensor that shares storage with its input but has no autograd history, and
        `.detach_()` strips the history in place. Everything computed from the result is a constant to
        autograd, so the parameters it came from get no gradient along this path, and a `None` gradient when
        it was their only path. `.detach_()` of a tensor the function was passed strips the caller's tensor:
        it is reported at medium confidence at least, whatever the tensor's annotation.

    When it is fine:
        Detaching targets, running statistics, values that are only logged or printed, or a deliberate
        stop-gradient (target networks). A straight-through estimator is recognized and not reported: a detached
        term of a sum whose other terms use the same values (`x + (quantized - x).detach()`,
        `hard - soft.detach() + soft`) replaces the forward value while the gradient flows through the other
        term. Nor is a fresh leaf, `x.detach().requires_grad_()`, which starts a new graph on purpose (input
        gradients, an inner optimization). A detached value that only feeds logging, printing, formatting,
        assertions, branch conditions, shapes or indices is reported at low confidence, hidden by default.
        Silence any other deliberate stop-gradient with `# gradlint: ignore[GL001] -- reason`.
    """

    code = "GL001"
    name = "detach-on-differentiable"
    tokens = ("detach", "_values")
    methods = frozenset({"detach", "detach_", "_values"})
    in_place = frozenset({"detach_"})
    message = (
        "`.{method}()` cuts the gradient of `{subject}`: nothing computed from it reaches the parameters it depends on"
    )
    fix = "use `{subject}` itself; detach only what must not be differentiated (targets, logged values)"
    kept_fix = (
        "detaching what is only recorded or logged is right (it lets the step's graph go); to compute with "
        "it, use `{subject}` itself"
    )
    INVALID = [
        Invalid(
            """\
import torch

def rotate(angles: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    rotation = torch.matrix_exp(angles)
    return vectors @ rotation.detach()
""",
            line=5,
            column=22,
            fixed="""\
import torch

def rotate(angles: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    rotation = torch.matrix_exp(angles)
    return vectors @ rotation
""",
        ),
        Invalid(
            """\
import torch

def scale(weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    norm = weights.norm()
    norm.detach_()
    return x * norm
""",
            line=5,
            column=5,
        ),
        Invalid(
            """\
def normalise(weights, x):
    weights.detach_()
    return x * weights / weights.sum()
""",
            line=2,
            column=5,
        ),
        Invalid(
            """\
import torch

class Shift(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(3))
        self.bias = torch.nn.Parameter(torch.zeros(3))

    def forward(self) -> torch.Tensor:
        return self.bias + self.weight.detach()
""",
            line=10,
            column=28,
            confidence=Confidence.HIGH,
        ),
        Invalid(
            """\
import torch

def propagate(adj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    weights = adj._values()
    return torch.sparse_coo_tensor(adj._indices(), weights * 2, adj.shape) @ x
""",
            line=4,
            column=15,
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def report(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    loss = (prediction - target).pow(2).mean()
    print(f"loss {loss.detach()}")
    return loss
"""
        ),
        Valid(
            """\
import torch

def quantize(latent: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    nearest = codebook[torch.cdist(latent, codebook).argmin(-1)]
    return latent + (nearest - latent).detach()
"""
        ),
        Valid(
            """\
import torch

def saliency(model: torch.nn.Module, image: torch.Tensor) -> torch.Tensor:
    image = image.detach().requires_grad_()
    model(image).sum().backward()
    return image.grad
"""
        ),
    ]

    def __init__(self) -> None:
        # Per function being interpreted: its detach sites, decided when the whole function has been seen.
        self._sites: Dict[cst.CSTNode, List[Tuple[CandidateMark, cst.Call, cst.CSTNode]]] = {}

    def receiver(self, site, ctx):
        """``.detach_()`` of a tensor the caller passed severs the caller's graph: at least medium."""
        if site.tensor_method == "detach_" and ctx.received(site.receiver):
            return strongest((site.receiver.sym, Sym(MEDIUM, chain=(site.node,))))
        return site.receiver.sym

    def on_call(self, site, ctx):
        statement = ctx.statement
        if (
            self.applies(site)
            and statement is not None
            and (_fresh_leaf(site.node, statement) or _straight_through(site.node, statement, ctx.qualname))
        ):
            return None
        mark = super().on_call(site, ctx)
        if mark is not None and ctx.function.node is not None and statement is not None:
            self._sites.setdefault(ctx.function.node, []).append((mark, site.node, statement))
        return mark

    def on_function(self, node, returns, ctx):
        sites = self._sites.pop(node, ())
        if sites:
            uses = _differentiable_uses(node, ctx)
            for mark, call, statement in sites:
                if any(
                    statements - {statement}
                    for path in _paths(call.func.value, ctx)
                    for used, statements in uses.items()
                    if _overlap(path, used)
                ):
                    ctx.deliberate(mark)


# A value is named by the binding it was read from (the interpreter hands out one object per binding) and the
# attributes and constant keys taken of it: ``q_value``, ``self.log_alpha``, ``out.log_prob`` and
# ``config["sources"]`` are paths.
_Path = Tuple[int, Tuple[str, ...]]


def _overlap(first: _Path, second: _Path) -> bool:
    """Whether two paths may name the same tensor: one is the other or a part of it (``self`` and
    ``self.weight``; not ``self.weight`` and ``self.bias``)."""
    shorter, longer = sorted((first[1], second[1]), key=len)
    return first[0] == second[0] and longer[: len(shorter)] == shorter


def _paths(node: cst.BaseExpression, ctx: Context) -> Set[_Path]:
    """The values a detached expression reads."""
    found: Set[_Path] = set()
    for current, _ in _walk(node, ctx):
        path = _path(current, ctx)
        if path is not None:
            found.add(path)
    return found


def _path(node: cst.CSTNode, ctx: Context) -> Optional[_Path]:
    parts = _parts(node)
    if (
        parts is None
        or ctx.qualname(parts[0]) is not None
        or (parts[1] and parts[1][-1] in api.NON_DIFFERENTIABLE_ATTRIBUTES)
    ):  # ``x.shape``: looked at
        return None
    return id(ctx.value(parts[0])), parts[1]


def _parts(node: cst.CSTNode) -> Optional[Tuple[cst.Name, Tuple[str, ...]]]:
    """The name an access path starts from and the attributes and constant keys it takes, outermost last."""
    parts = []
    while True:
        if isinstance(node, cst.Attribute):
            parts.append(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = constant_key(node.slice[0].slice.value)
            if key is None:
                break
            parts.append(f"[{key!r}]")
            node = node.value
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("get", "pop")
            and node.args
            and constant_key(node.args[0].value) is not None
        ):
            parts.append(f"[{constant_key(node.args[0].value)!r}]")  # ``config.get("scale")``
            node = node.func.value
        else:
            break
    return (node, tuple(reversed(parts))) if isinstance(node, cst.Name) else None


def _differentiable_uses(function: cst.FunctionDef, ctx: Context) -> Dict[_Path, Set[cst.CSTNode]]:
    """Where each value of the function is read in a way that differentiates it: the statements that read it
    outside any ``.detach()``, other than for its shape, dtype or device, and other than as an assignment target.

    A detached value also used undetached in another statement is a stop-gradient on one path of a value that
    keeps its gradient on another: a GAN's discriminator step on the generator's output, a temperature fitted on
    a detached entropy while the actor uses the live one, a normaliser of a loss term.
    """
    uses: Dict[_Path, Set[cst.CSTNode]] = {}
    for node, statement in _walk(function.body, ctx):
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("detach", "detach_")
        ):
            continue
        path = _path(node, ctx)
        if path is not None and statement is not None:
            uses.setdefault(path, set()).add(statement)
    return uses


def _walk(root: cst.CSTNode, ctx: Context) -> Iterator[Tuple[cst.CSTNode, Optional[cst.CSTNode]]]:
    """Every node under ``root`` with its statement, except what is detached, assigned to, only looked at
    (compared, formatted, printed, its type or length asked) or read for its shape, dtype or device, and except
    nested functions and classes. A method called on a value (``q.abs()``) reads the value, not a part of it."""
    qualname = ctx.qualname
    stack: List[Tuple[cst.CSTNode, Optional[cst.CSTNode]]] = [(root, None)]
    while stack:
        node, statement = stack.pop()
        if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            statement = node
        yield node, statement
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("detach", "detach_")
        ):
            continue
        if isinstance(node, (cst.Comparison, cst.FormattedString)) or (
            isinstance(node, cst.Call) and qualname(node.func) in api.BENIGN_FUNCTIONS
        ):
            continue
        if isinstance(node, cst.Attribute) and node.attr.value in api.NON_DIFFERENTIABLE_ATTRIBUTES:
            continue
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and (node.func.attr.value in api.NON_DIFFERENTIABLE_METHODS)
        ):
            stack.extend((arg, statement) for arg in node.args)
            continue
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node is not root:
            continue
        if isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)) and _parts(node) is not None:
            continue  # an access path is one value: what it is taken from is not read whole
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            receiver = ctx.value(node.func.value)
            if receiver.cls is None and not receiver.module_instance:
                stack.append((node.func.value, statement))
                stack.extend((arg, statement) for arg in node.args)
                continue
        for child in children(node):
            if _is_target(node, child):
                continue
            stack.append((child, statement))


def _is_target(parent: cst.CSTNode, child: cst.CSTNode) -> bool:
    """Whether ``child`` is what ``parent`` assigns to (a binding, not a read)."""
    if isinstance(parent, cst.AssignTarget):
        return child is parent.target
    if isinstance(parent, (cst.AnnAssign, cst.For)):
        return child is parent.target
    return isinstance(parent, cst.NamedExpr) and child is parent.target


def _fresh_leaf(call: cst.Call, statement: cst.CSTNode) -> bool:
    """Whether ``statement`` calls ``.requires_grad_()`` on the value of ``call``."""
    stack: list = [statement]
    while stack:
        current = stack.pop()
        if (
            isinstance(current, cst.Call)
            and isinstance(current.func, cst.Attribute)
            and current.func.value is call
            and current.func.attr.value == "requires_grad_"
        ):
            return True
        stack.extend(children(current))
    return False


def _straight_through(
    call: cst.Call, statement: cst.CSTNode, qualname: Callable[[cst.BaseExpression], Optional[str]]
) -> bool:
    """Whether ``call`` is a term of a sum in ``statement`` whose other terms use a variable it detaches."""
    for terms in sums(statement):
        if any(term is call for term in terms):
            detached = variables_read(call.func.value, qualname)
            return any(variables_read(term, qualname) & detached for term in terms if term is not call)
    return False
