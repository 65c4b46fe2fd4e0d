"""Tensors built from differentiable values by constructors that copy: ``torch.tensor`` and relatives."""

from __future__ import annotations

from gradlint import lazy_cst as cst
from gradlint.analysis.values import strongest
from gradlint.fixes.construct import DifferentiableCopy, NewTensorCopy, StackElements
from gradlint.rules.base import Invalid, Rule, Valid

_COPYING_CONSTRUCTORS = frozenset(
    {"torch.tensor", "torch.Tensor", "torch.FloatTensor", "torch.DoubleTensor", "torch.HalfTensor",
     "torch.BFloat16Tensor"}
)
_LIST_CONSTRUCTORS = _COPYING_CONSTRUCTORS | {"torch.as_tensor", "torch.asarray"}


def _first_argument(site):
    return (site.node.args[0].value, site.args[0]) if site.args and site.node.args[0].keyword is None else None


class TensorOfTensor(Rule):
    """`torch.tensor(t)` (or `torch.Tensor(t)`) of a value that carries a gradient.

    What it does:
        Reports `torch.tensor(t)`, `torch.Tensor(t)` and the typed constructors (`torch.FloatTensor(t)`...)
        applied to a tensor computed from differentiable inputs.

    Why it cuts gradients:
        `torch.tensor` always copies its data into a new leaf tensor with no autograd history (PyTorch warns
        about it for tensor arguments). The copy is a constant: the parameters behind `t` get no gradient
        through it.

    When it is fine:
        Building tensors from Python data, constants and configuration values.
    """

    code = "GL040"
    name = "tensor-of-tensor"
    tokens = ("tensor(", "Tensor(")
    autofix = DifferentiableCopy()
    INVALID = [
        Invalid(
            """\
import torch

def to_double(cell: torch.Tensor) -> torch.Tensor:
    return torch.tensor(cell, dtype=torch.float64) * 2
""",
            line=4,
            column=12,
            fixed="""\
import torch

def to_double(cell: torch.Tensor) -> torch.Tensor:
    return cell.to(torch.float64) * 2
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def default_cell() -> torch.Tensor:
    return torch.tensor([100.0, 100.0, 100.0], requires_grad=True)
"""
        ),
    ]

    def on_call(self, site, ctx):
        first = _first_argument(site)
        if site.callee not in _COPYING_CONSTRUCTORS or first is None:
            return None
        node, value = first
        if isinstance(node, (cst.List, cst.Tuple)):
            return None
        mark = ctx.report(
            self,
            site.node,
            receiver=ctx.precut(value),
            subject=node,
            message=f"`{site.callee}({{subject}})` copies the values into a new tensor without their gradient",
            fix="use `{subject}` itself, `{subject}.to(dtype=..., device=...)` to convert, or `.clone()` to copy",
        )
        return self.with_fix(mark, ctx, site)


class TensorFromList(Rule):
    """A tensor built from a list whose elements carry gradients.

    What it does:
        Reports `torch.tensor([a, b, c])`, `torch.as_tensor([a, b])` and the typed constructors applied to a
        list or tuple display with an element computed from differentiable inputs.

    Why it cuts gradients:
        The constructor reads each element as a number and copies it into a new leaf tensor: the result has
        no autograd history, silently. The usual case is a vector assembled from components
        (`torch.tensor([ax, ay, az])`), which `torch.stack` builds with the gradient intact.

    When it is fine:
        Lists of Python numbers and constants.
    """

    code = "GL041"
    name = "tensor-from-list"
    tokens = ("tensor(", "Tensor(")
    autofix = StackElements()
    INVALID = [
        Invalid(
            """\
import torch

def axis(alpha: torch.Tensor) -> torch.Tensor:
    return torch.tensor([torch.cos(alpha), torch.sin(alpha), 0.0]) * alpha
""",
            line=4,
            column=12,
            fixed="""\
import torch

def axis(alpha: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.cos(alpha), torch.sin(alpha), torch.zeros_like(alpha)]) * alpha
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def origin() -> torch.Tensor:
    return torch.tensor([0.0, 0.0, 1.0])
"""
        ),
    ]

    def on_call(self, site, ctx):
        first = _first_argument(site)
        if site.callee not in _LIST_CONSTRUCTORS or first is None:
            return None
        node, value = first
        if not isinstance(node, (cst.List, cst.Tuple)) or value.items is None:
            return None
        mark = ctx.report(
            self,
            site.node,
            receiver=strongest(ctx.precut(item) for item in value.items),
            subject=node,
            message=f"`{site.callee}` of a list copies its elements as numbers: their gradients stop here",
            fix="assemble the tensor with `torch.stack([...])` (or `torch.cat`) to keep the gradients",
        )
        return self.with_fix(mark, ctx, site)


class NewTensorOfTensor(Rule):
    """`x.new_tensor(t)` of a value that carries a gradient.

    What it does:
        Reports `x.new_tensor(t)` where `t` is computed from differentiable inputs.

    Why it cuts gradients:
        `new_tensor` copies `t` into a new leaf tensor with `x`'s dtype and device, with no autograd history,
        just like `torch.tensor(t)`.

    When it is fine:
        Python data and constants (`x.new_tensor([0.0, 1.0])`).
    """

    code = "GL042"
    name = "new-tensor-of-tensor"
    tokens = ("new_tensor",)
    autofix = NewTensorCopy()
    INVALID = [
        Invalid(
            """\
import torch

def like(reference: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    return reference * reference.new_tensor(value)
""",
            line=4,
            column=24,
            fixed="""\
import torch

def like(reference: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    return reference * value.to(reference)
""",
        ),
    ]

    def on_call(self, site, ctx):
        if site.tensor_method != "new_tensor" or not site.args:
            return None
        node = site.node.args[0].value
        value = site.args[0]
        receiver = strongest(ctx.precut(item) for item in value.items) if value.items else ctx.precut(value)
        mark = ctx.report(
            self,
            site.node,
            receiver=receiver,
            subject=node,
            message="`new_tensor({subject})` copies the values into a new tensor without their gradient",
            fix="use `{subject}.to(other)` to match another tensor's dtype and device, or `torch.stack` for lists",
        )
        return self.with_fix(mark, ctx, site)
