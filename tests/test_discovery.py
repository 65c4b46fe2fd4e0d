from __future__ import annotations

import os
from pathlib import Path

import pytest

from gradlint import discovery
from gradlint.discovery import DEFAULT_EXCLUDES, discover, exclusion_patterns, is_excluded, relative_posix


def make_tree(root: Path, names: list[str]) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def relative(files: list[Path], root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in files]


TREE = [
    "pkg/b.py",
    "pkg/a.py",
    "pkg/stubs.pyi",
    "pkg/notes.txt",
    "pkg/__pycache__/cached.py",
    "pkg/sub/deep.py",
    "build/generated.py",
    ".venv/lib/site.py",
    "thing.egg-info/meta.py",
    "node_modules/x.py",
    "top.py",
]


def test_walk_finds_python_files_in_sorted_order_skipping_default_excludes(tmp_path: Path) -> None:
    make_tree(tmp_path, TREE)
    result = discover([tmp_path], root=tmp_path)
    assert relative(result.files, tmp_path) == ["pkg/a.py", "pkg/b.py", "pkg/stubs.pyi", "pkg/sub/deep.py", "top.py"]
    assert result.warnings == []


def test_order_does_not_depend_on_argument_order(tmp_path: Path) -> None:
    make_tree(tmp_path, TREE)
    forward = discover([tmp_path / "top.py", tmp_path / "pkg"], root=tmp_path).files
    backward = discover([tmp_path / "pkg", tmp_path / "top.py"], root=tmp_path).files
    assert forward == backward


def test_explicit_file_is_taken_whatever_its_suffix_or_folder(tmp_path: Path) -> None:
    make_tree(tmp_path, ["scripts/run", "build/generated.py"])
    result = discover([tmp_path / "scripts/run", tmp_path / "build/generated.py"], root=tmp_path)
    assert relative(result.files, tmp_path) == ["build/generated.py", "scripts/run"]


def test_exclude_replaces_the_defaults(tmp_path: Path) -> None:
    make_tree(tmp_path, TREE)
    result = discover([tmp_path], root=tmp_path, exclude=["pkg", "node_modules", ".venv", "*.egg-info"])
    assert relative(result.files, tmp_path) == ["build/generated.py", "top.py"]


def test_extend_exclude_matches_relative_paths_and_names(tmp_path: Path) -> None:
    make_tree(tmp_path, TREE)
    result = discover([tmp_path], root=tmp_path, extend_exclude=["pkg/sub", "b.py", "pkg/*.pyi"])
    assert relative(result.files, tmp_path) == ["pkg/a.py", "top.py"]


def test_trailing_slash_in_pattern_is_ignored(tmp_path: Path) -> None:
    make_tree(tmp_path, ["keep.py", "gen/out.py"])
    result = discover([tmp_path], root=tmp_path, extend_exclude=["gen/"])
    assert relative(result.files, tmp_path) == ["keep.py"]


def test_relative_patterns_are_anchored_at_the_root_not_the_walked_folder(tmp_path: Path) -> None:
    make_tree(tmp_path, ["src/pkg/a.py", "src/pkg/gen/b.py"])
    result = discover([tmp_path / "src/pkg"], root=tmp_path, extend_exclude=["src/pkg/gen"])
    assert relative(result.files, tmp_path) == ["src/pkg/a.py"]


def test_paths_keep_the_form_they_were_given_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path, ["src/a.py"])
    monkeypatch.chdir(tmp_path)
    assert discover([Path("src")], root=tmp_path).files == [Path("src/a.py")]


def test_symlink_loop_terminates_and_lists_each_file_once(tmp_path: Path) -> None:
    make_tree(tmp_path, ["pkg/a.py"])
    (tmp_path / "pkg/loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "pkg/alias.py").symlink_to(tmp_path / "pkg/a.py")
    result = discover([tmp_path], root=tmp_path)
    assert relative(result.files, tmp_path) == ["pkg/a.py"]


def test_broken_symlink_is_skipped(tmp_path: Path) -> None:
    make_tree(tmp_path, ["a.py"])
    (tmp_path / "gone.py").symlink_to(tmp_path / "missing.py")
    assert relative(discover([tmp_path], root=tmp_path).files, tmp_path) == ["a.py"]


def test_unreadable_directory_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path, ["ok/a.py", "locked/b.py"])
    real_scandir = os.scandir

    def scandir(path: os.PathLike[str]) -> object:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", scandir)
    result = discover([tmp_path], root=tmp_path)
    assert relative(result.files, tmp_path) == ["ok/a.py"]
    assert result.warnings == [f"{tmp_path / 'locked'}: cannot read directory (Permission denied)"]


def test_missing_path_is_a_warning(tmp_path: Path) -> None:
    result = discover([tmp_path / "nope"], root=tmp_path)
    assert result.files == []
    assert result.warnings == [f"{tmp_path / 'nope'}: no such file or directory"]


def test_exclusion_patterns() -> None:
    assert exclusion_patterns() == DEFAULT_EXCLUDES
    assert exclusion_patterns(["a/"], ["b"]) == ("a", "b")
    assert exclusion_patterns((), ["b"]) == (*DEFAULT_EXCLUDES, "b")


def test_is_excluded_checks_every_part(tmp_path: Path) -> None:
    patterns = exclusion_patterns((), ["tests/fixtures"])
    assert is_excluded(tmp_path / "build/x.py", root=tmp_path, patterns=patterns)
    assert is_excluded(tmp_path / "tests/fixtures/bad.py", root=tmp_path, patterns=patterns)
    assert not is_excluded(tmp_path / "tests/test_x.py", root=tmp_path, patterns=patterns)
    assert not is_excluded(tmp_path / "src/build.py", root=tmp_path, patterns=patterns)


def test_relative_posix(tmp_path: Path) -> None:
    assert relative_posix(tmp_path / "a" / "b.py", tmp_path) == "a/b.py"
    assert relative_posix(tmp_path, tmp_path) == ""
    assert relative_posix(tmp_path.parent, tmp_path) is None
