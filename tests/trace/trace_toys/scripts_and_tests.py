"""Module-level helpers used by the script and test targets."""

from __future__ import annotations

import torch


def returns_loss() -> torch.Tensor:
    weight = torch.tensor([3.0, 4.0], requires_grad=True)
    return (weight.detach() * weight).sum()


def returns_nothing() -> None:
    torch.tensor(1.0, requires_grad=True) * 2


def no_parameters() -> torch.Tensor:
    return torch.ones(2).sum()


def raises() -> None:
    weight = torch.tensor(1.0, requires_grad=True)
    (weight * 2).backward()
    raise ValueError("bad configuration")


def flagged_by_attribute() -> torch.Tensor:
    """A parameter switched on with the attribute, cut, and gone with its frame when the loss is returned."""
    scale = torch.tensor(2.0)
    scale.requires_grad = True
    offset = torch.tensor(0.5, requires_grad=True)
    return scale.item() * torch.ones(3).sum() + offset


def random_cuts() -> None:
    """Which weights get cut depends on a random draw: a rerun must draw the same."""
    weights = [torch.tensor(1.0, requires_grad=True) for _ in range(8)]
    draws = torch.rand(8)
    loss = sum(w if draw > 0.5 else w.detach() for w, draw in zip(weights, draws))
    loss.backward()


def cut_on_first_run_only() -> None:
    """Not deterministic: a file left by the first run changes the second."""
    from pathlib import Path

    marker = Path("ran-before")
    weight = torch.tensor(1.0, requires_grad=True)
    used = weight if marker.exists() else weight.detach()
    marker.write_text("yes")
    (used * 2 + torch.tensor(1.0, requires_grad=True)).backward()
