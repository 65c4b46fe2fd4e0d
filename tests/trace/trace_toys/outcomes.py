"""Zero, vanishing, non-finite and error outcomes, and their causes."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch


@dataclass
class Settings:
    structure_factor: float = 0.0  # <- default
    gain: float = 2.0


def factor_table(value: float, size: int) -> torch.Tensor:
    return torch.full((size,), value)  # <- fill


def zero_forward() -> None:
    settings = Settings()
    cell = torch.tensor(2.0, requires_grad=True)
    intensity = torch.tensor(5.0, requires_grad=True)
    factors = factor_table(settings.structure_factor, 3)
    lattice = torch.sin(cell * torch.arange(3.0))
    image = intensity * (lattice * factors**2)  # <- product
    loss = ((image - 1.0) ** 2).sum()
    loss.backward()


@dataclass
class CrystalSettings:
    cell: float = 10.0
    default_F: float = 0.0  # <- structure factor default


class StructureModel:
    def __init__(self, config: CrystalSettings) -> None:
        self.config = config

    def structure_factor(self, h: torch.Tensor) -> torch.Tensor:
        return torch.full_like(h, float(self.config.default_F))  # <- fill through float

    def scattering(self, h: torch.Tensor) -> torch.Tensor:
        return torch.full((3,), 2.5 * -int(self.config.default_F))  # <- fill through arithmetic


def zero_fill_through_float() -> None:
    crystal = StructureModel(CrystalSettings())
    cell = torch.tensor(2.0, requires_grad=True)
    h = torch.sin(cell * torch.arange(3.0))
    (crystal.structure_factor(h) * h).sum().backward()


def zero_fill_through_arithmetic() -> None:
    crystal = StructureModel(CrystalSettings())
    cell = torch.tensor(2.0, requires_grad=True)
    (crystal.scattering(cell) * cell).sum().backward()


def vanishing_round() -> None:
    position = torch.tensor(2.3, requires_grad=True)
    width = torch.tensor(0.5, requires_grad=True)
    snapped = (position * 3).round()  # <- round
    loss = snapped * width + width
    loss.backward()


def nonfinite_where() -> None:
    x = torch.tensor([-1.0, 4.0], requires_grad=True)
    y = torch.where(x > 0, torch.sqrt(x), torch.zeros_like(x))  # <- sqrt
    y.sum().backward()


class CachedModel:
    def __init__(self, weight: torch.Tensor) -> None:
        self.features = torch.sin(weight * 2)  # <- cached in init

    def loss(self, bias: torch.Tensor) -> torch.Tensor:
        return (self.features * bias).sum()  # <- used


def reuse_after_backward() -> None:
    weight = torch.tensor(1.0, requires_grad=True)
    bias = torch.tensor(2.0, requires_grad=True)
    model = CachedModel(weight)
    for _ in range(2):
        bias.grad = None
        model.loss(bias).backward()


class Crystal:
    def __init__(self, length: torch.Tensor) -> None:
        self.length = length

    @functools.cached_property  # <- cache decorator
    def reciprocal(self) -> torch.Tensor:
        return 1.0 / self.length  # <- cached value


def reuse_cached_property() -> None:
    length = torch.tensor(4.0, requires_grad=True)
    scale = torch.tensor(3.0, requires_grad=True)
    crystal = Crystal(length)
    for _ in range(2):
        (crystal.reciprocal * scale).backward()


def unused_parameter() -> None:
    used = torch.tensor(1.0, requires_grad=True)
    torch.tensor(5.0, requires_grad=True)  # <- unused
    (used * 3).backward()


def zeroed_in_place() -> None:
    weight = torch.tensor([1.0, 2.0], requires_grad=True)
    (weight * torch.tensor([3.0, 4.0])).sum().backward()
    weight.grad.zero_()


def with_autograd_grad() -> None:
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    torch.autograd.grad(a * 4 + b.detach(), [a, b], allow_unused=True)
