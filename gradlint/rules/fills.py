"""Fills with a differentiable value: ``torch.full``, ``full_like``, ``new_full``, ``fill_``."""

from __future__ import annotations

from gradlint.fixes.fills import FillByBroadcast
from gradlint.rules.base import Invalid, Rule

# Where the fill value is: (position, keyword), for functions called by name and for tensor methods.
_FUNCTIONS = {"torch.full": (1, "fill_value"), "torch.full_like": (1, "fill_value")}
_METHODS = {"new_full": (1, "fill_value"), "fill_": (0, "value")}


class DifferentiableFill(Rule):
    """A tensor filled with a value that carries a gradient.

    What it does:
        Reports `torch.full(size, v)`, `torch.full_like(x, v)`, `x.new_full(size, v)` and `x.fill_(v)` where
        the fill value `v` is computed from differentiable inputs (also when it went through `float()` or
        `.item()` on the way).

    Why it cuts gradients:
        The fill value is read as a number: the filled tensor is a constant (or, for a fill that requires
        grad, a `TypeError`). A structure factor filled from a differentiable default then carries no
        gradient back to it.

    When it is fine:
        Fills with constants and configuration numbers. To keep the gradient, broadcast instead:
        `v * torch.ones_like(x)` or `v.expand_as(x)`.
    """

    code = "GL090"
    name = "differentiable-fill"
    tokens = ("full", "fill_")
    autofix = FillByBroadcast()
    INVALID = [
        Invalid(
            """\
import torch

def structure_factors(h: torch.Tensor, default: torch.Tensor) -> torch.Tensor:
    return torch.full_like(h, float(default)) * h
""",
            line=4,
            column=12,
            fixed="""\
import torch

def structure_factors(h: torch.Tensor, default: torch.Tensor) -> torch.Tensor:
    return default * torch.ones_like(h)
""",
        ),
    ]

    def on_call(self, site, ctx):
        where = _FUNCTIONS.get(site.callee or "") or _METHODS.get(site.tensor_method or "")
        if where is None:
            return None
        found = site.argument(*where)
        if found is None:
            return None
        arg, value = found
        mark = ctx.report(
            self,
            site.node,
            receiver=ctx.precut(value),
            subject=arg.value,
            message="the fill value `{subject}` is read as a number: the filled tensor carries no gradient to it",
            fix="broadcast instead: `{subject} * torch.ones_like(x)` or `{subject}.expand_as(x)`",
        )
        return self.with_fix(mark, ctx, site, arg)
