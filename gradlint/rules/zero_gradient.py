"""Operations whose gradient is zero almost everywhere, used as values: rounding, signs, thresholds, argmax."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, Optional, Set

from gradlint import lazy_cst as cst
from gradlint.analysis import torch_api as api
from gradlint.findings import Confidence
from gradlint.rules.base import Invalid, Rule, Valid
from gradlint.rules.syntax import contains, is_method_call, sums, variables_read, walk

if TYPE_CHECKING:
    from gradlint.analysis.context import CallSite, Context

_DETACH = ("detach", "detach_")
_SIGNS = frozenset({"sign", "sgn"})
_FLOAT_CASTS = frozenset("float double half bfloat16".split())
_FLOAT_DTYPES = frozenset(
    "torch." + name for name in "float float16 float32 float64 double half bfloat16 get_default_dtype".split()
)


class ZeroGradientStep(Rule):
    """A rounding, sign or threshold of a differentiable value, used as a value.

    What it does:
        Reports `floor`, `ceil`, `round`, `trunc`, `fix`, `sign` and `sgn` (as functions or methods) and rounding
        division (`torch.div(t, k, rounding_mode="floor")`) applied to a value computed from differentiable
        inputs, when the result goes on into computation or is returned.

    Why it cuts gradients:
        These functions are piecewise constant: their derivative is zero wherever it exists. Autograd does not
        fail, it silently returns zeros, so every parameter behind `t` gets an exactly zero gradient through
        the step (an image metric that rounds to 8-bit levels before its statistics cannot be used as a loss).
        (`t // k` and `torch.heaviside` are not reported: their backward raises instead of returning zeros.)

    When it is fine:
        Rounded values used as indices, sizes, masks for indexing or in comparisons, or cast to integers and
        returned (codebook indices, labels) (reported at low confidence, hidden by default). A straight-through
        estimator is recognized and not reported: the step
        read inside a `.detach()` (`x + (x.round() - x).detach()`) or a term of a sum with a detached term
        (`hard - soft.detach() + soft`), a step (or what is computed from it) meeting the same inputs it rounds
        anywhere in the function, in an operation or as arguments of one call (`x - x.floor()`, bilinear weights,
        an interpolation between the grid points `floor` found), a sign used as a factor
        (`torch.sign(x) * magnitude`), through all of which the gradient still flows where it should. Nor is a
        step of a detached value. A cast to an integer after the step cuts nothing more: the step is where the
        gradient ends, and it is reported there (not as an integer cast).
    """

    code = "GL110"
    name = "zero-gradient-step"
    tokens = ("floor", "ceil", "round", "trunc", "fix(", "sign", "sgn(", "rounding_mode")
    INVALID = [
        Invalid(
            """\
import torch

def luma(rgb: torch.Tensor) -> torch.Tensor:
    y = rgb[:, 0] * 0.299 + rgb[:, 1] * 0.587 + rgb[:, 2] * 0.114
    return (y * 255.0).round()
""",
            line=5,
            column=12,
            fixed="""\
import torch

def luma(rgb: torch.Tensor) -> torch.Tensor:
    y = rgb[:, 0] * 0.299 + rgb[:, 1] * 0.587 + rgb[:, 2] * 0.114
    return y * 255.0
""",
        ),
        Invalid(
            """\
import torch

def phase(offset: torch.Tensor, period: float) -> torch.Tensor:
    cycles = torch.div(offset, period, rounding_mode="floor")
    return torch.cos(cycles * period)
""",
            line=4,
            column=14,
        ),
        Invalid(
            """\
import torch

def lattice(positions: torch.Tensor, cells: int) -> torch.Tensor:
    hkl = (positions * 4.0).round().long()
    return torch.sin(torch.pi * hkl * cells) / torch.sin(torch.pi * hkl)
