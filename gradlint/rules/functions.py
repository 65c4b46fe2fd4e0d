"""Custom autograd functions: a `torch.autograd.Function` defines its own gradient, and can define none."""

from __future__ import annotations

from gradlint import lazy_cst as cst
from gradlint.analysis import torch_api as api
from gradlint.analysis.values import strongest, tensor_like
from gradlint.findings import Confidence
from gradlint.rules.base import Invalid, Rule, Valid
from gradlint.rules.syntax import walk


class FunctionWithoutGradient(Rule):
    """A custom autograd function applied to differentiable values whose `backward` returns no gradient.

    What it does:
        Reports `F.apply(x, ...)` where `F` is a `torch.autograd.Function` of the same file whose `backward`
        returns nothing (a bare `return`, `return None`, or no `return` at all) and `x` carries a gradient.

    Why it cuts gradients:
        Autograd calls the function's own `backward` for the gradient of its inputs: a `backward` that returns
        `None` gives every input no gradient, silently. It often happens to a `backward` left unfinished (the
        gradient computed into a local and never returned).

    When it is fine:
        Functions meant as stop-gradients on all their inputs, which are clearer as `.detach()`.
    """

    code = "GL140"
    name = "function-without-gradient"
    tokens = ("apply(",)
    fixed_elsewhere = True  # reported where the function is applied, mended in its backward
    INVALID = [
        Invalid(
            """\
import torch

class Gather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features):
        return features.clone()

    @staticmethod
    def backward(ctx, grad):
        result = grad.clone()
        return

def gathered(features: torch.Tensor) -> torch.Tensor:
    return Gather.apply(features).sum()
""",
            line=14,
            column=12,
            confidence=Confidence.MEDIUM,
            fixed="""\
import torch

class Gather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features):
        return features.clone()

    @staticmethod
    def backward(ctx, grad):
        result = grad.clone()
        return result

def gathered(features: torch.Tensor) -> torch.Tensor:
    return Gather.apply(features).sum()
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

class Clip(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clamp(-1, 1)

    @staticmethod
    def backward(ctx, grad):
        return grad

def clipped(x: torch.Tensor) -> torch.Tensor:
    return Clip.apply(x) * 2
"""
        ),
    ]

    def on_call(self, site, ctx):
        if not site.args or not isinstance(site.node.func, cst.Attribute) or site.node.func.attr.value != "apply":
            return None
        info = ctx.class_info(ctx.qualname(site.node.func.value))
        if info is None or not any(base in api.CUSTOM_FUNCTION_BASES for base in info.bases):
            return None
        backward = info.methods.get("backward")
        if backward is None or not _returns_nothing(backward.node):
            return None
        return ctx.report(
            self,
            site.node,
            receiver=tensor_like(strongest(value.sym for value in site.args)),
            subject=site.node.func.value,
            message="`{subject}.backward` returns no gradient: nothing computed through it reaches its inputs",
            fix="return the gradient of each input from `backward` (`None` only for inputs without one)",
        )


def _returns_nothing(function: cst.FunctionDef) -> bool:
    """Whether every return of ``function`` (not of functions nested in it) returns nothing."""
    for node in walk(function.body):
        if (
            isinstance(node, cst.Return)
            and node.value is not None
            and not (isinstance(node.value, cst.Name) and node.value.value == "None")
        ):
            return False
    return True
