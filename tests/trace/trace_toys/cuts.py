"""Severing operations, each on its own marked line."""

from __future__ import annotations

import math

import numpy as np
import torch


def detach_in_helper(x: torch.Tensor) -> torch.Tensor:
    return x.detach() * 2  # <- detach


def scale_twice(x: torch.Tensor) -> torch.Tensor:
    return detach_in_helper(x) + 1  # <- helper call


def detach_two_calls_away() -> None:
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    loss = scale_twice(a) * b  # <- outer call
    loss.backward()


def scalars() -> None:
    angle = torch.tensor(0.5, requires_grad=True)
    count = torch.tensor(3.0, requires_grad=True)
    values = torch.tensor([1.0, 2.0], requires_grad=True)
    keep = torch.tensor(1.5, requires_grad=True)
    c = math.cos(angle)  # <- math
    n = int(count)  # <- int
    first = values.tolist()[0]  # <- tolist
    s = keep.item()  # <- item
    loss = keep * (c + n + first + s)
    loss.backward()


def numpy_round_trip() -> None:
    phase = torch.tensor([0.25, 0.5], requires_grad=True)
    gain = torch.tensor(2.0, requires_grad=True)
    array = phase.detach().numpy()  # <- numpy detach
    back = torch.from_numpy(np.cos(array))
    wrapped = torch.from_numpy(array)  # <- from_numpy
    loss = (gain * (back + wrapped)).sum()
    loss.backward()


def data_access() -> None:
    weight = torch.tensor([1.0, 2.0], requires_grad=True)
    bias = torch.tensor(0.5, requires_grad=True)
    frozen = weight.data * 3  # <- data read
    loss = (frozen + bias).sum()
    loss.backward()


def constructors() -> None:
    ax = torch.tensor(1.0, requires_grad=True)
    ay = torch.tensor(2.0, requires_grad=True)
    az = torch.tensor(3.0, requires_grad=True)
    scale = torch.tensor(2.0, requires_grad=True)
    vector = torch.tensor([ax, ay, 1.0])  # <- tensor of tensors
    pair = torch.as_tensor([az, az])  # <- as_tensor of list
    kept = torch.as_tensor(scale, dtype=torch.float64)
    loss = (vector.sum() + pair.sum()) * kept
    loss.backward()


def ranges() -> None:
    start = torch.tensor(0.0, requires_grad=True)
    stop = torch.tensor(1.0, requires_grad=True)
    steps = torch.linspace(start, stop, 5)  # <- linspace
    loss = (steps * stop).sum()
    loss.backward()


def requires_grad_off() -> None:
    frozen = torch.tensor(2.0, requires_grad=True)
    other = torch.tensor(3.0, requires_grad=True)
    frozen.requires_grad_(False)  # <- requires_grad_
    loss = frozen * other
    loss.backward()


def branch_on_parameter() -> None:
    spread = torch.tensor(0.0, requires_grad=True)
    base = torch.tensor(1.0, requires_grad=True)
    value = base * 2
    if spread > 0:  # <- branch
        value = value + spread
    mask = torch.where(base > 0, base, -base)
    loss = value + mask
    loss.backward()


def non_differentiable_op() -> None:
    rates = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    other = torch.tensor(1.0, requires_grad=True)
    counts = torch.histc(rates, bins=3)  # <- histc
    loss = (counts * other).sum()
    loss.backward()


def repeated_in_loop() -> None:
    x = torch.tensor(1.0, requires_grad=True)
    total = torch.tensor(0.0, requires_grad=True)
    for _ in range(5):
        total = total + x.detach()  # <- loop detach
    total.backward()
