"""Fixes for NumPy functions applied to tensors: the torch function of the same name."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gradlint.fixes.base import FixKind, Offer, is_tensor, is_uncut, keyword_arguments, parent_of

# NumPy functions that torch has under the same name, with the same meaning for positional arguments.
UNARY = frozenset({
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "square", "abs", "absolute", "negative",
    "positive", "sign", "floor", "ceil", "trunc", "deg2rad", "rad2deg", "reciprocal", "sinc", "linalg.norm",
})
BINARY = frozenset({"arctan2", "hypot", "maximum", "minimum", "fmax", "fmin", "copysign"})


class TorchTwin(FixKind):
    """`np.cos(t)` → `torch.cos(t)`, for the NumPy functions torch has under the same name.

    Fix safety:
        Unsafe. On a tensor that requires grad, the NumPy call raises; on one that does not, it returns a
        tensor computed by NumPy, while the torch function computes on the tensor's device and with its own
        kernels, which may differ from NumPy's in the last bits. Offered for element-wise functions of one or
        two positional arguments (`np.cos`, `np.arctan2`, `np.maximum`...) and `np.linalg.norm` of one
        argument, when torch is imported in the file; a second argument that is not known to be a tensor is
        wrapped in `torch.as_tensor`.
    """

    title = "Use the torch function of the same name"
    safe = False

    def offer(self, site, ctx) -> Optional[Offer]:
        call = site.node
        name = (site.callee or "").partition(".")[2]
        torch = ctx.name_for("torch")
        arity = 1 if name in UNARY else 2 if name in BINARY else 0
        if (not (site.callee or "").startswith("numpy.") or torch is None or keyword_arguments(call, ()) is None
                or len(call.args) != arity or not all(is_uncut(value) for value in site.args)):
            return None
        args = []
        for arg, value in zip(call.args, site.args):
            if arity == 2 and not is_tensor(value, ctx):
                wrapped = cst.Call(func=cst.Attribute(value=cst.Name(torch), attr=cst.Name("as_tensor")),
                                   args=[cst.Arg(arg.value)])
                arg = arg.with_changes(value=wrapped)
            args.append(arg)
        func: cst.BaseExpression = cst.Name(torch)
        for part in name.split("."):
            func = cst.Attribute(value=func, attr=cst.Name(part))
        return self.make(call, call.with_changes(func=func, args=args), parent_of(ctx.statement, call))
