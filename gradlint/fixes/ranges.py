"""Fixes for ranges with differentiable ends: the same grid, computed from the ends with arithmetic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from gradlint import lazy_cst as cst
from gradlint.fixes.base import FixKind, Offer, argument, keyword_arguments, operand, parent_of, wrap

if TYPE_CHECKING:
    from gradlint.analysis.context import CallSite, Context

_GRID_OPTIONS = ("start", "end", "steps", "dtype", "device", "layout")


class GridFromEnds(FixKind):
    """`torch.linspace(a, b, n)` → `a + (b - a) * torch.linspace(0, 1, n)`.

    Fix safety:
        Unsafe. The grid has the same dtype, device and shape, and the same values up to rounding in the last
        bits (`linspace` computes its points another way). Offered when the start is a name, an attribute or
        a number (it is written twice, so it must not compute anything), and the call has no `out` or
        `requires_grad` argument.
    """

    title = "Build the grid from its ends with arithmetic"
    safe = False

    def offer(self, site: CallSite, ctx: Context) -> Optional[Offer]:
        call = site.node
        start, end, steps = (argument(call, position, name) for position, name in enumerate(_GRID_OPTIONS[:3]))
        options = keyword_arguments(call, _GRID_OPTIONS)
        if (
            site.callee != "torch.linspace"
            or start is None
            or end is None
            or steps is None
            or options is None
            or not isinstance(call.func, cst.Attribute)
            or not _plain(start.value)
        ):
            return None
        settings = [arg for arg in options if arg.keyword.value not in _GRID_OPTIONS[:3]]
        unit = cst.Call(
            func=call.func, args=[cst.Arg(cst.Integer("0")), cst.Arg(cst.Integer("1")), cst.Arg(steps.value), *settings]
        )
        unit = unit.with_changes(args=[arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in unit.args])
        width = cst.BinaryOperation(
            operand(end.value, cst.Subtract, left=True), cst.Subtract(), operand(start.value, cst.Subtract, left=False)
        )
        scaled = cst.BinaryOperation(wrap(width), cst.Multiply(), unit)
        grid = cst.BinaryOperation(operand(start.value, cst.Add, left=True), cst.Add(), scaled)
        return self.make(call, grid, parent_of(ctx.statement, call))


def _plain(node: cst.BaseExpression) -> bool:
    """A name, an attribute of one, or a number: an expression that computes nothing."""
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, cst.Minus) and _plain(node.expression)
    if isinstance(node, cst.Attribute):
        return _plain(node.value)
    return isinstance(node, (cst.Name, cst.Integer, cst.Float))
