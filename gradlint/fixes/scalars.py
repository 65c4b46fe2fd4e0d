"""Fixes for Python numbers taken from tensors: keep the tensor where the number is an operand of arithmetic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from gradlint import lazy_cst as cst
from gradlint.fixes.base import DROP, FixKind, Offer, parent_of

if TYPE_CHECKING:
    from gradlint.analysis.context import CallSite, Context


class KeepTensor(FixKind):
    """`t.item()`, `float(t)` → `t` where the number is an operand of arithmetic that feeds computation.

    Fix safety:
        Unsafe. The operand becomes a 0-dim tensor instead of a Python number: the arithmetic computes the
        same values on floating-point tensors, but a tensor of shape `(1,)` broadcasts to one more dimension
        than a number would, an integer tensor operand may be promoted differently, and code further on that
        expects a Python number (string formatting, `math`, NumPy) receives a tensor. Offered only where the
        number is directly an operand of `+`, `-`, `*`, `/` or `**` and the analysis finds that the result
        goes on into computation.
    """

    title = "Keep the tensor instead of a Python number"
    safe = False

    def offer(self, site: CallSite, ctx: Context) -> Optional[Offer]:
        call = site.node
        if site.tensor_method == "item" and not call.args and isinstance(call.func, cst.Attribute):
            tensor = call.func.value
        elif site.callee == "float" and len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star:
            tensor = call.args[0].value
        else:
            return None
        parent = parent_of(ctx.statement, call)
        arithmetic = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.Power)
        is_operand = (isinstance(parent, cst.BinaryOperation) and isinstance(parent.operator, arithmetic)) or (
            isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Minus)
        )
        if not is_operand:
            return None
        return self.make(call, tensor, parent, outside_computation=DROP)
