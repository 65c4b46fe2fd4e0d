"""The writer of users' files: edits keep everything they do not replace, and only changed files are written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gradlint import edits
from gradlint.findings import Edit, Location


def edit(line: int, column: int, end_line: int, end_column: int, content: str) -> Edit:
    return Edit(Location("f.py", line, column, end_line, end_column), content)


def test_edits_keep_the_encoding_the_byte_order_mark_and_the_line_endings() -> None:
    latin = "# -*- coding: latin-1 -*-\r\nnom = 'café'\r\nx = y.data\r\n".encode("latin-1")
    assert edits.apply(latin, [edit(3, 5, 3, 11, "y")], notebook=False) == (
        "# -*- coding: latin-1 -*-\r\nnom = 'café'\r\nx = y\r\n".encode("latin-1")
    )
    marked = "\ufeffx = float(t) * w\n".encode("utf-8")
    assert edits.apply(marked, [edit(1, 5, 1, 13, "t")], notebook=False) == "\ufeffx = t * w\n".encode("utf-8")


def test_edits_apply_from_the_end_and_across_lines() -> None:
    text = "a = f(\n    x)\nb = g(y)\n"
    assert edits.apply_text(text, [edit(1, 5, 2, 7, "x"), edit(3, 5, 3, 9, "y")]) == "a = x\nb = y\n"
    with pytest.raises(ValueError, match="overlapping"):
        edits.apply_text(text, [edit(1, 1, 1, 6, ""), edit(1, 3, 1, 9, "")])


def test_write_changes_only_changed_files_keeping_their_mode(tmp_path: Path) -> None:
    changed, same = tmp_path / "changed.py", tmp_path / "same.py"
    changed.write_bytes(b"x = 1\n")
    changed.chmod(0o750)
    same.write_bytes(b"y = 2\n")
    stamp = same.stat().st_mtime_ns
    problems = edits.write(
        [
            edits.FileChange(changed, "changed.py", b"x = 1\n", b"x = 2\n"),
            edits.FileChange(same, "same.py", b"y = 2\n", b"y = 2\n"),
        ]
    )
    assert problems == []
    assert changed.read_bytes() == b"x = 2\n" and stat.S_IMODE(changed.stat().st_mode) == 0o750
    assert same.stat().st_mtime_ns == stamp
    assert sorted(os.listdir(tmp_path)) == ["changed.py", "same.py"]  # no temporary file left


def test_write_follows_a_symbolic_link_and_refuses_a_file_changed_meanwhile(tmp_path: Path) -> None:
    target, link = tmp_path / "target.py", tmp_path / "link.py"
    target.write_bytes(b"x = 1\n")
    link.symlink_to(target)
    assert edits.write([edits.FileChange(link, "link.py", b"x = 1\n", b"x = 2\n")]) == []
    assert link.is_symlink() and target.read_bytes() == b"x = 2\n"
    assert edits.write([edits.FileChange(target, "target.py", b"x = 1\n", b"x = 3\n")]) == [
        "target.py: changed on disk while it was checked; left as it is"
    ]
    assert target.read_bytes() == b"x = 2\n"
