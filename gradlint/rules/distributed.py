"""Collectives of ``torch.distributed`` that autograd does not see, on a differentiable path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Set

from gradlint import lazy_cst as cst
from gradlint.analysis import torch_api as api
from gradlint.analysis.values import COMPUTATION, MEDIUM, Sym
from gradlint.rules.base import Invalid, Rule, Valid
from gradlint.rules.syntax import walk

if TYPE_CHECKING:
    from gradlint.analysis.context import Context

_GATHERS = frozenset({"torch.distributed.all_gather", "torch.distributed.all_gather_into_tensor"})
_REDUCTIONS = frozenset({"torch.distributed.all_reduce", "torch.distributed.reduce"})


class GatherWithoutGrad(Rule):
    """`torch.distributed.all_gather(gathered, t)` of a value that carries a gradient.

    What it does:
        Reports `torch.distributed.all_gather(gathered, t)` and `all_gather_into_tensor(out, t)` where `t` is
        computed from differentiable inputs and the gathered tensors go on into computation or are returned,
        unless the local rank's slot is put back afterwards (`gathered[rank] = t`).

    Why it cuts gradients:
        The collectives of `torch.distributed` write into the output tensors outside autograd: every gathered
        tensor, the local rank's copy included, is a constant. A loss computed from the gathered batch (a
        contrastive loss over all ranks, a metric used as a loss) gives this rank's parameters no gradient
        through it.

    When it is fine:
        Gathering under `torch.no_grad()` for metrics and logging; gathering the other ranks' features as
        constants and putting the local slot back (`gathered[rank] = t`), so that each rank backpropagates its
        own part; custom `torch.autograd.Function`s that wrap the collective and define its backward. The
        differentiable collectives of `torch.distributed.nn` keep the gradient.
    """

    code = "GL130"
    name = "all-gather-without-grad"
    tokens = ("all_gather",)
    INVALID = [
        Invalid(
            """\
import torch
import torch.distributed as dist

