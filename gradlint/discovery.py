"""Which files to check: walk the given files and folders, skipping excluded names and paths.

An exclude pattern is a glob (``fnmatch`` syntax, where ``*`` also crosses ``/``) matched against each
entry's name and against its path relative to the project root, written with forward slashes.
Files and folders named explicitly are always taken; the patterns apply to what the walk finds inside them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePath
from typing import Iterable, Sequence

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".venv",
    "venv",
    "__pycache__",
    "build",
    "dist",
    ".gradlint_cache",
    ".tox",
    ".nox",
    "node_modules",
    "*.egg-info",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)
SOURCE_SUFFIXES: tuple[str, ...] = (".py", ".pyi", ".ipynb")


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def exclusion_patterns(exclude: Sequence[str] = (), extend_exclude: Sequence[str] = ()) -> tuple[str, ...]:
    """``exclude`` replaces the default patterns when it is not empty; ``extend_exclude`` adds to them."""
    base = tuple(exclude) if exclude else DEFAULT_EXCLUDES
    return tuple(pattern.rstrip("/") for pattern in (*base, *extend_exclude))


def is_excluded(path: Path, *, root: Path, patterns: Sequence[str]) -> bool:
    """Whether any part of ``path`` (by name, or as a path relative to ``root``) matches a pattern."""
    relative = relative_posix(path, root)
    if relative is None:
        return any(_matches(part, None, patterns) for part in path.parts)
    prefix = ""
    for part in PurePath(relative).parts:
        prefix = f"{prefix}/{part}" if prefix else part
        if _matches(part, prefix, patterns):
            return True
    return False


def discover(
    paths: Iterable[Path],
    *,
    root: Path,
    exclude: Sequence[str] = (),
    extend_exclude: Sequence[str] = (),
) -> Discovery:
    """Every file to check under ``paths``, in a deterministic order, each real file once."""
    patterns = exclusion_patterns(exclude, extend_exclude)
    result = Discovery()
    found: list[Path] = []
    visited_dirs: set[str] = set()
    for path in paths:
        if path.is_dir():
            _walk(path, relative_posix(path, root), patterns, visited_dirs, found, result.warnings)
        elif path.exists():
            found.append(path)
        else:
            result.warnings.append(f"{path}: no such file or directory")
    seen_files: set[str] = set()
    for path in sorted(found, key=lambda candidate: candidate.parts):
        real = os.path.realpath(path)
        if real not in seen_files:
            seen_files.add(real)
            result.files.append(path)
    return result


def _walk(
    top: Path,
    top_relative: str | None,
    patterns: Sequence[str],
    visited_dirs: set[str],
    found: list[Path],
    warnings: list[str],
) -> None:
    pending: list[tuple[Path, str | None]] = [(top, top_relative)]
    while pending:
        directory, relative = pending.pop()
        real = os.path.realpath(directory)
        if real in visited_dirs:
            continue
        visited_dirs.add(real)
        try:
            with os.scandir(directory) as entries:
                listing = list(entries)
        except OSError as error:
            warnings.append(f"{directory}: cannot read directory ({error.strerror or error})")
            continue
        for entry in listing:
            entry_relative = _join(relative, entry.name)
            if _matches(entry.name, entry_relative, patterns):
                continue
            try:
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()
            except OSError:
                continue
            if is_dir:
                pending.append((directory / entry.name, entry_relative))
            elif is_file and entry.name.endswith(SOURCE_SUFFIXES):
                found.append(directory / entry.name)


def _matches(name: str, relative: str | None, patterns: Sequence[str]) -> bool:
    return any(
        fnmatchcase(name, pattern) or (relative is not None and fnmatchcase(relative, pattern)) for pattern in patterns
    )


def _join(relative: str | None, name: str) -> str | None:
    if relative is None:
        return None
    return f"{relative}/{name}" if relative else name


def relative_posix(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` with forward slashes ("" for the root itself), or None when outside."""
    try:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # another drive
        return None
    if relative == os.curdir:
        return ""
    if relative == os.pardir or relative.startswith(os.pardir + os.sep) or os.path.isabs(relative):
        return None
    return PurePath(relative).as_posix()
