"""Where a project's importable code lives, read from its ``pyproject.toml``: a src layout needs no PYTHONPATH.

The folders that hold the project's packages, as its build backend would find them: setuptools' ``package-dir``
and ``packages.find.where``, Poetry's ``packages[].from``, Hatch's wheel ``packages``, and otherwise a ``src``
folder holding a package (setuptools finds that one by itself). A ``pyproject.toml`` that cannot be read gives
no folder; the trace then runs as it would without one.
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - older interpreters
    import tomli as tomllib


def _table(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _declared(document: dict) -> Iterator[str]:
    tool = document.get("tool")
    package_dir = _table(tool, "setuptools", "package-dir")
    if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
        yield package_dir[""]
    where = _table(tool, "setuptools", "packages", "find", "where")
    yield from (folder for folder in where or () if isinstance(folder, str))
    for package in _table(tool, "poetry", "packages") or ():
        if isinstance(_table(package, "from"), str):
            yield package["from"]
    for package in _table(tool, "hatch", "build", "targets", "wheel", "packages") or ():
        if isinstance(package, str):
            yield str(PurePosixPath(package).parent)


def source_folders(root: Path) -> list[str]:
    """The folders of ``root``'s project to put on ``sys.path`` (absolute), none if it has no such layout."""
    try:
        with open(root / "pyproject.toml", "rb") as stream:
            document = tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    declared = [folder for folder in _declared(document) if folder not in ("", ".")]
    if not declared and any((child / "__init__.py").is_file() for child in _children(root / "src")):
        declared = ["src"]
    found: list[str] = []
    for folder in declared:
        path = str((root / folder).resolve())
        if Path(path).is_dir() and path not in found:
            found.append(path)
    return found


def _children(folder: Path) -> list[Path]:
    try:
        return [child for child in folder.iterdir() if child.is_dir()]
    except OSError:
        return []