def gather_embeddings(local: torch.Tensor) -> torch.Tensor:
    gathered = [torch.zeros_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    return torch.cat(gathered)
""",
            line=6,
            column=5,
            fixed="""\
import torch
import torch.distributed as dist
import torch.distributed.nn

def gather_embeddings(local: torch.Tensor) -> torch.Tensor:
    gathered = torch.distributed.nn.all_gather(local)
    return torch.cat(gathered)
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch
import torch.distributed as dist

def gather_embeddings(local: torch.Tensor) -> torch.Tensor:
    gathered = [torch.zeros_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    gathered[dist.get_rank()] = local
    return torch.cat(gathered)
"""
        ),
        Valid(
            """\
import torch
import torch.distributed.nn

def gather_embeddings(local: torch.Tensor) -> torch.Tensor:
    return torch.cat(torch.distributed.nn.all_gather(local))
"""
        ),
    ]

    def on_call(self, site, ctx):
        if site.callee not in _GATHERS or len(site.args) < 2:
            return None
        gathered = site.node.args[0].value
        if isinstance(gathered, cst.Name) and _slot_restored(gathered.value, ctx):
            return None
        return ctx.report(
            self,
            site.node,
            receiver=site.args[1].sym,
            subject=site.node.args[1].value,
            message="`all_gather` copies `{subject}` into tensors autograd does not see: the gathered values "
            "carry no gradient, the local one included",
            fix="gather with `torch.distributed.nn.all_gather` (differentiable), or put the local slot back: "
            "`gathered[rank] = {subject}`",
        )


class InPlaceReduceOfDifferentiable(Rule):
    """`torch.distributed.all_reduce(t)` or `reduce(t)` of a value that carries a gradient.

    What it does:
        Reports the in-place collectives `torch.distributed.all_reduce(t)` and `torch.distributed.reduce(t)`
        where `t` is computed from differentiable inputs and goes on into computation or is returned.

    Why it cuts gradients:
        The reduction overwrites `t` outside autograd (PyTorch warns that no autograd kernel is registered for
        it): backward treats the sum over ranks as if it were this rank's own value, so each rank gets the
        gradient of its local part only, wrongly scaled, and the other ranks' contributions none.

    When it is fine:
        Reducing detached values or values under `torch.no_grad()` for metrics, logging and statistics,
        gradients in a custom `torch.autograd.Function`'s backward, and parameters' `.grad`. The differentiable
        `torch.distributed.nn.all_reduce` keeps the gradient.
    """

    code = "GL131"
    name = "in-place-reduce"
    tokens = ("all_reduce", "reduce(")
    INVALID = [
        Invalid(
            """\
import torch
import torch.distributed as dist

def global_mean(features: torch.Tensor) -> torch.Tensor:
    total = features.sum(0)
    dist.all_reduce(total)
    return total / (features.shape[0] * dist.get_world_size())
""",
            line=6,
            column=5,
            fixed="""\
import torch
import torch.distributed as dist
import torch.distributed.nn

def global_mean(features: torch.Tensor) -> torch.Tensor:
    total = torch.distributed.nn.all_reduce(features.sum(0))
    return total / (features.shape[0] * dist.get_world_size())
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch
import torch.distributed as dist
import torch.distributed.nn

def global_mean(features: torch.Tensor) -> torch.Tensor:
    total = torch.distributed.nn.all_reduce(features.sum(0))
    return total / (features.shape[0] * dist.get_world_size())
"""
        ),
        Valid(
            """\
import torch
import torch.distributed as dist

def log_loss(loss: torch.Tensor) -> float:
    reduced = loss.detach().clone()
    dist.all_reduce(reduced)
    return reduced.item() / dist.get_world_size()
"""
        ),
    ]

    def on_call(self, site, ctx):
        if site.callee not in _REDUCTIONS or not site.args:
            return None
        return ctx.report(
            self,
            site.node,
            receiver=site.args[0].sym,
            subject=site.node.args[0].value,
            message="`{subject}` is reduced in place outside autograd: its gradient only covers this rank's part",
            fix="use `torch.distributed.nn.all_reduce({subject})`, which returns a differentiable result",
        )


def _slot_restored(name: str, ctx: Context) -> bool:
    """Whether the function stores into ``name[...]``: the local slot put back after a gather."""
    function = ctx.function.node
    for node in walk(function if function is not None else ctx.statement):
        if isinstance(node, (cst.Assign, cst.AugAssign)):
            targets = [target.target for target in node.targets] if isinstance(node, cst.Assign) else [node.target]
            if any(
                isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and target.value.value == name
                for target in targets
            ):
                return True
    return False


class GatherBackwardOwnSlot(Rule):
    """The `backward` of a gathering autograd function that keeps its own rank's slot of the gradients unsummed.

    What it does:
        Reports, in the `backward` of a `torch.autograd.Function` whose `forward` gathers with
        `torch.distributed.all_gather`, a slot of the incoming gradients taken by rank (`grads[dist.get_rank()]`)
        straight from the gradients `backward` received.

    Why it cuts gradients:
        Each rank's loss sends a gradient to every rank's gathered slot, so this rank's input is owed the sum,
        over all ranks, of what their losses sent to its slot. The slot of the local gradients holds only this
        rank's share: the other ranks' contributions are lost (and reducing the slot alone sums different slots
        on different ranks). Training on several GPUs then gets a different, smaller gradient than on one
        (contrastive losses such as SimCLR's and NT-Xent).

    When it is fine:
        Summing first: stack the gradients, `all_reduce` the stack, then take this rank's slot (or
        `reduce_scatter` them), as in the fixed example.
    """

    code = "GL132"
    name = "gather-backward-own-slot"
    tokens = ("all_gather",)
    INVALID = [
        Invalid(
            """\
import torch
import torch.distributed as dist

class GatherLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        output = [torch.zeros_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(output, x)
        return tuple(output)

    @staticmethod
    def backward(ctx, *grads):
        return grads[dist.get_rank()]
""",
            line=13,
            column=16,
            fixed="""\
import torch
import torch.distributed as dist

class GatherLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        output = [torch.zeros_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(output, x)
        return tuple(output)

    @staticmethod
    def backward(ctx, *grads):
        summed = torch.stack(grads)
        dist.all_reduce(summed)
        return summed[dist.get_rank()]
""",
        ),
        Invalid(
            """\
import torch
import torch.distributed as dist

class GatherLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        output = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(output, x)
        return tuple(output)

    @staticmethod
    def backward(ctx, *grads):
        grad_out = grads[dist.get_rank()].contiguous()
        dist.all_reduce(grad_out)
        return grad_out
""",
            line=13,
            column=20,
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

class Select(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, rank):
        ctx.rank = rank
        return x[rank]

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.rank], None
"""
        ),
    ]

    def on_function(self, node, returns, ctx):
        if node.name.value != "backward":
            return
        info = ctx.class_info(ctx.function.cls)
        if info is None or not any(base in api.CUSTOM_FUNCTION_BASES for base in info.bases):
            return
        forward = info.methods.get("forward")
        if forward is None or not any(
            isinstance(call, cst.Call) and ctx.qualname(call.func) in _GATHERS for call in walk(forward.node.body)
        ):
            return
        received = _gradient_parameters(node)
        for current in walk(node.body):
            if (
                isinstance(current, cst.Subscript)
                and isinstance(current.value, cst.Name)
                and current.value.value in received
                and len(current.slice) == 1
                and _names_a_rank(current.slice[0].slice)
            ):
                ctx.report(
                    self,
                    current,
                    receiver=Sym(MEDIUM, chain=(current,)),
                    use=COMPUTATION,
                    computes_gradient=True,
                    subject=current.value,
                    message="this rank's slot of `{subject}` holds only the gradient its own loss sent: what the "
                    "other ranks' losses sent to this rank's input is never summed in",
                    fix="sum over the ranks first: `summed = torch.stack({subject}); dist.all_reduce(summed)`, "
                    "then return `summed[rank]`",
                )


def _gradient_parameters(function: cst.FunctionDef) -> Set[str]:
    """The names under which ``backward`` receives the gradients of the outputs, when it never rebinds them."""
    params = function.params
    names = {param.name.value for param in params.params[1:]}
    if isinstance(params.star_arg, cst.Param):
        names.add(params.star_arg.name.value)
    for current in walk(function.body):
        if isinstance(current, cst.AssignTarget) and isinstance(current.target, cst.Name):
            names.discard(current.target.value)
    return names


def _names_a_rank(index: cst.CSTNode) -> bool:
    """Whether an index is a rank: ``dist.get_rank()``, ``rank``, ``self.rank``, ``get_rank()``."""
    for current in walk(index):
        if isinstance(current, cst.Name) and "rank" in current.value.lower():
            return True
    return False
