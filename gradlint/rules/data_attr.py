"""The ``.data`` attribute, read or written."""

from __future__ import annotations

from gradlint.analysis.values import COMPUTATION, tensor_like
from gradlint.fixes.data_attr import UseTensor
from gradlint.rules.base import Invalid, Rule, Valid


class DataRead(Rule):
    """Reading `.data` of a value that carries a gradient.

    What it does:
        Reports `t.data` where `t` is computed from differentiable inputs and the result goes on into
        computation, is returned, or is stored.

    Why it cuts gradients:
        `.data` is the tensor's storage without its autograd history, like `.detach()` but without the
        safety checks: in-place changes through it are invisible to autograd, so gradients can be silently
        wrong as well as missing. Anything computed from `t.data` gets no gradient.

    When it is fine:
        Old-style in-place parameter updates and initialisation (`p.data.mul_(0.9)`), which are better written
        with `torch.no_grad()`; reading values to log them (reported at low confidence).
    """

    code = "GL020"
    name = "data-read"
    tokens = (".data",)
    autofix = UseTensor()
    INVALID = [
        Invalid(
            """\
import torch

def project(reciprocal: torch.Tensor, hkl: torch.Tensor) -> torch.Tensor:
    return hkl @ reciprocal.data
""",
            line=4,
            column=18,
            fixed="""\
import torch

def project(reciprocal: torch.Tensor, hkl: torch.Tensor) -> torch.Tensor:
    return hkl @ reciprocal
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def decay(weights: torch.nn.Parameter) -> None:
    weights.data.mul_(0.9)
"""
        ),
    ]

    def on_attribute(self, node, base, ctx):
        if node.attr.value != "data" or (base.cls is not None and not base.module_instance):
            return None
        mark = ctx.report(
            self,
            node,
            receiver=tensor_like(base.sym),
            subject=node.value,
            message="`.data` hands out `{subject}` without its autograd history: its gradient stops here",
            fix="use `{subject}` itself, or `{subject}.detach()` where a stop-gradient is really meant",
        )
        return self.with_fix(mark, ctx, node)


class DataWrite(Rule):
    """Assigning a differentiable value to `.data`.

    What it does:
        Reports `t.data = value` where `value` is computed from differentiable inputs.

    Why it cuts gradients:
        Assigning to `.data` swaps the storage of `t` behind autograd's back: `t` takes the numbers of `value`
        but none of its history, so the parameters behind `value` get no gradient through `t`.

    When it is fine:
        Resetting a parameter to constants (`weight.data = torch.zeros(...)`), which is better written as
        `with torch.no_grad(): weight.copy_(...)`.
    """

    code = "GL021"
    name = "data-write"
    tokens = (".data",)
    INVALID = [
        Invalid(
            """\
import torch

class Crystal(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.orientation = torch.eye(3)

    def rotate(self, angles: torch.Tensor) -> None:
        self.orientation.data = torch.matrix_exp(angles)
""",
            line=9,
            column=9,
            fixed="""\
import torch

class Crystal(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.orientation = torch.eye(3)

    def rotate(self, angles: torch.Tensor) -> None:
        self.orientation = torch.matrix_exp(angles)
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def reset(weight: torch.nn.Parameter) -> None:
    weight.data = torch.zeros_like(weight)
"""
        ),
    ]

    def on_store(self, target, owner, value, source, ctx):
        if not hasattr(target, "attr") or target.attr.value != "data":
            return None
        return ctx.report(
            self,
            target,
            receiver=ctx.precut(value),
            subject=target.value,
            message="assigning to `{subject}.data` keeps the new values but drops their gradient",
            fix="build `{subject}` from the new value as a tensor expression instead of swapping its storage",
            use=COMPUTATION,
        )
