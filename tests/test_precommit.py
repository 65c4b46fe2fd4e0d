"""The pre-commit hook, run for real: ``pre-commit try-repo`` installs this repository (a committed copy of
the working tree, so uncommitted work is what gets tested) into a fresh virtualenv and runs the hook on the
staged files of a scratch repository. Needs the package index (to install libcst and click) and takes about
a minute; deselect with ``-m "not precommit"``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.precommit

REPOSITORY = Path(__file__).resolve().parents[1]
PRE_COMMIT = shutil.which("pre-commit") or shutil.which("pre-commit", path=str(Path(sys.executable).parent))

SEVERING = """\
import torch


def energy(x):
    w = torch.ones(3, requires_grad=True)
    return torch.tensor([w.sum().item()]) * x
"""
CLEAN = """\
import torch


def energy(x):
    w = torch.ones(3, requires_grad=True)
    return (w * x).sum()
"""

if PRE_COMMIT is None or shutil.which("git") is None:
    pytest.skip("needs the pre-commit and git executables", allow_module_level=True)


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Isolated from the user's git and pre-commit settings."""
    home = tmp_path_factory.mktemp("home")
    return {
        **os.environ,
        "PRE_COMMIT_HOME": str(home / "pre-commit"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }


def git(folder: Path, env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True, text=True)
    return completed.stdout


@pytest.fixture(scope="module")
def hook_repository(tmp_path_factory: pytest.TempPathFactory, environment: dict[str, str]) -> Path:
    """The working tree's tracked and untracked (not ignored) files, committed in a new repository."""
    copy = tmp_path_factory.mktemp("hook-repository")
    listing = git(REPOSITORY, environment, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listing.split("\0")):
        source = REPOSITORY / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    git(copy, environment, "init", "-q")
    git(copy, environment, "add", "-A")
    git(copy, environment, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "snapshot")
    return copy


def try_hook(
    tmp_path: Path, env: dict[str, str], hook_repository: Path, staged: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "project"
    project.mkdir()
    git(project, env, "init", "-q")
    for name, text in staged.items():
        (project / name).write_text(text)
        git(project, env, "add", name)
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(hook_repository), "gradlint"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_hook_fails_on_a_severing_operation(tmp_path: Path, environment: dict[str, str], hook_repository: Path) -> None:
    completed = try_hook(tmp_path, environment, hook_repository, {"energy.py": SEVERING})
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "gradlint" in completed.stdout and "Failed" in completed.stdout
    assert "energy.py:6:12: GL041 " in completed.stdout
    assert "energy.py:6:26: GL010 " in completed.stdout


def test_hook_passes_on_clean_code(tmp_path: Path, environment: dict[str, str], hook_repository: Path) -> None:
    completed = try_hook(tmp_path, environment, hook_repository, {"energy.py": CLEAN})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Passed" in completed.stdout
