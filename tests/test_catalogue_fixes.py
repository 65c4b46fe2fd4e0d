"""Autofix on the reference simulator: each catalogued break a fix can repair is repaired, and every parameter
gets its gradient back, with the loss of the unedited simulator.

Each break is planted in its own copy of the package; ``gradlint --fix --unsafe-fixes`` runs on the copy; the
probe of the break catalogue's tests runs the gradient-flow workload on every copy it changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_breaks import PROBE, UNEDITED, copy_package, run_probe

from braggsim.breaks import ALL_PARAMETERS, BREAKS, apply
from gradlint.cli import run

# The breaks whose cut a fix repairs (by the fix of the rule named).
REPAIRED = {
    "item_phi_step",  # GL010: `.item()` in arithmetic
    "math_radians_mosaic_spread",  # GL013: `math.radians` of a tensor
    "data_reciprocal_basis",  # GL020: a returned `.data` (unsafe: it escapes)
    "tensor_rotation_about_x",  # GL041: `torch.tensor` of nested lists
    "linspace_phi_angles",  # GL050: `linspace` with tensor ends
    "full_like_fluence",  # GL090 and GL012: `full_like` filled with `float(...)`, then the `float` itself
}


@pytest.fixture(scope="module")
def repaired(tmp_path_factory) -> dict[str, Path]:
    """Every break planted and fixed in its own copy: the copies whose fixes changed the planted file."""
    root = tmp_path_factory.mktemp("fixed")
    changed = {}
    with pytest.MonkeyPatch.context() as patch:
        for brk in BREAKS:
            copy = root / brk.id
            package = copy_package(copy)
            (copy / "pyproject.toml").write_text("[tool.gradlint]\n")
            apply(brk, package)
            planted = (package / brk.path).read_text(encoding="utf-8")
            patch.chdir(copy)
            run(["--no-cache", "--fix", "--unsafe-fixes", "--output", str(copy / "report.txt"), "braggsim"])
            if (package / brk.path).read_text(encoding="utf-8") != planted:
                changed[brk.id] = copy
    return changed


def test_the_fixes_repair_exactly_the_expected_breaks(repaired: dict[str, Path]) -> None:
    assert set(repaired) == REPAIRED


def test_every_parameter_gets_its_gradient_back(repaired: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(PROBE)
    unedited = tmp_path / UNEDITED
    copy_package(unedited)
    result = run_probe(tmp_path, [unedited, *repaired.values()])
    assert result.returncode == 0, result.stderr
    reports = {Path(report["copy"]).name: report for report in map(json.loads, result.stdout.splitlines())}
    for name in [UNEDITED, *repaired]:
        assert reports[name]["workload_error"] is None, name
        assert reports[name]["outcomes"] == dict.fromkeys(ALL_PARAMETERS, "ok"), name
        assert reports[name]["loss"] == pytest.approx(reports[UNEDITED]["loss"], rel=1e-9), name
