"""A test that watches its own gradients with gradlint.watch(), to be traced from outside as well."""

from __future__ import annotations

import torch

import gradlint


def test_watched_classifier() -> None:
    with gradlint.watch() as block:
        logits = torch.randn(4, 3, requires_grad=True)  # <- logits
        probabilities = torch.log_softmax(logits, -1).exp()  # <- softmax
        (probabilities[:, 0] * torch.arange(4.0)).sum().backward()
    block.assert_gradients("logits")
    assert block.events == ()


def test_watched_cut() -> None:
    with gradlint.watch() as block:
        weight = torch.tensor([1.0, 2.0], requires_grad=True)
        bias = torch.tensor(0.5, requires_grad=True)
        (weight.detach() * 2 + bias).sum().backward()  # <- watched detach
    assert [p.outcome.value for p in block.parameters] == ["missing", "ok"]
