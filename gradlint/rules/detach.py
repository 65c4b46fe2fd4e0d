"""Detaching: ``.detach()`` and ``.detach_()``."""

from __future__ import annotations

from gradlint.rules.base import Invalid, TensorMethodRule, Valid


class DetachOnDifferentiable(TensorMethodRule):
    """`.detach()` or `.detach_()` on a value that carries a gradient.

    What it does:
        Reports `.detach()` and `.detach_()` on a tensor computed from differentiable inputs when the detached
        value goes on into computation, is returned, or is stored.

    Why it cuts gradients:
        `.detach()` returns a tensor that shares storage with its input but has no autograd history, and
        `.detach_()` strips the history in place. Everything computed from the result is a constant to
        autograd, so the parameters it came from get no gradient along this path, and a `None` gradient when
        it was their only path.

    When it is fine:
        Detaching targets, running statistics, values that are only logged or printed, or a deliberate
        stop-gradient (straight-through estimators, target networks). A detached value that only feeds
        logging, printing, formatting, assertions, branch conditions, shapes or indices is reported at low
        confidence, hidden by default. Silence a deliberate stop-gradient with
        `# gradlint: ignore[GL001] -- reason`.
    """

    code = "GL001"
    name = "detach-on-differentiable"
    tokens = ("detach",)
    methods = frozenset({"detach", "detach_"})
    in_place = frozenset({"detach_"})
    message = ("`.{method}()` cuts the gradient of `{subject}`: nothing computed from it reaches the parameters it "
               "depends on")
    fix = "use `{subject}` itself; detach only what must not be differentiated (targets, logged values)"
    INVALID = [
        Invalid(
            """\
import torch

def rotate(angles: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    rotation = torch.matrix_exp(angles)
    return vectors @ rotation.detach()
""",
            line=5,
            column=22,
        ),
        Invalid(
            """\
import torch

def scale(weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    norm = weights.norm()
    norm.detach_()
    return x * norm
""",
            line=5,
            column=5,
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def rotate(angles: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    rotation = torch.matrix_exp(angles)
    return vectors @ rotation
"""
        ),
        Valid(
            """\
import torch

def report(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    loss = (prediction - target).pow(2).mean()
    print(f"loss {loss.detach()}")
    return loss
"""
        ),
    ]
