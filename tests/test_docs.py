"""What the documentation shows must work: its pre-commit configurations pass ``pre-commit validate-config``
and name the hook this repository defines, and the JSON report's example is what gradlint prints for it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradlint import __version__

REPOSITORY = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
PRE_COMMIT = shutil.which("pre-commit") or shutil.which("pre-commit", path=str(Path(sys.executable).parent))
_BLOCK = re.compile(r"^```(?P<language>\w*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(path: Path, language: str) -> list[str]:
    return [
        match["body"] for match in _BLOCK.finditer(path.read_text(encoding="utf-8")) if match["language"] == language
    ]


def pre_commit_configurations() -> list[tuple[str, str]]:
    return [
        (f"{path.name}:{index}", body)
        for path in DOCUMENTS
        for index, body in enumerate(blocks(path, "yaml"))
        if "hooks:" in body and "- id: gradlint" in body
    ]


def test_the_readme_and_the_guides_show_a_pre_commit_configuration() -> None:
    places = {name.split(":")[0] for name, _ in pre_commit_configurations()}
    assert {"README.md", "ci.md", "walkthrough.md"} <= places


@pytest.mark.skipif(PRE_COMMIT is None, reason="needs the pre-commit executable")
@pytest.mark.parametrize(("name", "configuration"), pre_commit_configurations())
def test_pre_commit_configuration_is_valid(tmp_path: Path, name: str, configuration: str) -> None:
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(configuration)
    completed = subprocess.run([PRE_COMMIT, "validate-config", str(config)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert configuration.startswith(("repos:", "# .pre-commit-config.yaml\nrepos:"))


@pytest.mark.skipif(PRE_COMMIT is None, reason="needs the pre-commit executable")
def test_the_hook_manifest_is_valid() -> None:
    manifest = REPOSITORY / ".pre-commit-hooks.yaml"
    completed = subprocess.run([PRE_COMMIT, "validate-manifest", str(manifest)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    text = manifest.read_text()
    assert "require_serial: true" in text and "types_or: [python, pyi, jupyter]" in text


def test_json_example_is_what_gradlint_prints(tmp_path: Path) -> None:
    document = REPOSITORY / "docs/json-schema.md"
    for source in blocks(document, "python"):
        name = source.splitlines()[0].removeprefix("# ")
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    (tmp_path / "src/sim/__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    completed = subprocess.run(
        [sys.executable, "-m", "gradlint", "--no-cache", "--format", "json", "src"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    (example,) = blocks(document, "json")
    assert json.loads(completed.stdout) == {**json.loads(example), "gradlint_version": __version__}


def test_walkthrough_shows_what_gradlint_prints(tmp_path: Path) -> None:
    document = REPOSITORY / "docs/walkthrough.md"
    (tmp_path / "src/mysim").mkdir(parents=True)
    (tmp_path / "src/mysim/__init__.py").write_text("")
    (tmp_path / "src/mysim/model.py").write_text(blocks(document, "python")[0])
    runs = [
        block
        for block in blocks(document, "console")
        if block.startswith("$ gradlint ") and " trace " not in block.splitlines()[0]
    ]
    assert len(runs) == 2
    for block in runs:
        command, *expected = block.splitlines()
        completed = subprocess.run(
            [sys.executable, "-m", "gradlint", "--no-cache", *command.split()[2:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert completed.stdout.splitlines() == expected
