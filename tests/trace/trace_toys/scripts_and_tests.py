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
