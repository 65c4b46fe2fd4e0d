"""Parameters bound to names in different ways."""

from __future__ import annotations

import torch


def leaf(value: float) -> torch.Tensor:
    return torch.tensor(value, requires_grad=True)


class Settings:
    def __init__(self, **values: torch.Tensor) -> None:
        self.values = values


def bound_in_many_ways() -> None:
    direct = torch.tensor(1.0, requires_grad=True)  # <- direct
    through_helper = leaf(2.0)  # <- through helper
    settings = Settings(keyword=torch.tensor(3.0, requires_grad=True))  # <- keyword
    table = {"in_dict": torch.tensor(4.0, requires_grad=True)}  # <- in dict
    flagged = torch.ones(2)
    flagged.requires_grad_()  # <- flagged
    model = torch.nn.Linear(2, 1)  # <- module
    loss = direct + through_helper + settings.values["keyword"] + table["in_dict"] + model(flagged).sum()
    loss.backward()


def loop_of_parameters() -> None:
    weights = [torch.tensor(float(i + 1), requires_grad=True) for i in range(2)]  # <- comprehension
    (weights[0] * weights[1]).backward()


def recreated_after_backward() -> None:
    for differentiate in (True, False):  # the second is a fresh copy to compare with: never differentiated
        weight = leaf(2.0)
        if differentiate:
            (weight * 3).backward()
