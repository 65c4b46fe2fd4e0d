"""Fixes for NumPy and ``math`` functions applied to tensors: the torch function that computes the same."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Dict, Optional

from gradlint import lazy_cst as cst
from gradlint.fixes.base import FixKind, Offer, is_tensor, is_uncut, keyword_arguments, parent_of

if TYPE_CHECKING:
    from gradlint.analysis.context import CallSite, Context

_NUMPY_UNARY = tuple(
    (
        "sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh exp exp2 expm1 log log2 log10 log1p "
        "sqrt square abs absolute negative positive sign floor ceil trunc deg2rad rad2deg reciprocal sinc linalg.norm"
    ).split()
)
_NUMPY_BINARY = ("arctan2", "hypot", "maximum", "minimum", "fmax", "fmin", "copysign")
_MATH_UNARY = tuple(
    (
        "sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh exp expm1 log log2 log10 log1p sqrt erf erfc "
        "lgamma"
    ).split()
)
_MATH_BINARY = ("atan2", "hypot", "copysign", "pow")


class TorchTwin(FixKind):
    """`np.cos(t)` → `torch.cos(t)`, for the NumPy functions torch has under the same name.

    Fix safety:
        Unsafe. On a tensor that requires grad, the NumPy call raises; on one that does not, it returns a
        tensor computed by NumPy, while the torch function computes on the tensor's device and with its own
        kernels, which may differ from NumPy's in the last bits. Offered for element-wise functions of one or
        two positional arguments (`np.cos`, `np.arctan2`, `np.maximum`...) and `np.linalg.norm` of one
        argument, when torch is imported in the file; an argument that is not known to be a tensor (a Python
        number, a value from another file) is wrapped in `torch.as_tensor`.
    """

    title = "Use the torch function of the same name"
    safe = False
    module: ClassVar[str] = "numpy"
    # Function (after the module) -> (the torch function, how many positional arguments).
    twins: ClassVar[Dict[str, tuple]] = {
        **{name: (name, 1) for name in _NUMPY_UNARY},
        **{name: (name, 2) for name in _NUMPY_BINARY},
    }

    def offer(self, site: CallSite, ctx: Context) -> Optional[Offer]:
        call = site.node
        module, _, name = (site.callee or "").partition(".")
        twin, arity = self.twins.get(name, (None, 0)) if module == self.module else (None, 0)
        torch = ctx.name_for("torch")
        if (
            twin is None
            or torch is None
            or keyword_arguments(call, ()) is None
            or len(call.args) != arity
            or not all(is_uncut(value) for value in site.args)
        ):
            return None
        args = []
        for arg, value in zip(call.args, site.args):
            if not is_tensor(value, ctx):
                wrapped = cst.Call(
                    func=cst.Attribute(value=cst.Name(torch), attr=cst.Name("as_tensor")), args=[cst.Arg(arg.value)]
                )
                arg = arg.with_changes(value=wrapped)
            args.append(arg)
        func: cst.BaseExpression = cst.Name(torch)
        for part in twin.split("."):
            func = cst.Attribute(value=func, attr=cst.Name(part))
        return self.make(call, call.with_changes(func=func, args=args), parent_of(ctx.statement, call))


class MathTwin(TorchTwin):
    """`math.cos(t)` → `torch.cos(t)`; `math.radians(t)` → `torch.deg2rad(t)`, `math.degrees` → `torch.rad2deg`.

    Fix safety:
        Unsafe. The `math` function returns a Python float computed in double precision; the torch function
        returns a tensor computed in the tensor's dtype, on its device: the values may differ beyond the last
        bits of a float32 tensor, and code further on that expects a float (formatting, `isinstance`)
        receives a tensor. Offered for the functions of one or two positional arguments that torch has
        (`cos`, `exp`, `sqrt`, `atan2`, `hypot`...), not for `floor`, `ceil` and `trunc`, which `math` makes
        integers; an argument that is not known to be a tensor is wrapped in `torch.as_tensor`.
    """

    title = "Use the torch function that computes the same"
    module = "math"
    twins = {
        **{name: (name, 1) for name in _MATH_UNARY},
        **{name: (name, 2) for name in _MATH_BINARY},
        "radians": ("deg2rad", 1),
        "degrees": ("rad2deg", 1),
        "fabs": ("abs", 1),
    }
