"""Ranges with differentiable ends or steps: ``torch.linspace``, ``torch.logspace``, ``torch.arange``."""

from __future__ import annotations

from gradlint.fixes.ranges import GridFromEnds
from gradlint.rules.base import Invalid, Rule

# Which arguments (position, keyword) are values rather than counts.
_VALUE_ARGUMENTS = {
    "torch.linspace": ((0, "start"), (1, "end")),
    "torch.logspace": ((0, "start"), (1, "end"), (None, "base")),
    "torch.arange": ((0, "start"), (1, "end"), (2, "step")),
}


class DifferentiableRange(Rule):
    """`torch.linspace`, `torch.logspace` or `torch.arange` with an end or step that carries a gradient.

    What it does:
        Reports range constructors whose start, end, base or step is computed from differentiable inputs.

    Why it cuts gradients:
        These factories read their ends as numbers and fill a new leaf tensor: `linspace` and `logspace` with
        tensor ends give a constant grid silently, and `arange` raises when an end requires grad. A grid of
        phi steps over an oscillation range derived from a parameter then carries no gradient back to it.

    When it is fine:
        Ranges over counts and constants. To keep the gradient, build the grid from an integer range:
        `start + (end - start) * torch.arange(n) / (n - 1)`.
    """

    code = "GL050"
    name = "differentiable-range"
    tokens = ("linspace", "logspace", "arange")
    autofix = GridFromEnds()
    INVALID = [
        Invalid(
            """\
import torch

def phi_steps(phi0: torch.Tensor, oscillation: torch.Tensor, steps: int) -> torch.Tensor:
    return torch.linspace(phi0, phi0 + oscillation, steps) * oscillation
""",
            line=4,
            column=12,
            fixed="""\
import torch

def phi_steps(phi0: torch.Tensor, oscillation: torch.Tensor, steps: int) -> torch.Tensor:
    fractions = torch.arange(steps, dtype=phi0.dtype) / max(steps - 1, 1)
    return phi0 + oscillation * fractions
""",
        ),
    ]

    def on_call(self, site, ctx):
        arguments = _VALUE_ARGUMENTS.get(site.callee or "")
        if arguments is None:
            return None
        if site.callee == "torch.arange" and len(site.args) == 1:
            arguments = ((0, "end"),)
        for position, keyword in arguments:
            found = site.argument(position, keyword)
            if found is None:
                continue
            arg, value = found
            mark = ctx.report(
                self,
                site.node,
                receiver=ctx.precut(value),
                subject=arg.value,
                message=f"`{site.callee}` reads `{{subject}}` as a number: the grid carries no gradient to it",
                fix="build the grid from an integer range: `start + (end - start) * torch.arange(n) / (n - 1)`",
            )
            if mark is not None:
                return self.with_fix(mark, ctx, site)
        return None
