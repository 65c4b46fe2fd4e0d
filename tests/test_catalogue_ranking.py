"""The accuracy the project promises: for every catalogued break, static findings and the trace ranked
together put the edited line first, and the trace names exactly the parameters the break cuts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from braggsim import breaks
from gradlint.diagnose import diagnose
from gradlint.engine import CheckOptions, check

SIMULATOR = Path(breaks.__file__).resolve().parent
OUTCOMES = {"none": "missing", "zero": "zero", "error": "error"}


def _diagnose(folder: Path):
    package = folder / "braggsim"
    findings = check([package], CheckOptions(root=folder)).findings
    return diagnose(
        "braggsim.workloads:gradient_flow",
        findings=findings,
        root=folder,
        user_paths=[str(package)],
        pythonpath=[str(folder)],
        echo=False,
    )


@pytest.mark.parametrize("brk", breaks.BREAKS, ids=lambda brk: brk.id)
def test_the_edited_line_ranks_first(brk, tmp_path):
    shutil.copytree(SIMULATOR, tmp_path / "braggsim", ignore=shutil.ignore_patterns("__pycache__"))
    line = breaks.apply(brk, tmp_path / "braggsim")
    diagnosis = _diagnose(tmp_path)
    top = diagnosis.suspects[0]
    assert (top.path, top.line) == (f"braggsim/{brk.path}", line)
    assert top.tier == 1
    bad = {
        report.name: report.outcome.value
        for report in diagnosis.result.parameters
        if report.name in diagnosis.result.bad_parameters
    }
    assert bad == {name: OUTCOMES[brk.outcome] for name in brk.parameters}


def test_the_clean_simulator_has_no_suspect_and_every_gradient(tmp_path):
    shutil.copytree(SIMULATOR, tmp_path / "braggsim", ignore=shutil.ignore_patterns("__pycache__"))
    diagnosis = _diagnose(tmp_path)
    assert diagnosis.suspects == [] and diagnosis.result.bad_parameters == ()
    assert len(diagnosis.result.parameters) == 16
