"""Tests used as pytest-node targets (not collected by the project's suite: see the trace tests)."""

import torch


def test_detached_weight():
    weight = torch.tensor([1.0, 2.0], requires_grad=True)
    bias = torch.tensor(0.5, requires_grad=True)
    loss = (weight.detach() * 2 + bias).sum()  # <- test detach
    loss.backward()
    assert weight.grad is not None


def test_passes():
    weight = torch.tensor([1.0, 2.0], requires_grad=True)
    (weight * 2).sum().backward()
