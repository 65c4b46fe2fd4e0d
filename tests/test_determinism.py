"""The same input gives byte-identical reports, whatever the hash seed, the job count and the cache state.

The project below has ties: values that join several equally strong references (three parameters of one helper,
three items of one batch), so a reasoning chain could go through any of them. Every report (text with the
chains, JSON, SARIF) of every run is compared byte for byte with the first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HELPERS = """\
import numpy as np


def mix(a, b, c, x):
    total = a * b + c * x
    scale = float(a + b + c)
    other = np.exp((b * c).detach().numpy())
    return total * scale + other
"""
TRAIN = """\
from pkg import helpers


def step(batch, model):
    loss = helpers.mix(batch["obs"], batch["rewards"], batch["dones"], model.alpha)
    value = (batch["obs"] + batch["dones"]).item()
    return loss * value
"""
MODEL = """\
import torch

from pkg import helpers


class Model(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.alpha = torch.nn.Parameter(torch.ones(3))
        self.beta = torch.nn.Parameter(torch.ones(3))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return helpers.mix(x, y, self.alpha + self.beta, x)
"""
# Enough modules that a run with two jobs analyses them in a process pool.
FILLER = """\
import torch


def loss_{index}(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    return (a + b + c).detach() * a
"""
FORMATS = (["--show-source"], ["--format", "json"], ["--format", "sarif"])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ties")
    (root / "pyproject.toml").write_text('[tool.gradlint]\npaths = ["pkg"]\nconfidence = "low"\n')
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(HELPERS)
    (package / "train.py").write_text(TRAIN)
    (package / "model.py").write_text(MODEL)
    for index in range(16):
        (package / f"loss_{index}.py").write_text(FILLER.format(index=index))
    return root


def reports(project: Path, seed: int, *options: str) -> list[bytes]:
    environment = {**os.environ, "PYTHONHASHSEED": str(seed)}
    outputs = []
    for report in FORMATS:
        completed = subprocess.run(
            [sys.executable, "-m", "gradlint", *options, *report],
            cwd=project,
            env=environment,
            capture_output=True,
            timeout=120,
        )
        assert completed.returncode == 1, completed.stderr.decode()
        outputs.append(completed.stdout)
    return outputs


def test_reports_do_not_depend_on_hash_seed_jobs_or_cache(project: Path) -> None:
    cache = ["--cache-dir", str(project / "cache")]
    expected = reports(project, 0, "--no-cache", "--jobs", "1")
    assert b"chain: " in expected[0] and b'"chain": [' in expected[1] and b'"relatedLocations"' in expected[2]
    runs = [
        (1, "--no-cache", "--jobs", "1"),
        (2, "--no-cache", "--jobs", "2"),
        (3, *cache, "--jobs", "2"),  # the first run fills the cache, the next two read it
        (4, *cache, "--jobs", "1"),
        (5, *cache, "--jobs", "2", "pkg"),
    ]
    for seed, *options in runs:
        assert reports(project, seed, *options) == expected, f"PYTHONHASHSEED={seed} {' '.join(options)}"
