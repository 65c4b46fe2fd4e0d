"""Casts that drop the gradient: integer and bool dtypes, ``requires_grad`` switched off."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradlint import lazy_cst as cst
from gradlint.analysis.values import COMPUTATION, MEDIUM, Sym, strongest
from gradlint.rules.base import Invalid, Rule, TensorMethodRule, Valid

if TYPE_CHECKING:
    from gradlint.analysis.context import CallSite


class IntegerCast(TensorMethodRule):
    """A cast to an integer or bool dtype of a value that carries a gradient.

    What it does:
        Reports `.long()`, `.int()`, `.short()`, `.byte()`, `.char()`, `.bool()`, `.to(torch.int64)`,
        `.to(dtype=torch.long)` and `.type(torch.LongTensor)` on a tensor computed from differentiable inputs
        when the result goes on into computation, is returned, or is stored.

    Why it cuts gradients:
        Integer and bool tensors cannot require grad: the cast returns a tensor with no autograd history, and
        arithmetic on it afterwards is a constant to autograd (a rounded value also has a zero derivative).

    When it is fine:
        Indices for lookups and gathers, masks, counts and shapes (reported at low confidence, hidden by
        default): the gradient there is meant to go through the looked-up values, not the index.
    """

    code = "GL070"
    name = "integer-cast"
    tokens = (".long(", ".int(", ".short(", ".byte(", ".char(", ".bool(", ".to(", ".type(")
    message = "`.{method}(...)` casts `{subject}` to an integer dtype: its gradient stops here"
    fix = "keep a floating dtype for values that need a gradient; cast only indices"
    INVALID = [
        Invalid(
            """\
import torch

def scaled(offset: torch.Tensor, pixel_size: torch.Tensor) -> torch.Tensor:
    pixels = (offset / pixel_size).long()
    return pixels * pixel_size
""",
            line=4,
            column=14,
            fixed="""\
import torch

def scaled(offset: torch.Tensor, pixel_size: torch.Tensor) -> torch.Tensor:
    pixels = offset / pixel_size
    snapped = pixels + (pixels.round() - pixels).detach()
    return snapped * pixel_size
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def lookup(table: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    index = torch.round(h).long()
    return table[index] * h
"""
        ),
    ]

    def applies(self, site: CallSite) -> bool:
        return site.tensor_method is not None and site.casts_to_integer


class RequiresGradOff(Rule):
    """`requires_grad_(False)` or `requires_grad = False` on a computed value or on a tensor the caller passed.

    What it does:
        Reports `t.requires_grad_(False)` and `t.requires_grad = False` where `t` is computed from
        differentiable inputs, or is a parameter of the function (a tensor the caller passed in) that the
        function goes on to compute with or returns.

    Why it cuts gradients:
        Switching `requires_grad` off is only allowed on leaf tensors; on a computed tensor PyTorch raises, and
        code that gets around it (by detaching first) silently cuts the gradient of everything upstream. On a
        leaf the caller passed in (the parameter a fit optimises), it switches the caller's tensor off in place:
        nothing computed from it afterwards, here or in the caller, gives it a gradient.

    When it is fine:
        Freezing parameters (leaves) for fine-tuning: `for p in model.parameters(): p.requires_grad_(False)`,
        `model.requires_grad_(False)`, and helpers that only freeze what they are given (reported at low
        confidence, hidden by default).
    """

    code = "GL071"
    name = "requires-grad-off"
    tokens = ("requires_grad",)
    INVALID = [
        Invalid(
            """\
import torch

def beam_direction(angles: torch.Tensor) -> torch.Tensor:
    direction = torch.stack([torch.cos(angles), torch.sin(angles)])
    direction.requires_grad_(False)
    return direction
""",
            line=5,
            column=5,
            fixed="""\
import torch

def beam_direction(angles: torch.Tensor) -> torch.Tensor:
    direction = torch.stack([torch.cos(angles), torch.sin(angles)])
    return direction
""",
        ),
        Invalid(
            """\
import torch

def render(scene, pixels: torch.Tensor) -> torch.Tensor:
    scene.requires_grad = False
    return pixels * scene
""",
            line=4,
            column=5,
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def freeze(model: torch.nn.Module) -> None:
    for parameter in model.parameters():
        parameter.requires_grad_(False)
"""
        ),
        Valid(
            """\
def freeze(backbone) -> None:
    backbone.requires_grad_(False)
"""
        ),
    ]

    def on_call(self, site, ctx):
        if site.tensor_method != "requires_grad_" or not site.node.args or not _is_false(site.node.args[0].value):
            return None
        return self._report(site.node, site.node.func.value, site.receiver, ctx)

    def on_store(self, target, owner, value, source, ctx):
        if not isinstance(target, cst.Attribute) or target.attr.value != "requires_grad" or not _is_false(source):
            return None
        return self._report(target, target.value, owner, ctx)

    def _report(self, node, subject, value, ctx):
        if value.derived:
            receiver, use, whose = value.sym, COMPUTATION, "the computed value"
        elif ctx.received(value):
            receiver, use, whose = strongest((value.sym, Sym(MEDIUM, chain=(node,)))), None, "the caller's tensor"
        else:
            return None
        return ctx.report(
            self,
            node,
            receiver=receiver,
            subject=subject,
            message=f"switching off `requires_grad` on {whose} `{{subject}}` cuts its gradient",
            fix="leave `requires_grad` alone on computed values and on tensors you were given; freeze parameters "
            "where they are owned",
            use=use,
        )


def _is_false(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"
