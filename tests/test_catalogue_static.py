"""Dogfood: the reference simulator is clean, and every catalogued break that a static rule can see is reported
on its edited line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from braggsim import breaks
from gradlint.engine import CheckOptions, check

SIMULATOR = Path(breaks.__file__).resolve().parent
# A zero forward pass keeps the graph intact: only the trace can tell it apart.
TRACE_ONLY_FAMILIES = {"zero_forward"}


def test_reference_simulator_is_clean():
    result = check([SIMULATOR], CheckOptions(root=SIMULATOR.parent))
    assert result.findings == []
    assert result.files_checked == len(list(SIMULATOR.glob("*.py")))


@pytest.mark.parametrize(
    "brk", [b for b in breaks.BREAKS if b.family not in TRACE_ONLY_FAMILIES], ids=lambda brk: brk.id
)
def test_break_is_reported_on_its_edited_line(brk, tmp_path):
    package = tmp_path / "braggsim"
    shutil.copytree(SIMULATOR, package, ignore=shutil.ignore_patterns("__pycache__"))
    line = breaks.apply(brk, package)
    result = check([package], CheckOptions(root=tmp_path))
    reported = {(f.location.path, f.location.line) for f in result.findings}
    assert (f"braggsim/{brk.path}", line) in reported, sorted(reported)
    # The break is the only thing wrong: nothing is reported away from the edited lines.
    edited = set(range(line, line + brk.new.count("\n") + 1))
    assert {
        (path, number) for path, number in reported if number not in edited or path != f"braggsim/{brk.path}"
    } == set()
