"""Python control flow on differentiable values that decides whether differentiable work is done."""

from __future__ import annotations

from gradlint import lazy_cst as cst
from gradlint.analysis.values import COMPUTATION
from gradlint.rules.base import GRADIENT_WORDS, Invalid, Rule, Valid


class BranchOnDifferentiable(Rule):
    """An `if`, `while` or conditional expression on a differentiable value that skips differentiable work.

    What it does:
        Reports `if t != 0:`, `if t.item() > 0:`, `if abs(t) < eps:`, `if torch.any(t > 0):`, `while` loops
        and `a if t > 0 else b` where the condition depends on a value computed from differentiable inputs and
        the branch decides whether differentiable work is done (one side computes, the other does not).

    Why it cuts gradients:
        A Python branch is evaluated once, on the current value. At the boundary value the skipped branch
        takes its term and that term's gradient with it: a simulator that skips its polarization term when
        the Kahn factor is 0, or its mosaic rotations when the spread is 0, gives exactly zero (or `None`)
        gradient for those parameters, so a fit started there never moves. The condition also synchronises
        the device on every call.

    When it is fine:
        Branches on configuration numbers, shapes, flags and `is None` checks. Branches where both sides
        compute the same quantity differently (a piecewise definition) are reported at low confidence.
        Replace the branch by `torch.where(condition, a, b)` or multiply by a mask so both sides stay in the
        graph.
    """

    code = "GL100"
    name = "branch-on-differentiable"
    tokens = GRADIENT_WORDS
    INVALID = [
        Invalid(
            """\
import torch

def mosaic(vectors: torch.Tensor, spread: torch.Tensor) -> torch.Tensor:
    if spread > 0:
        vectors = vectors * torch.cos(spread)
    return vectors
""",
            line=4,
            column=8,
            fixed="""\
import torch

def mosaic(vectors: torch.Tensor, spread: torch.Tensor) -> torch.Tensor:
    return torch.where(spread > 0, vectors * torch.cos(spread), vectors)
""",
        ),
        Invalid(
            """\
import torch

def polarization(intensity: torch.Tensor, kahn: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
    if kahn.item() != 0:
        intensity = intensity * (1 - kahn * torch.cos(2 * psi))
    return intensity
""",
            line=4,
            column=8,
        ),
        Invalid(
            """\
import torch

def mosaic(vectors: torch.Tensor, spread: torch.Tensor) -> torch.Tensor:
    has_mosaic = torch.any(spread > 0)
    if has_mosaic:
        vectors = vectors * torch.cos(spread)
    return vectors
""",
            line=5,
            column=8,
        ),
        Invalid(
            """\
import torch

class Detector:
    def __init__(self, distance: torch.Tensor) -> None:
        self.distance = distance

    def _is_default(self) -> bool:
        return bool(self.distance == 100.0)

    def place(self, x: torch.Tensor) -> torch.Tensor:
        if self._is_default():
            return x
        return x * self.distance
""",
            line=11,
            column=12,
        ),
        Invalid(
            """\
import torch

def tilt(directions: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    moved = angles.abs() > 1e-10
    if moved.any():
        shift = torch.sin(angles[moved]).unsqueeze(1) * torch.tensor([0.0, 1.0, 0.0])
        directions[moved] = directions[moved] + shift
    return directions / directions.norm(dim=1, keepdim=True)
""",
            line=5,
            column=8,
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def mosaic(vectors: torch.Tensor, spread: torch.Tensor, domains: int) -> torch.Tensor:
    if domains > 1:
        vectors = vectors.repeat(domains, 1) * torch.cos(spread)
    if vectors.shape[0] > 4:
        vectors = vectors[:4]
    return vectors
"""
        ),
        Valid(
            """\
import torch

def rotate(vectors: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    if (angle <= 0).any():
        raise ValueError("angles must be positive")
    return vectors * torch.cos(angle)
"""
        ),
        Valid(
            """\
import torch

def add_noise(mean: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    noisy = mean.clone()
    small = mean < 12
    if small.any():
        small_means = mean[small]
        noisy[small] = torch.poisson(small_means)
    bound = low
    if bound < mean.max():
        bound = mean.max()
    return noisy * bound
"""
        ),
    ]

    def on_branch(self, node, test, work, ctx):
        keyword = "while" if isinstance(node, cst.While) else "if"
        ctx.report(
            self,
            test,
            receiver=ctx.condition(test),
            subject=test,
            message=f"this `{keyword}` on `{{subject}}` decides whether differentiable work is done: at the "
            "boundary value the skipped branch takes its gradient with it",
            fix="compute both sides and select with `torch.where(condition, a, b)`, or multiply by a mask",
            use=COMPUTATION,
            gate=work,
        )