""",
            line=4,
            column=11,
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def round_ste(z: torch.Tensor) -> torch.Tensor:
    zhat = z.round()
    return z + (zhat - z).detach()
"""
        ),
        Valid(
            """\
import torch

def lookup(table: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    index = torch.floor(h).long()
    return table[index] * h
"""
        ),
        Valid(
            """\
import torch

def fractional(x: torch.Tensor) -> torch.Tensor:
    return x - x.floor()
"""
        ),
        Valid(
            """\
import torch

def interpolate(grid: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    corner = torch.floor(h).long()
    neighbours = corner.unsqueeze(-1) + torch.arange(2)
    points = neighbours.to(h.dtype)
    return linear(points, grid[neighbours], h)

def linear(points: torch.Tensor, values: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    weight = h.unsqueeze(-1) - points[..., :1]
    return values[..., 0] * (1 - weight[..., 0]) + values[..., 1] * weight[..., 0]
"""
        ),
        Valid(
            """\
import torch

def codes_to_indices(codes: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    return (codes * basis).sum(dim=-1).round().to(torch.int32)

def quantize(z: torch.Tensor, basis: torch.Tensor):
    codes = z.tanh()
    return codes, codes_to_indices(codes, basis)
"""
        ),
    ]

    def on_call(self, site, ctx):
        subject = site.stepped
        signs = (site.tensor_method or (site.callee or "").rpartition(".")[2]) in _SIGNS
        if subject is None or _deliberate(site.node, subject[0], ctx, signs):
            return None
        node, receiver = subject
        return ctx.report(
            self,
            site.node,
            receiver=receiver.sym,
            subject=node,
            message="the result is piecewise constant in `{subject}`: its gradient is zero almost everywhere",
            fix="keep the continuous value where a gradient is needed; round only indices, or use a "
            "straight-through estimator (`x + (x.round() - x).detach()`) on purpose",
        )


