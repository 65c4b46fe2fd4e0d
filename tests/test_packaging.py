"""The wheel a user installs (and every pre-commit environment) holds the package gradlint and nothing else at
top level: no reference simulator, no other command. Built for real from a copy of the working tree."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]

pytest.importorskip("setuptools")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listing.split("\0")):
        if (REPOSITORY / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPOSITORY / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    (built,) = out.glob("torch_gradlint-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_gradlint_only(wheel: zipfile.ZipFile) -> None:
    top_level = {name.split("/")[0] for name in wheel.namelist()}
    (metadata,) = [name for name in top_level if name.endswith(".dist-info")]
    assert top_level == {"gradlint", metadata}
    assert "gradlint/rules/builtin.py" in wheel.namelist()
    assert not [name for name in wheel.namelist() if "braggsim" in name or "/tests/" in name]


def test_the_wheel_installs_one_command(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert dict(parser["console_scripts"]) == {"gradlint": "gradlint.cli:main"}
