"""Fixes for ``.data`` read in computation: the tensor itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from gradlint import lazy_cst as cst
from gradlint.fixes.base import UNSAFE, FixKind, Offer, parent_of

if TYPE_CHECKING:
    from gradlint.analysis.context import Context


class UseTensor(FixKind):
    """`t.data` → `t`.

    Fix safety:
        Safe where the value goes on into computation: `t.data` and `t` hold the same values with the same
        type, and the fixed code reads `t` through autograd, so the gradient reaches what `t` was computed
        from. Unsafe where the value is returned or stored: it now carries its graph to code the analysis
        cannot see, and a caller that keeps it across iterations would backpropagate through a freed graph.
        Never offered for `t.data` written to, indexed for a write or changed in place (`t.data.mul_(...)`),
        where `.data` is how the code avoids autograd on purpose.
    """

    title = "Use the tensor instead of its `.data`"
    safe = True

    def offer(self, node: cst.Attribute, ctx: Context) -> Optional[Offer]:
        statement = ctx.statement
        parent = parent_of(statement, node)
        if isinstance(parent, cst.Attribute) and parent.attr.value.endswith("_"):
            return None
        if statement is None or _written(statement, node):
            return None
        return self.make(node, node.value, parent, outside_computation=UNSAFE)


def _written(statement: cst.CSTNode, node: cst.CSTNode) -> bool:
    """Whether ``node`` lies in a target of ``statement`` (assigned, augmented, deleted)."""
    targets = []
    if isinstance(statement, cst.Assign):
        targets = [target.target for target in statement.targets]
    elif isinstance(statement, (cst.AugAssign, cst.AnnAssign, cst.Del)):
        targets = [statement.target]
    return any(target is node or parent_of(target, node) is not None for target in targets)
