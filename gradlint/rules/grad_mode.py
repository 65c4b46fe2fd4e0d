"""Grad mode switched off around differentiable work: ``no_grad``, ``inference_mode``, ``set_grad_enabled``."""

from __future__ import annotations

from gradlint.findings import Confidence
from gradlint.rules.base import Invalid, Rule, Valid


class NoGradRegion(Rule):
    """A `torch.no_grad()` (or `inference_mode`, `set_grad_enabled(False)`) block whose results leave it.

    What it does:
        Reports a `with torch.no_grad():`, `with torch.inference_mode():` or
        `with torch.set_grad_enabled(False):` block that computes differentiable values which are used after
        the block, returned, or stored on an object.

    Why it cuts gradients:
        With grad mode off, autograd records nothing: every tensor computed in the block is a constant, even
        from parameters that require grad. The values look right, and code after the block uses them as if
        they were differentiable, but no gradient flows back through anything computed inside.

    When it is fine:
        Evaluation, metrics and logging, in-place parameter updates (optimizer steps, initialisation) and
        anything whose results are only looked at (reported at low confidence, hidden by default).
    """

    code = "GL060"
    name = "no-grad-region"
    tokens = ("no_grad", "inference_mode", "set_grad_enabled")
    escape_confidence = Confidence.LOW
    stored_confidence = Confidence.LOW
    INVALID = [
        Invalid(
            """\
import torch

def oriented(misset: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        rotation = torch.matrix_exp(misset)
    return vectors @ rotation
""",
            line=4,
            column=10,
            fixed="""\
import torch

def oriented(misset: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    rotation = torch.matrix_exp(misset)
    return vectors @ rotation
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def sgd_step(weights: torch.nn.Parameter, learning_rate: float) -> None:
    with torch.no_grad():
        weights -= learning_rate * weights.grad
"""
        ),
        Valid(
            """\
import torch

def accuracy(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        predictions = model(x).argmax(dim=1)
    return (predictions == labels).float().mean().item()
"""
        ),
        Valid(
            """\
import torch
import torch.nn.functional as F

def td_loss(online: torch.nn.Module, target: torch.nn.Module, obs: torch.Tensor, rewards: torch.Tensor,
            next_obs: torch.Tensor) -> torch.Tensor:
    q = online(obs).max(dim=1).values
    with torch.no_grad():
        bootstrap = rewards + 0.99 * target(next_obs).max(dim=1).values
    return F.smooth_l1_loss(q, bootstrap)
"""
        ),
        Valid(
            """\
import torch
import torch.nn.functional as F

def distill(student: torch.nn.Module, teacher: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        teacher_logits = teacher(x)
    return F.kl_div(F.log_softmax(student(x), dim=1), F.softmax(teacher_logits, dim=1), reduction="batchmean")
"""
        ),
    ]

    def on_grad_disabled(self, node, ctx, *, decorator):
        if decorator:
            return None
        return ctx.open_candidate(
            self,
            node,
            message="values computed in this no-grad block are used after it: their gradient was never recorded",
            fix="compute the values that need a gradient outside the block",
        )


class NoGradFunction(Rule):
    """A function decorated with `@torch.no_grad()` (or `inference_mode`) whose result is differentiable work.

    What it does:
        Reports `@torch.no_grad()` and `@torch.inference_mode()` on a function that computes and returns
        values from differentiable inputs, when callers use the result in computation or store it.

    Why it cuts gradients:
        The decorator turns grad mode off for the whole call: the function's result is a constant however
        differentiable its inputs are. Callers cannot see that from the call site.

    When it is fine:
        Evaluation and sampling functions whose results are only inspected (reported at low confidence).
    """

    code = "GL061"
    name = "no-grad-function"
    tokens = ("no_grad", "inference_mode")
    escape_confidence = Confidence.LOW
    stored_confidence = Confidence.LOW
    INVALID = [
        Invalid(
            """\
import torch

@torch.no_grad()
def rotation(angles: torch.Tensor) -> torch.Tensor:
    return torch.matrix_exp(angles)

def oriented(angles: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    return vectors @ rotation(angles)
""",
            line=3,
            column=2,
            fixed="""\
import torch

def rotation(angles: torch.Tensor) -> torch.Tensor:
    return torch.matrix_exp(angles)

def oriented(angles: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    return vectors @ rotation(angles)
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor) -> None:
    print(model(x).mean())
"""
        ),
        Valid(
            """\
import torch
import torch.nn.functional as F

@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    logits = model(x)
    return {"loss": F.cross_entropy(logits, y).item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}
"""
        ),
    ]

    def on_grad_disabled(self, node, ctx, *, decorator):
        if not decorator:
            return None
        return ctx.open_candidate(
            self,
            node,
            message="this function runs without grad mode: what it returns carries no gradient to its inputs",
            fix="keep the decorator where the function evaluates; where a gradient is needed, call an undecorated "
            "version of it (the decorator turns grad mode off inside the function even under `enable_grad()`)",
        )
