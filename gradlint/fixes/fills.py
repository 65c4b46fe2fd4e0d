"""Fixes for fills with a differentiable value: broadcast the value over ones of the same shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from gradlint import lazy_cst as cst
from gradlint.fixes.base import FixKind, Offer, arguments_list, bare, keyword_arguments, operand, parent_of

if TYPE_CHECKING:
    from gradlint.analysis.context import CallSite, Context

_FACTORIES = {"torch.full": "ones", "torch.full_like": "ones_like"}
_OPTIONS = ("fill_value", "dtype", "device", "layout", "memory_format", "size")
_FLOATING = frozenset({"float16", "float32", "float64", "bfloat16", "half", "float", "double"})


class FillByBroadcast(FixKind):
    """`torch.full(size, v)` → `v * torch.ones(size)`; also `full_like` (`ones_like`) and `new_full` (`new_ones`).

    Fix safety:
        Safe for `torch.full` filled with a Python number from a conversion (`float(t)`, `t.item()`) and no
        dtype or a floating one: `v * torch.ones(...)` has exactly the values, dtype, shape and device of the
        fill. Unsafe otherwise: `full_like(x, v)` and `x.new_full(...)` take the dtype of `x`, and where that
        is an integer type the fill truncates `v` while the product does not; a tensor fill value on another
        device than the result would not broadcast. The conversion inside the fill keeps cutting the gradient
        until its own fix (GL010, GL012) is applied. `x.fill_(v)` gets no fix.
    """

    title = "Broadcast the fill value over ones"
    safe = True

    def offer(self, site: CallSite, fill: cst.Arg, ctx: Context) -> Optional[Offer]:
        call = site.node
        options = keyword_arguments(call, _OPTIONS)
        factory = _FACTORIES.get(site.callee or "") or ("new_ones" if site.tensor_method == "new_full" else None)
        if factory is None or options is None or not isinstance(call.func, cst.Attribute) or _integer(fill.value):
            return None
        kept = [arg for arg in call.args if arg is not fill]
        ones = bare(call).with_changes(func=call.func.with_changes(attr=cst.Name(factory)), args=arguments_list(kept))
        product = cst.BinaryOperation(operand(fill.value, cst.Multiply, left=True), cst.Multiply(), ones)
        dtype = next((arg.value for arg in options if arg.keyword.value == "dtype"), None)
        exact = (
            site.callee == "torch.full"
            and _is_conversion(fill.value, ctx)
            and (dtype is None or (isinstance(dtype, cst.Attribute) and dtype.attr.value in _FLOATING))
        )
        return self.make(call, product, parent_of(ctx.statement, call), safe=exact)


def _is_conversion(node: cst.BaseExpression, ctx: Context) -> bool:
    """``float(...)`` or ``....item()``: a Python number read from a tensor."""
    if not isinstance(node, cst.Call):
        return False
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "item" and not node.args:
        return True
    return ctx.qualname(node.func) == "float"


def _integer(node: cst.BaseExpression) -> bool:
    """An integer or boolean literal, or ``int(...)``: a fill whose type the product would change."""
    if isinstance(node, cst.Integer) or (isinstance(node, cst.Name) and node.value in ("True", "False")):
        return True
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "int"
