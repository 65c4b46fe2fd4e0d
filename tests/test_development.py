"""The repository's own checks: its pre-commit configuration is valid, pins the ruff of the ``dev`` extra, and
runs gradlint on the reference simulator as the shipped hook runs it in a user's project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pre_commit")
import yaml  # pre-commit's own dependency

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPOSITORY = Path(__file__).resolve().parents[1]
CONFIG = REPOSITORY / ".pre-commit-config.yaml"


def _project() -> dict:
    with open(REPOSITORY / "pyproject.toml", "rb") as stream:
        return tomllib.load(stream)["project"]


def _repos() -> list[dict]:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["repos"]


def _pinned(package: str) -> str:
    """The exact version of ``package`` in the ``dev`` extra."""
    pins = [
        requirement
        for requirement in _project()["optional-dependencies"]["dev"]
        if requirement.startswith(f"{package}==")
    ]
    assert len(pins) == 1, f"the dev extra pins {package} once, exactly"
    return pins[0].partition("==")[2]


def test_pre_commit_validates_the_configuration():
    completed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(CONFIG)], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_ruff_hooks_run_the_pinned_ruff():
    ruff = [repo for repo in _repos() if repo["repo"] == "https://github.com/astral-sh/ruff-pre-commit"]
    assert [repo["rev"] for repo in ruff] == [f"v{_pinned('ruff')}"]
    assert [hook["id"] for hook in ruff[0]["hooks"]] == ["ruff-check", "ruff-format"]
    assert _pinned("mypy")  # the type checker of `make lint` is pinned too


def test_local_gradlint_hook_is_the_shipped_hook_on_the_simulator():
    shipped = yaml.safe_load((REPOSITORY / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    [local] = [repo for repo in _repos() if repo["repo"] == "local"]
    [hook] = local["hooks"]
    [published] = [entry for entry in shipped if entry["id"] == hook["id"]]
    assert hook["entry"] == f"python -m {published['entry']}"
    for key in ("language", "types_or", "require_serial"):
        assert hook[key] == published[key], key
    # The hook's environment is what installing the package brings, and no more (no torch).
    assert hook["additional_dependencies"] == _project()["dependencies"]
    assert hook["files"] == "^src/"