class ThresholdAsValue(Rule):
    """An order comparison or an `argmax` of a differentiable value, cast to a float and computed with.

    What it does:
        Reports `(t > k).float()`, `torch.gt(t, k).to(torch.float32)`, `t.argmax(-1).float()` and relatives
        (`.double()`, `.half()`, `.type_as(x)`) where `t` is computed from differentiable inputs and the float
        goes on into computation with differentiable values.

    Why it cuts gradients:
        A comparison or an index has no gradient: it changes in steps as `t` changes, and autograd sees a
        constant. A hard threshold used as a weight (`(score > 0.5).float() * loss`) or a predicted class used
        as a number gives the parameters behind `t` no gradient through it; a soft version
        (`torch.sigmoid((t - k) / temperature)`, `softmax(t) @ positions`) keeps it.

    When it is fine:
        Masks and indices used to select, equality tests (`(pred == label).float().mean()` for accuracy) and
        other metrics, a mask that multiplies the value it was computed from (`x * (x > 0).float()`, a
        ReLU), a threshold inside a straight-through estimator, and masks returned to the caller (reported at
        low confidence, hidden by default).
    """

    code = "GL111"
    name = "threshold-as-value"
    tokens = (".float(", ".double(", ".half(", ".bfloat16(", ".to(", ".type(", "type_as(")
    escape_confidence = Confidence.LOW
    INVALID = [
        Invalid(
            """\
import torch

def coverage(scores: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    hits = (scores > 0.5).float()
    return (hits * weights).sum()
""",
            line=4,
            column=12,
            fixed="""\
import torch

def coverage(scores: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    hits = torch.sigmoid((scores - 0.5) * 20.0)
    return (hits * weights).sum()
""",
        ),
        Invalid(
            """\
import torch

def bin_error(logits: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    best = logits.argmax(dim=-1)
    return (best.float() - centers).abs().mean()
""",
            line=5,
            column=13,
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def coverage(scores: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    hits = torch.sigmoid((scores - 0.5) / 0.05)
    return (hits * weights).sum()
"""
        ),
        Valid(
            """\
import torch

def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(dim=-1) == labels).float().mean()
"""
        ),
        Valid(
            """\
import torch

def rectify(x: torch.Tensor) -> torch.Tensor:
    return x * (x > 0).float()
"""
        ),
    ]

    def on_call(self, site, ctx):
        receiver = site.receiver
        if receiver is None or receiver.stepped.is_constant() or not _casts_to_float(site, ctx):
            return None
        subject = site.node.func.value
        if _deliberate(site.node, subject, ctx):
            return None
        return ctx.report(
            self,
            site.node,
            receiver=receiver.stepped,
            subject=subject,
            message="`{subject}` is a comparison or an index: as a number it is a constant with no gradient",
            fix="use a soft version (`torch.sigmoid((t - k) / temperature)`, `softmax` weights) where a "
            "gradient is needed; keep hard masks for selecting",
        )


def _casts_to_float(site: CallSite, ctx: Context) -> bool:
    if site.method in _FLOAT_CASTS:
        return True
    if site.method in ("to", "type") and site.node.args:
        dtype = site.argument(0, "dtype")
        return dtype is not None and ctx.qualname(dtype[0].value) in _FLOAT_DTYPES
    return site.method == "type_as"


def _deliberate(step: cst.CSTNode, subject: cst.CSTNode, ctx: Context, signs: bool = False) -> bool:
    """Whether the function uses the step (or what it computes from it) deliberately: inside a straight-through
    estimator, or meeting the inputs it steps on again, through which the gradient still flows (``x - x.floor()``,
    bilinear weights, ``x * (x > 0).float()``, interpolation between the grid points that ``floor`` found)."""
    statement = ctx.statement
    if statement is None:
        return False
    root = ctx.function.node if ctx.function.node is not None else statement
    names = _names_computed_from(step, statement, root)
    carriers = [step] + [node for node in walk(root) if isinstance(node, cst.Name) and node.value in names]
    inputs = variables_read(subject, ctx.qualname)

    def meets_inputs(operands: Iterable[cst.CSTNode]) -> bool:
        return any(
            not any(contains(operand, carrier) for carrier in carriers)
            and (inputs & variables_read(operand, ctx.qualname) or is_method_call(operand, *_DETACH))
            for operand in operands
        )

    for node in walk(root):
        if is_method_call(node, *_DETACH) and any(contains(node.func.value, carrier) for carrier in carriers):
            return True
        if isinstance(node, cst.BinaryOperation) and any(
            _operand_is(side, carrier) for side in (node.left, node.right) for carrier in carriers
        ):
            if signs and isinstance(node.operator, (cst.Multiply, cst.Divide)):
                return True  # a sign as a factor: the gradient flows through the magnitude it multiplies
            if meets_inputs(_operands(node)):
                return True
        if (
            isinstance(node, cst.Call)
            and len(node.args) > 1
            and any(contains(arg.value, carrier) for arg in node.args for carrier in carriers)
        ):
            if meets_inputs([arg.value for arg in node.args]):
                return True
    return any(
        any(contains(term, carrier) for term in terms for carrier in carriers)
        for terms in sums(root)
        if any(is_method_call(term, *_DETACH) for term in terms)
    )


def _names_computed_from(step: cst.CSTNode, statement: cst.CSTNode, root: cst.CSTNode) -> Set[str]:
    """The names bound to values computed with ``step`` (``zhat = z.round()``, ``i = floor(x) % 6``), and the names
    bound to values computed from those, through the function."""
    first = _bound_name(step, statement)
    if first is None:
        return set()
    names = {first}
    assignments = [node for node in walk(root) if isinstance(node, (cst.Assign, cst.AnnAssign))]
    for _ in range(8):
        grown = set(names)
        for assignment in assignments:
            if assignment.value is None or not names & variables_read(assignment.value, lambda _: None):
                continue
            targets = (
                [target.target for target in assignment.targets]
                if isinstance(assignment, cst.Assign)
                else [assignment.target]
            )
            grown.update(target.value for target in targets if isinstance(target, cst.Name))
        if grown == names:
            break
        names = grown
    return names


def _bound_name(step: cst.CSTNode, statement: cst.CSTNode) -> Optional[str]:
    """The name ``statement`` binds to a value computed with ``step``."""
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = statement.targets[0].target
    elif isinstance(statement, cst.AnnAssign) and statement.value is not None:
        target = statement.target
    else:
        return None
    return target.value if isinstance(target, cst.Name) and contains(statement.value, step) else None


def _operand_is(operand: cst.CSTNode, step: cst.CSTNode) -> bool:
    """``operand`` is ``step`` itself or ``step`` cast or viewed (``step.float()``, ``step.to(x)``)."""
    while True:
        if operand is step:
            return True
        if (
            isinstance(operand, cst.Call)
            and isinstance(operand.func, cst.Attribute)
            and (operand.func.attr.value in api.VIEW_METHODS)
        ):
            operand = operand.func.value
        elif isinstance(operand, cst.BinaryOperation) and isinstance(
            operand.operator, (cst.Add, cst.Subtract, cst.Multiply)
        ):
            return _operand_is(operand.left, step) or _operand_is(operand.right, step)
        else:
            return False


def _operands(operation: cst.BinaryOperation) -> Iterator[cst.CSTNode]:
    """The terms (or factors) of a chain of the same kind of arithmetic, parentheses looked through."""
    for side in (operation.left, operation.right):
        if isinstance(side, cst.BinaryOperation) and type(side.operator) is type(operation.operator):
            yield from _operands(side)
        else:
            yield side
