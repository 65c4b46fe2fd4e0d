"""Targets that end the program themselves, or never end."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch


def fit() -> torch.Tensor:
    weight = torch.tensor([1.0, 2.0], requires_grad=True)
    offset = torch.tensor(0.5, requires_grad=True)
    (weight * 3 + offset.detach()).sum().backward()
    return weight


def exits_cleanly() -> None:
    """A command-line entry point: it ends with sys.exit(0)."""
    fit()
    sys.exit(0)


def exits_with_status() -> None:
    fit()
    sys.exit(3)


def ends_the_process() -> None:
    fit()
    os._exit(0)  # <- hard exit


def ends_the_process_failing() -> None:
    fit()
    os._exit(4)


def hangs() -> None:
    fit()
    print("ready", flush=True)
    while True:
        time.sleep(0.05)


def leaves_a_mark() -> None:
    Path("target-ran").write_text("yes")
    fit()
