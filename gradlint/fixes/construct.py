"""Fixes for tensors built by copying constructors: ``torch.stack`` for displays, a differentiable copy for tensors."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence

from gradlint import lazy_cst as cst
from gradlint.analysis.values import Value
from gradlint.fixes.base import (
    FixKind,
    Offer,
    arguments_list,
    is_tensor,
    is_uncut,
    keyword,
    keyword_arguments,
    parent_of,
    positional,
    precedence,
    wrap,
)

if TYPE_CHECKING:
    from gradlint.analysis.context import CallSite, Context

_CONVERSIONS = ("dtype", "device")


def torch_base(call: cst.Call, ctx: Context) -> Optional[cst.BaseExpression]:
    """How this file names torch: the base of ``torch.tensor`` in ``call`` itself, else an imported name."""
    func = call.func
    if isinstance(func, cst.Attribute) and ctx.qualname(func.value) == "torch":
        return func.value
    name = ctx.name_for("torch")
    return cst.Name(name) if name is not None else None


def stacked(display: cst.BaseExpression, value: Value, torch: cst.BaseExpression, ctx: Context) -> Optional[cst.Call]:
    """``torch.stack([...])`` of a list or tuple display, nested displays stacked in turn; elements not known
    to be tensors go through ``torch.as_tensor`` (which returns a tensor itself). None when an element was cut
    on the way (its own fix comes first) or the display cannot be followed."""
    if not isinstance(display, (cst.List, cst.Tuple)) or value.items is None:
        return None
    elements = display.elements
    if not elements or len(elements) != len(value.items) or any(isinstance(e, cst.StarredElement) for e in elements):
        return None
    rebuilt: List[cst.Element] = []
    for element, item in zip(elements, value.items):
        inner = element.value
        if isinstance(inner, (cst.List, cst.Tuple)):
            inner = stacked(inner, item, torch, ctx)
            if inner is None:
                return None
        elif not is_tensor(item, ctx):
            if not is_uncut(item):
                return None
            inner = cst.Call(func=cst.Attribute(value=torch, attr=cst.Name("as_tensor")), args=[cst.Arg(inner)])
        rebuilt.append(element.with_changes(value=inner))
    return cst.Call(
        func=cst.Attribute(value=torch, attr=cst.Name("stack")), args=[cst.Arg(display.with_changes(elements=rebuilt))]
    )


def stacked_call(call: cst.Call, value: Value, torch: cst.BaseExpression, ctx: Context) -> Optional[cst.Call]:
    """``call`` (whose one positional argument is a display) as ``torch.stack`` of that display, keeping the
    argument's own spacing and comments."""
    stack = stacked(call.args[0].value, value, torch, ctx)
    if stack is None:
        return None
    first = call.args[0].with_changes(value=stack.args[0].value)
    return stack.with_changes(args=arguments_list([first]), whitespace_before_args=call.whitespace_before_args)


def to(tensor: cst.BaseExpression, args: Sequence[cst.Arg]) -> cst.BaseExpression:
    """``tensor.to(args)``; ``tensor`` itself when there are no arguments."""
    if not args:
        return tensor
    return cst.Call(func=cst.Attribute(value=receiver(tensor), attr=cst.Name("to")), args=arguments_list(args))


def receiver(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` as the object of an attribute access."""
    return node if precedence(node) == 20 else wrap(node)


class StackElements(FixKind):
    """`torch.tensor([a, b])`, `torch.as_tensor([...])` → `torch.stack([a, b])`.

    Fix safety:
        Unsafe. The stack has the same values and, with the `dtype` and `device` arguments kept as
        `.to(...)`, the same type; but `torch.tensor` reads every element as a number, so elements of shape
        `(1,)` give a result of shape `(n,)` where `torch.stack` gives `(n, 1)`. Elements that are not known
        to be tensors (Python numbers, values from other files) are wrapped in `torch.as_tensor`. There is no
        fix while an element is itself cut (its own fix comes first), or when the call has other arguments
        (`requires_grad`, `pin_memory`).
    """

    title = "Build the tensor with `torch.stack`"
    safe = False

    def offer(self, site: CallSite, ctx: Context) -> Optional[Offer]:
        call = site.node
        conversions = keyword_arguments(call, _CONVERSIONS)
        torch = torch_base(call, ctx)
        if conversions is None or torch is None or len(positional(call)) != 1:
            return None
        stack = stacked_call(call, site.args[0], torch, ctx)
        if stack is None:
            return None
        return self.make(call, to(stack, conversions), parent_of(ctx.statement, call))


class NewTensorCopy(FixKind):
    """`x.new_tensor([a, b])` → `torch.stack([a, b]).to(x)`; `x.new_tensor(t)` → `t.to(x, copy=True)`.

    Fix safety:
        Unsafe for a list or tuple, for the reason given for GL041's fix (elements of shape `(1,)`). Safe for
        a tensor: `t.to(x, copy=True)` is a copy with `x`'s dtype and device, as `new_tensor` makes, that
        keeps the gradient. A `dtype` or `device` argument is applied after, as `.to(...)`.
    """

    title = "Copy with `.to(...)`, which keeps the gradient"
    safe = True

    def offer(self, site: CallSite, ctx: Context) -> Optional[Offer]:
        call = site.node
        conversions = keyword_arguments(call, _CONVERSIONS)
        if conversions is None or len(positional(call)) != 1 or not isinstance(call.func, cst.Attribute):
            return None
        like = cst.Arg(call.func.value)
        data, value = call.args[0].value, site.args[0]
        parent = parent_of(ctx.statement, call)
        if isinstance(data, (cst.List, cst.Tuple)):
            name = ctx.name_for("torch")
            stack = stacked_call(call, value, cst.Name(name), ctx) if name is not None else None
            if stack is None:
                return None
            return self.make(call, to(to(stack, [like]), conversions), parent, title=StackElements.title, safe=False)
        if not is_uncut(value) or value.items is not None or value.cls is not None:
            return None
        return self.make(call, to(to(data, [like, keyword("copy", cst.Name("True"))]), conversions), parent)


class DifferentiableCopy(FixKind):
    """`torch.tensor(t)` → `t.clone()`; with `dtype` or `device`, `t.to(dtype=..., device=..., copy=True)`.

    Fix safety:
        Safe. Like `torch.tensor(t)`, the result is a new tensor with the values, dtype and device of `t`
        (or the ones asked for), and it now keeps the gradient. There is no fix when `t` was cut on the way
        (a NumPy array, a detached tensor), is a list, or when the call asks for `requires_grad` or
        `pin_memory`: a new leaf may be what is meant there.
    """

    title = "Copy with `.clone()`, which keeps the gradient"
    safe = True

    def offer(self, site: CallSite, ctx: Context) -> Optional[Offer]:
        call = site.node
        conversions = keyword_arguments(call, _CONVERSIONS)
        if site.callee != "torch.tensor" or conversions is None or len(positional(call)) != 1:
            return None
        value = site.args[0]
        if not is_uncut(value) or value.items is not None or value.cls is not None:
            return None
        data = call.args[0].value
        if conversions:
            copy = to(data, [*conversions, keyword("copy", cst.Name("True"))])
        else:
            copy = cst.Call(func=cst.Attribute(value=receiver(data), attr=cst.Name("clone")))
        return self.make(call, copy, parent_of(ctx.statement, call))
