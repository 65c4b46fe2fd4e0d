"""A function compiled with torch.compile, with cuts inside."""

from __future__ import annotations

import torch


@torch.compile(backend="aot_eager")  # <- compiled
def response(x: torch.Tensor, weight: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    y = x * 2 + weight
    return y * y.detach() + offset.detach()  # <- compiled detach


def fit_compiled() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    weight = torch.tensor([0.5, 0.5], requires_grad=True)
    offset = torch.tensor(3.0, requires_grad=True)
    response(x, weight, offset).sum().backward()
