"""Patterns of real projects that cut nothing: shape-only arguments, validations, frozen and copied networks."""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn
from torch.nn import functional


def shape_only_arguments() -> None:
    u = torch.linspace(0.1, 1.0, 4, requires_grad=True)
    cells = torch.tensor(5.0)
    expanded = cells.expand_as(u)  # <- expand_as
    viewed = torch.zeros(4).view_as(u)  # <- view_as
    reshaped = torch.ones(2, 2).reshape_as(u)
    typed = torch.ones(4, dtype=torch.float64).type_as(u)
    moved = torch.ones(4).to(u)
    filled = torch.full_like(u, 2.0) + u.new_ones(4)
    loss = (torch.sin(expanded * u) + viewed + reshaped + typed + moved + filled).sum()
    loss.backward()


def validate(length: torch.Tensor, angle: torch.Tensor) -> None:
    if (length <= 0).any():  # <- raises
        raise ValueError("lengths must be positive")
    if (angle < 1e-6).any() or (angle > 180).any():  # <- warns
        warnings.warn("an angle close to 0 or 180 degrees is unstable", stacklevel=2)  # the caller's angle
    if (angle >= 0).all():  # <- otherwise raises
        pass
    else:
        raise ValueError("angles must not be negative")
    assert torch.isfinite(length).all() and length < 1e3, "too long"  # <- asserts


def validation_branches() -> None:
    length = torch.tensor(2.0, requires_grad=True)
    angle = torch.tensor(30.0, requires_grad=True)
    validate(length, angle)
    if length > 3:  # <- real branch
        length = length * 2
    elif (angle > 45).any():  # <- warns with an alternative
        warnings.warn("steep", stacklevel=1)  # this function's own angle
    else:
        angle = angle * 2
    (length * angle).backward()


class QNetwork(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(4, 8)  # <- hidden layer
        self.head = nn.Linear(8, 2)

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.hidden(observation)))


def q_learning_update(freeze: bool) -> None:
    """Two updates of a Q-network towards the values of its frozen copy, the target network."""
    generator = torch.Generator().manual_seed(0)
    online = QNetwork()
    target = copy.deepcopy(online)  # <- target copy
    if freeze:
        for parameter in target.parameters():
            parameter.requires_grad_(False)  # <- freeze
    optimizer = torch.optim.SGD(online.parameters(), lr=0.1)
    observation, following = torch.randn(5, 4, generator=generator), torch.randn(5, 4, generator=generator)
    actions, rewards = torch.tensor([0, 1, 0, 1, 0]), torch.ones(5)
    for _ in range(2):
        with torch.no_grad():
            best_next = target(following).max(1).values
        chosen = online(observation).gather(1, actions[:, None]).squeeze(1)
        loss = functional.mse_loss(chosen, rewards + 0.9 * best_next)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def frozen_target_network() -> None:
    q_learning_update(freeze=True)


def copied_target_network() -> None:
    q_learning_update(freeze=False)


def fine_tuning() -> None:
    """A frozen backbone under a trained head: the backbone is frozen, not missing."""
    backbone, head = nn.Linear(3, 4), nn.Linear(4, 1)
    backbone.requires_grad_(False)  # <- freeze backbone
    head(backbone(torch.ones(2, 3))).sum().backward()
