"""Tensors built from differentiable values by constructors that copy: ``torch.tensor`` and relatives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradlint import lazy_cst as cst
from gradlint.analysis.values import strongest
from gradlint.fixes.construct import DifferentiableCopy, NewTensorCopy, StackElements
from gradlint.rules.base import Invalid, Rule, Valid
from gradlint.rules.syntax import binding

if TYPE_CHECKING:
    from gradlint.analysis.context import Context

_COPYING_CONSTRUCTORS = frozenset(
    {
        "torch.tensor",
        "torch.Tensor",
        "torch.FloatTensor",
        "torch.DoubleTensor",
        "torch.HalfTensor",
        "torch.BFloat16Tensor",
    }
)
_LIST_CONSTRUCTORS = _COPYING_CONSTRUCTORS | {"torch.as_tensor", "torch.asarray"}


def _first_argument(site):
    return (site.node.args[0].value, site.args[0]) if site.args and site.node.args[0].keyword is None else None


def _is_list(node: cst.BaseExpression, ctx: Context) -> bool:
    """A list or tuple display, or a name this function binds to a list (filled later by appends or ``+=``)."""
    if isinstance(node, (cst.List, cst.Tuple)):
        return True
    function = ctx.function.node
    if not isinstance(node, cst.Name) or function is None:
        return False
    bound = binding(node.value, function)
    return isinstance(bound, (cst.List, cst.Tuple, cst.ListComp)) or (
        isinstance(bound, cst.Call) and ctx.qualname(bound.func) in ("list", "tuple")
    )


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
        if _is_list(node, ctx):
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
        list or tuple display with an element computed from differentiable inputs, or to a list the function
        fills with such values (`xs.append(t)`, `xs += [t]`, a list comprehension).

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
        Invalid(
            """\
import torch

def balance_loss(gate_scores: torch.Tensor, weight: float) -> torch.Tensor:
    losses = []
    for scores in gate_scores:
        losses.append(scores.pow(2).mean())
    return torch.as_tensor(losses).mean() * weight
""",
            line=7,
            column=12,
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
        if not _is_list(node, ctx):
            return None
        items = value.items if value.items is not None else (value,)
        mark = ctx.report(
            self,
            site.node,
            receiver=strongest(ctx.precut(item) for item in items),
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


class AsarrayWithoutGrad(Rule):
    """`torch.asarray(t)` of a value that carries a gradient, without `requires_grad=True`.

    What it does:
        Reports `torch.asarray(t)` and `torch.asarray(t, requires_grad=False)` where `t` is a tensor computed
        from differentiable inputs (lists are GL041's).

    Why it cuts gradients:
        With `requires_grad=False`, `asarray` returns `t`'s values without their autograd history. Without the
        keyword it depends on the PyTorch release: up to the releases that documented `requires_grad=False` as
        the default it drops the history too (and may switch off `requires_grad` of the very tensor it
        aliases); newer releases infer it from `t` and keep the history. Code that must run on both loses the
        gradient on the older ones.

    When it is fine:
        Converting NumPy arrays, buffers and Python data. To convert a tensor's dtype or device and keep its
        gradient on every release, use `torch.as_tensor(t, ...)` or `t.to(...)`.
    """

    code = "GL043"
    name = "asarray-without-grad"
    tokens = ("asarray",)
    INVALID = [
        Invalid(
            """\
import torch

def promote(q: torch.Tensor) -> torch.Tensor:
    return torch.asarray(q, dtype=torch.float64) * 2
""",
            line=4,
            column=12,
            fixed="""\
import torch

def promote(q: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(q, dtype=torch.float64) * 2
""",
        ),
        Invalid(
            """\
import torch

def promote(q: torch.Tensor) -> torch.Tensor:
    return torch.asarray(q, requires_grad=False) * 2
""",
            line=4,
            column=12,
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def promote(q: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(q, dtype=torch.float64) * 2
"""
        ),
        Valid(
            """\
import numpy as np
import torch

def load(values: np.ndarray) -> torch.Tensor:
    return torch.asarray(values, dtype=torch.float32)
"""
        ),
    ]

    def on_call(self, site, ctx):
        first = _first_argument(site)
        if site.callee != "torch.asarray" or first is None or isinstance(first[0], (cst.List, cst.Tuple)):
            return None
        switch = site.argument(None, "requires_grad")
        if switch is not None and not (isinstance(switch[0].value, cst.Name) and switch[0].value.value == "False"):
            return None
        node, value = first
        when = "" if switch is not None else " on PyTorch releases whose `asarray` defaults to `requires_grad=False`"
        return ctx.report(
            self,
            site.node,
            receiver=ctx.precut(value),
            subject=node,
            message=f"`torch.asarray({{subject}})` returns the values without their gradient{when}",
            fix="use `torch.as_tensor({subject}, ...)` or `{subject}.to(...)`, which keep the gradient",
        )
