"""Grad-disabled regions and integer casts."""

from __future__ import annotations

import torch


def rotation(angle: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    return torch.stack([torch.stack([c, -s]), torch.stack([s, c])])  # <- rotation stack


def no_grad_block() -> None:
    angle = torch.tensor(0.3, requires_grad=True)
    scale = torch.tensor(2.0, requires_grad=True)
    with torch.no_grad():  # <- with no_grad
        turn = rotation(angle)
    loss = (turn * scale).sum()
    loss.backward()


@torch.no_grad()  # <- decorator
def frozen_offsets(offset: torch.Tensor) -> torch.Tensor:
    return offset * torch.arange(3.0)


def no_grad_decorator() -> None:
    offset = torch.tensor(0.5, requires_grad=True)
    gain = torch.tensor(2.0, requires_grad=True)
    loss = (frozen_offsets(offset) * gain).sum()
    loss.backward()


def no_grad_without_escape() -> None:
    weight = torch.tensor([1.0, -2.0], requires_grad=True)
    loss = (weight**2).sum()
    loss.backward()
    with torch.no_grad():
        weight -= 0.1 * weight.grad
        print(f"norm {float(weight.norm()):.3f}")


def cast_into_maths() -> None:
    h = torch.tensor([0.4, 1.6], requires_grad=True)
    scale = torch.tensor(2.0, requires_grad=True)
    index = (h * 3).round().long()  # <- cast
    shifted = index.float() * 0.5
    loss = (shifted * scale).sum()
    loss.backward()


def cast_only_for_lookup() -> None:
    h = torch.tensor([0.4, 1.6], requires_grad=True)
    table = torch.tensor([10.0, 20.0, 30.0, 40.0, 50.0])
    index = (h * 2).round().long().clamp(0, 4)
    looked_up = table[index]
    loss = (looked_up * h).sum()
    loss.backward()
