"""The project context: a partial run analyses the given files with the rest of the project and its evidence, and
reports the same findings for them as the whole run."""

from __future__ import annotations

import io
import itertools
import json
import sys
from pathlib import Path

import pytest

from gradlint import project
from gradlint.cli import run

CONFIG = """\
from dataclasses import dataclass


@dataclass
class Settings:
    scale: float = 1.0
    offset: float = 0.0
"""
MODEL = """\
import torch

from pkg.config import Settings


def forward(x: torch.Tensor, settings: Settings) -> torch.Tensor:
    return x * float(settings.scale)
"""
HELPER = """\
import torch

from pkg.model import forward


def shifted(x: torch.Tensor, settings):
    return forward(x, settings) + settings.offset
"""
# The evidence: the test is where the parameter is born, as a requires-grad tensor in a float field.
TEST = """\
import torch

from pkg.config import Settings
from pkg.model import forward


def test_scale_gets_a_gradient():
    scale = torch.tensor(2.0, requires_grad=True)
    forward(torch.ones(3), Settings(scale=scale)).sum().backward()
    assert scale.grad is not None
"""
MODEL_LINE = 7


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.gradlint]\npaths = ["src"]\n')
    files = {
        "src/pkg/__init__.py": "",
        "src/pkg/config.py": CONFIG,
        "src/pkg/model.py": MODEL,
        "src/pkg/helper.py": HELPER,
        "tests/test_model.py": TEST,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def findings(capsys: pytest.CaptureFixture[str], *args: str) -> list[tuple[str, int, str]]:
    run(["--format", "json", "--no-cache", *args])
    report = json.loads(capsys.readouterr().out)
    return [(item["path"], item["line"], item["code"]) for item in report["findings"]]


def test_a_parameter_born_in_a_test_makes_a_float_field_differentiable(tree: Path, capsys) -> None:
    assert findings(capsys) == [("src/pkg/model.py", MODEL_LINE, "GL012")]


def test_the_tests_are_evidence_not_reported(tree: Path, capsys) -> None:
    (tree / "tests/test_model.py").write_text(
        TEST + "\n\ndef test_cut():\n    w = torch.ones(2, requires_grad=True)\n"
        "    return torch.tensor([w.sum().item()]) * w\n"
    )
    assert all(path.startswith("src/") for path, _, _ in findings(capsys))
    assert ("tests/test_model.py", 15, "GL041") in findings(capsys, "tests/test_model.py")


def test_without_the_context_the_file_alone_knows_less(tree: Path, capsys) -> None:
    assert findings(capsys, "--no-context", "src/pkg/model.py") == []


@pytest.mark.parametrize(
    "subset",
    [
        subset
        for size in (1, 2)
        for subset in itertools.combinations(["src/pkg/config.py", "src/pkg/model.py", "src/pkg/helper.py"], size)
    ],
)
def test_any_subset_reports_what_the_whole_run_reports_for_it(tree: Path, capsys, subset) -> None:
    whole = findings(capsys)
    assert findings(capsys, *subset) == [finding for finding in whole if finding[0] in subset]


def test_standard_input_is_checked_in_its_project(tree: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MODEL.encode())))
    assert findings(capsys, "-", "--stdin-filename", "src/pkg/model.py") == [("src/pkg/model.py", MODEL_LINE, "GL012")]


def test_the_buffer_replaces_the_file_on_disk(tree: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    edited = MODEL.replace("float(settings.scale)", "settings.scale")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(edited.encode())))
    assert findings(capsys, "-", "--stdin-filename", "src/pkg/model.py") == []


def test_configured_evidence_replaces_the_defaults(tree: Path, capsys) -> None:
    (tree / "pyproject.toml").write_text('[tool.gradlint]\npaths = ["src"]\nevidence = []\n')
    assert findings(capsys) == []
    (tree / "pyproject.toml").write_text('[tool.gradlint]\npaths = ["src"]\nevidence = ["tests"]\n')
    assert findings(capsys) == [("src/pkg/model.py", MODEL_LINE, "GL012")]


def test_an_unconfigured_project_is_its_root(tree: Path, capsys) -> None:
    (tree / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    assert findings(capsys, "src/pkg/model.py") == [("src/pkg/model.py", MODEL_LINE, "GL012")]


def test_the_root_is_the_nearest_folder_with_a_marker(tmp_path: Path) -> None:
    (tmp_path / "repo/.git").mkdir(parents=True)
    (tmp_path / "repo/src/pkg").mkdir(parents=True)
    assert project.find_root(tmp_path / "repo/src/pkg") == (tmp_path / "repo").resolve()
    (tmp_path / "repo/src/setup.cfg").write_text("")
    assert project.find_root(tmp_path / "repo/src/pkg") == (tmp_path / "repo/src").resolve()


def test_default_evidence_is_the_usual_folders_and_root_scripts(tmp_path: Path) -> None:
    for folder in ("tests", "examples", "docs"):
        (tmp_path / folder).mkdir()
    (tmp_path / "train.py").write_text("")
    (tmp_path / "README.md").write_text("")
    assert project.default_evidence(tmp_path) == (tmp_path / "tests", tmp_path / "examples", tmp_path / "train.py")
