"""The reference simulator: every catalogued break is found by the trace alone, and the intact one is clean."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gradlint.rank import rank
from gradlint.trace import run
from gradlint.trace.results import Outcome

breaks = pytest.importorskip("braggsim.breaks")
WORKLOAD = "braggsim.workloads:gradient_flow"
OUTCOMES = {"none": Outcome.MISSING, "zero": Outcome.ZERO, "error": Outcome.ERROR}


def package_copy(tmp_path: Path) -> Path:
    import braggsim

    target = tmp_path / "braggsim"
    shutil.copytree(Path(braggsim.__file__).parent, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def trace_copy(tmp_path: Path):
    return run(WORKLOAD, user_paths=[str(tmp_path)], root=str(tmp_path), pythonpath=[str(tmp_path)], echo=False)


@pytest.mark.parametrize("brk", breaks.BREAKS, ids=lambda brk: brk.id)
def test_break_is_named_with_its_parameters_and_ranked_first(tmp_path, brk):
    edited_line = breaks.apply(brk, package_copy(tmp_path))
    result = trace_copy(tmp_path)
    outcome = OUTCOMES[brk.outcome]
    assert {p.name for p in result.parameters if p.outcome is outcome} == set(brk.parameters)
    assert {p.name for p in result.parameters if p.outcome.is_bad} == set(brk.parameters)
    top = rank(None, result)[0]
    assert (top.path, top.line, top.tier) == (f"braggsim/{brk.path}", edited_line, 1)


def test_intact_simulator_has_no_trace_evidence(tmp_path):
    package_copy(tmp_path)
    result = trace_copy(tmp_path)
    assert result.failure is None
    assert len(result.parameters) == 16
    assert result.bad_parameters == ()
    assert rank(None, result) == []


def test_static_findings_and_the_trace_agree_on_the_break(tmp_path):
    from gradlint.engine import CheckOptions, check
    from gradlint.rank import lines_of

    brk = next(b for b in breaks.BREAKS if b.family == "detach")
    edited_line = breaks.apply(brk, package_copy(tmp_path))
    findings = check([tmp_path / "braggsim"], CheckOptions(root=tmp_path)).findings
    result = run(
        WORKLOAD,
        user_paths=[str(tmp_path)],
        root=str(tmp_path),
        pythonpath=[str(tmp_path)],
        echo=False,
        executed_lines=lines_of(findings),
    )
    top = rank(findings, result)[0]
    assert (top.path, top.line, top.tier, top.static_missed) == (f"braggsim/{brk.path}", edited_line, 1, False)
    assert top.codes and top.trace


@pytest.mark.parametrize("brk", breaks.WRONG_GRADIENT_BREAKS, ids=lambda brk: brk.id)
def test_a_wrong_but_non_zero_gradient_is_found_by_the_gradient_check_and_its_cut_ranked_first(tmp_path, brk):
    edited_line = breaks.apply(brk, package_copy(tmp_path))
    unchecked = trace_copy(tmp_path)
    assert unchecked.bad_parameters == ()  # every gradient is finite and non-zero: only a check can tell
    result = run(
        WORKLOAD,
        user_paths=[str(tmp_path)],
        root=str(tmp_path),
        pythonpath=[str(tmp_path)],
        echo=False,
        check_gradients=True,
    )
    assert {p.name for p in result.parameters if p.outcome is Outcome.WRONG} == set(brk.parameters)
    assert set(result.bad_parameters) == set(brk.parameters)
    for report in result.parameters:
        assert report.check.verdict == ("disagrees" if report.name in brk.parameters else "agrees"), report
        assert report.check.dtype == "float64"
    top = rank(None, result)[0]
    assert (top.path, top.line, top.tier) == (f"braggsim/{brk.path}", edited_line, 1)
    assert any("--check-gradients ran the target" in note for note in result.notes)


def test_the_intact_simulator_agrees_with_finite_differences(tmp_path):
    package_copy(tmp_path)
    result = run(
        WORKLOAD,
        user_paths=[str(tmp_path)],
        root=str(tmp_path),
        pythonpath=[str(tmp_path)],
        echo=False,
        check_gradients=True,
        params=["cell_*", "wavelength"],
    )
    assert [p.name for p in result.parameters] == [
        "cell_a",
        "cell_b",
        "cell_c",
        "cell_alpha",
        "cell_beta",
        "cell_gamma",
        "wavelength",
    ]
    assert {p.check.verdict for p in result.parameters} == {"agrees"}
    assert result.bad_parameters == () and result.passes == 1 + 1 + 2 * 7  # first, the check's first, two per parameter
