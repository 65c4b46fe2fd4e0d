"""Parameters made the wrong way: a new leaf in place of a tensor that requires grad, a Parameter never registered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Optional

from gradlint import lazy_cst as cst
from gradlint.analysis import torch_api as api
from gradlint.analysis.values import ESCAPES, HIGH, Sym
from gradlint.rules.base import Invalid, Rule, Valid
from gradlint.rules.syntax import dotted_name, is_method_call, walk

if TYPE_CHECKING:
    from gradlint.analysis.context import Context

_CONTAINERS = frozenset(
    {
        "torch.nn.ParameterList",
        "torch.nn.ParameterDict",
        "torch.nn.parameter.ParameterList",
        "torch.nn.parameter.ParameterDict",
        "torch.nn.modules.container.ParameterList",
        "torch.nn.modules.container.ParameterDict",
    }
)
# Conversions that return a new tensor when they change the dtype or device.
_CONVERSIONS = frozenset("to cuda cpu double float half bfloat16 type".split())


class ParameterOfDifferentiable(Rule):
    """`nn.Parameter(t)` of a tensor that already requires grad, or `nn.Parameter(t, requires_grad=False)` of a
    differentiable one.

    What it does:
        Reports `nn.Parameter(t)`, `nn.ParameterList([t, ...])` and `nn.ParameterDict({name: t})` where the
        function made `t` a tensor that requires grad (`t = torch.tensor(v, requires_grad=True)`,
        `self.t = x.clone().requires_grad_()`) rather than a Parameter, and `nn.Parameter(t, requires_grad=False)`
        where `t` is a tensor the function was passed, when the result goes on into computation.

    Why it cuts gradients:
        `nn.Parameter(t)` makes a new leaf that shares `t`'s storage but not its autograd identity: a loss
        computed from `t` puts its gradient on `t`, while the optimizer holds the new Parameter, whose `.grad`
        stays `None`, so the value is never tuned. With `requires_grad=False` the new leaf is a constant, and
        nothing computed from it reaches the parameters behind `t`.

    When it is fine:
        Wrapping initial values that do not require grad (`nn.Parameter(torch.zeros(n))`, a tensor of
        configuration numbers), collecting Parameters (`nn.ParameterList` keeps a Parameter as it is), frozen
        parameters made from constants, and `requires_grad` given by a flag
        (`nn.Parameter(freqs, requires_grad=learned)`). Make the value a Parameter where it is created, and use
        that one object everywhere.
    """

    code = "GL072"
    name = "parameter-of-differentiable"
    tokens = ("Parameter",)
    INVALID = [
        Invalid(
            """\
import torch

class Temperature(torch.nn.Module):
    def __init__(self, initial: float) -> None:
        super().__init__()
        self.log_alpha = torch.tensor(initial, requires_grad=True)
        self.optimizer = torch.optim.Adam(torch.nn.ParameterList([self.log_alpha]))

    def loss(self, entropy: torch.Tensor) -> torch.Tensor:
        return -(self.log_alpha * entropy).mean()
""",
            line=7,
            column=43,
            fixed="""\
import torch

class Temperature(torch.nn.Module):
    def __init__(self, initial: float) -> None:
        super().__init__()
        self.log_alpha = torch.nn.Parameter(torch.tensor(initial))
        self.optimizer = torch.optim.Adam([self.log_alpha])

    def loss(self, entropy: torch.Tensor) -> torch.Tensor:
        return -(self.log_alpha * entropy).mean()
""",
        ),
        Invalid(
            """\
import torch

class Scale(torch.nn.Module):
    def __init__(self, scale: torch.Tensor) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(scale, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale
""",
            line=6,
            column=22,
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

class Temperature(torch.nn.Module):
    def __init__(self, initial: float) -> None:
        super().__init__()
        self.log_alpha = torch.nn.Parameter(torch.tensor(initial))
        self.optimizer = torch.optim.Adam([self.log_alpha])
"""
        ),
        Valid(
            """\
import torch

class Rotary(torch.nn.Module):
    def __init__(self, freqs: torch.Tensor, learned: bool) -> None:
        super().__init__()
        self.freqs = torch.nn.Parameter(freqs, requires_grad=learned)
"""
        ),
    ]

    def on_call(self, site, ctx):
        if site.callee in api.PARAMETER_CLASSES:
            found = site.argument(0, "data")
            if found is None:
                return None
            switch = site.argument(1, "requires_grad")
            if switch is not None and _is_false(switch[0].value):
                return self._frozen(site, found, ctx)
            elements = [found[0].value]
        elif site.callee in _CONTAINERS and site.args:
            elements = list(_elements(site.node.args[0].value))
        else:
            return None
        for element in elements:
            if _plain_leaf(element, ctx):
                # The Parameter itself does require grad: its value is left as it is, and the finding stands.
                ctx.report(
                    self,
                    site.node,
                    receiver=Sym(HIGH, chain=(element,)),
                    subject=element,
                    message="`{subject}` already requires grad: wrapping it makes a second leaf, and the loss "
                    "and the optimizer each see a different one",
                    fix="create `{subject}` as an `nn.Parameter` in the first place and use that object everywhere",
                    use=ESCAPES,
                )
                return None
        return None

    def _frozen(self, site, found, ctx):
        arg, value = found
        if not ctx.received(value):
            return None
        return ctx.report(
            self,
            site.node,
            receiver=value.sym,
            subject=arg.value,
            message="`nn.Parameter({subject}, requires_grad=False)` is a constant copy: nothing computed from "
            "it reaches the parameters behind `{subject}`",
            fix="use `{subject}` itself where its gradient is needed; freeze only values that are constants",
        )


class ParameterNotRegistered(Rule):
    """`self.w = nn.Parameter(...).to(device)`: the attribute is a converted copy, not the Parameter.

    What it does:
        Reports storing `nn.Parameter(...)` followed by a conversion (`.to(...)`, `.cuda()`, `.double()`,
        `.float()`, `.half()`, `.type(...)`) on an attribute of `self`.

    Why it cuts gradients:
        A conversion that changes the device or dtype returns a new tensor computed from the Parameter: a
        non-leaf that is not a Parameter. The module never registers the Parameter itself, so
        `module.parameters()` and the optimizer do not contain it, and the value the forward pass uses is
        never updated (on the CPU, `.to("cpu")` returns the Parameter itself and hides the bug until the
        model runs on a GPU).

    When it is fine:
        Never on a Parameter meant to be trained: convert the data first (`nn.Parameter(t.to(device))`) or
        move the whole module (`module.to(device)`).
    """

    code = "GL073"
    name = "parameter-not-registered"
    tokens = ("Parameter",)
    INVALID = [
        Invalid(
            """\
import torch

class Dictionary(torch.nn.Module):
    def __init__(self, atoms: int, size: int, device: str = "cuda") -> None:
        super().__init__()
        self.atoms = torch.nn.Parameter(torch.rand(size, atoms)).to(device)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.atoms @ codes
""",
            line=6,
            column=22,
            fixed="""\
import torch

class Dictionary(torch.nn.Module):
    def __init__(self, atoms: int, size: int, device: str = "cuda") -> None:
        super().__init__()
        self.atoms = torch.nn.Parameter(torch.rand(size, atoms, device=device))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.atoms @ codes
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

class Dictionary(torch.nn.Module):
    def __init__(self, atoms: int, size: int, device: str = "cuda") -> None:
        super().__init__()
        self.atoms = torch.nn.Parameter(torch.rand(size, atoms, device=device))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.atoms @ codes
"""
        ),
    ]

    def on_store(self, target, owner, value, source, ctx):
        if not isinstance(target, cst.Attribute) or owner.cls is None or owner.cls != ctx.function.cls:
            return None
        created = _converted_parameter(source, ctx)
        if created is None:
            return None
        ctx.report(
            self,
            source,
            receiver=Sym(HIGH, chain=(created,)),
            subject=target,
            message="`{subject}` holds a converted copy of the Parameter: the module never registers the "
            "Parameter, and the optimizer never updates what the forward pass uses",
            fix="convert the data before wrapping it (`nn.Parameter(t.to(device))`), or move the whole module",
            use=ESCAPES,
        )
        return None


def _elements(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The values of a list, tuple or dict display, or the expression itself."""
    if isinstance(node, (cst.List, cst.Tuple)):
        for element in node.elements:
            yield element.value
    elif isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                yield element.value
    else:
        yield node


def _converted_parameter(node: Optional[cst.CSTNode], ctx: Context) -> Optional[cst.Call]:
    """The ``nn.Parameter(...)`` call that ``node`` converts (``nn.Parameter(t).to(device)``), if any, when the
    Parameter requires grad."""
    converted = False
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _CONVERSIONS:
        node, converted = node.func.value, True
    if not (converted and isinstance(node, cst.Call) and ctx.qualname(node.func) in api.PARAMETER_CLASSES):
        return None
    return (
        None
        if any(
            _is_false(arg.value)
            for arg in node.args
            if arg.keyword is not None and arg.keyword.value == "requires_grad"
        )
        else node
    )


def _plain_leaf(element: cst.BaseExpression, ctx: Context) -> bool:
    """Whether the function last binds ``element`` (a name or ``self.x``) to a new tensor that requires grad but
    is not a Parameter (``torch.tensor(v, requires_grad=True)``, ``t.clone().requires_grad_()``)."""
    dotted = dotted_name(element)
    function = ctx.function.node
    if dotted is None or function is None:
        return False
    bound = None
    for node in walk(function):
        if isinstance(node, cst.Assign) and any(dotted_name(target.target) == dotted for target in node.targets):
            bound = node.value
    if not isinstance(bound, cst.Call) or ctx.qualname(bound.func) in api.PARAMETER_CLASSES:
        return False
    if is_method_call(bound, "requires_grad_"):
        return not bound.args or not _is_false(bound.args[0].value)
    return any(
        arg.keyword is not None
        and arg.keyword.value == "requires_grad"
        and isinstance(arg.value, cst.Name)
        and arg.value.value == "True"
        for arg in bound.args
    )


def _is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"
