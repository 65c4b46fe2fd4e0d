"""The break catalogue: each edit applies cleanly and cuts exactly the gradients it claims, nothing else.

Every break is applied to its own copy of the package. One probe process per core imports torch once,
then runs the gradient-flow workload from each of its copies in turn, that copy first on the path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("torch")

import braggsim
from braggsim.breaks import (
    ALL_PARAMETERS,
    BREAKS,
    FAMILIES,
    WRONG_GRADIENT_BREAKS,
    Break,
    BreakNotApplicable,
    apply,
)
from braggsim.workloads import gradient_flow_problem

PACKAGE = Path(braggsim.__file__).parent
UNEDITED = "unedited"
GRAPH_REUSE = "Trying to backward through the graph a second time"

# For each package copy named on the command line: run the workload as written and classify each
# parameter's .grad as none / zero / nonfinite / ok. When the workload's backward raises, probe each
# parameter's gradient separately on a fresh second iteration to find the ones that need the stale
# graph ("error"). Prints one JSON report per copy.
PROBE = textwrap.dedent(
    """
    import importlib
    import json
    import sys
    import warnings

    import torch

    warnings.simplefilter("ignore")


    def classify(gradient):
        if gradient is None:
            return "none"
        if not torch.isfinite(gradient).all():
            return "nonfinite"
        return "zero" if bool((gradient == 0).all()) else "ok"


    def probe(workloads):
        report = {"workload_error": None}
        problem = workloads.gradient_flow_problem()
        try:
            report["loss"] = workloads.fit(problem).item()
            report["outcomes"] = {name: classify(grad) for name, grad in problem.gradients().items()}
            return report
        except RuntimeError as error:
            report["workload_error"] = str(error)
        problem = workloads.gradient_flow_problem()
        workloads.fit(problem, iterations=1)
        problem.zero_grad()
        loss = problem.loss()
        report["loss"] = loss.item()
        report["outcomes"] = {}
        for name, parameter in problem.parameters.items():
            try:
                (gradient,) = torch.autograd.grad(loss, parameter, retain_graph=True, allow_unused=True)
            except RuntimeError:
                report["outcomes"][name] = "error"
            else:
                report["outcomes"][name] = classify(gradient)
        return report


    for copy in sys.argv[1:]:
        for module in [name for name in sys.modules if name.split(".")[0] == "braggsim"]:
            del sys.modules[module]
        sys.path.insert(0, copy)
        workloads = importlib.import_module("braggsim.workloads")
        report = probe(workloads)
        sys.path.remove(copy)
        print(json.dumps({"copy": copy, "package": workloads.__file__, **report}))
    """
)


def copy_package(destination: Path) -> Path:
    package = destination / "braggsim"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    return package


def run_probe(root: Path, copies: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(root / "probe.py"), *map(str, copies)],
        check=False,
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    """The probe's report for the unedited package and for every break, by break id."""
    root = tmp_path_factory.mktemp("breaks")
    (root / "probe.py").write_text(PROBE)
    copies = {UNEDITED: root / UNEDITED}
    copy_package(copies[UNEDITED])
    for brk in BREAKS:
        copies[brk.id] = root / brk.id
        apply(brk, copy_package(copies[brk.id]))
    workers = min(os.cpu_count() or 1, 4)
    batches = [list(copies.values())[index::workers] for index in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda batch: run_probe(root, batch), batches))
    by_copy = {}
    for result in results:
        assert result.returncode == 0, result.stderr
        for line in result.stdout.splitlines():
            report = json.loads(line)
            by_copy[report["copy"]] = report
    parsed = {name: by_copy[str(copy)] for name, copy in copies.items()}
    for name, report in parsed.items():
        assert Path(report["package"]).is_relative_to(copies[name]), name
    return parsed


def test_catalogue_covers_every_family_with_distinct_breaks() -> None:
    assert len(BREAKS) >= 15
    assert len({brk.id for brk in BREAKS}) == len(BREAKS)
    assert {brk.family for brk in BREAKS} == set(FAMILIES)
    assert len({(brk.path, brk.old, brk.new) for brk in BREAKS}) == len(BREAKS)


def test_named_parameters_are_the_workload_parameters() -> None:
    assert set(gradient_flow_problem().parameters) == ALL_PARAMETERS
    for brk in BREAKS:
        assert brk.parameters and brk.parameters <= ALL_PARAMETERS, brk.id


@pytest.mark.parametrize("brk", BREAKS, ids=lambda brk: brk.id)
def test_old_fragment_occurs_exactly_once(brk: Break) -> None:
    assert (PACKAGE / brk.path).read_text(encoding="utf-8").count(brk.old) == 1


@pytest.mark.parametrize("brk", BREAKS, ids=lambda brk: brk.id)
def test_apply_edits_one_site_and_returns_its_line(brk: Break, tmp_path) -> None:
    package = copy_package(tmp_path)
    original = (PACKAGE / brk.path).read_text(encoding="utf-8").splitlines()
    line = apply(brk, package)
    edited = (package / brk.path).read_text(encoding="utf-8")
    lines = edited.splitlines()
    added = [statement for statement in brk.imports if statement not in original]  # inserted above the edit
    assert brk.old in original[line - 1 - len(added)]
    assert lines[line - 1] == original[line - 1 - len(added)].replace(brk.old, brk.new.splitlines()[0])
    assert len(lines) == len(original) + brk.new.count("\n") + len(added)
    assert all(statement in lines for statement in brk.imports)
    compile(edited, brk.path, "exec")
    unchanged = [path for path in PACKAGE.glob("*.py") if path.name != brk.path]
    assert all(path.read_bytes() == (package / path.name).read_bytes() for path in unchanged)


def test_apply_refuses_a_fragment_that_is_not_unique(tmp_path) -> None:
    package = copy_package(tmp_path)
    before = (package / "crystal.py").read_bytes()
    ambiguous = replace(BREAKS[0], path="crystal.py", old="self.config")
    with pytest.raises(BreakNotApplicable, match="occurs"):
        apply(ambiguous, package)
    assert (package / "crystal.py").read_bytes() == before


def test_unedited_simulator_gives_every_parameter_a_gradient(reports: dict[str, dict]) -> None:
    report = reports[UNEDITED]
    assert report["workload_error"] is None
    assert report["loss"] > 0
    assert report["outcomes"] == dict.fromkeys(ALL_PARAMETERS, "ok")


@pytest.mark.parametrize("brk", BREAKS, ids=lambda brk: brk.id)
def test_break_cuts_exactly_its_parameters(brk: Break, reports: dict[str, dict]) -> None:
    report = reports[brk.id]
    expected = {name: brk.outcome if name in brk.parameters else "ok" for name in ALL_PARAMETERS}
    assert report["outcomes"] == expected
    if brk.outcome == "error":
        assert GRAPH_REUSE in report["workload_error"]
    else:
        assert report["workload_error"] is None
    if brk.family == "zero_forward":
        assert report["loss"] == 0.0
    else:
        assert report["loss"] > 0


# For the package copy on the command line: each parameter's autograd gradient of the workload's first loss and
# its central finite difference (float64, step 1e-6 of the value), as JSON.
DIFFERENCES = textwrap.dedent(
    """
    import json
    import sys
    import warnings

    import torch

    warnings.simplefilter("ignore")
    sys.path.insert(0, sys.argv[1])
    from braggsim import workloads

    problem = workloads.gradient_flow_problem()
    problem.loss().backward()


    @torch.no_grad()
    def loss_moved(parameter, shift):
        parameter += shift
        value = problem.loss().item()
        parameter -= shift
        return value


    found = {}
    for name, parameter in problem.parameters.items():
        step = 1e-6 * max(1.0, abs(parameter.item()))
        numeric = (loss_moved(parameter, step) - loss_moved(parameter, -step)) / (2 * step)
        found[name] = [parameter.grad.item(), numeric]
    print(json.dumps(found))
    """
)


@pytest.mark.parametrize("brk", WRONG_GRADIENT_BREAKS, ids=lambda brk: brk.id)
def test_wrong_gradient_break_leaves_its_parameters_finite_non_zero_and_wrong(brk: Break, tmp_path) -> None:
    apply(brk, copy_package(tmp_path / "copy"))
    (tmp_path / "differences.py").write_text(DIFFERENCES)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "differences.py"), str(tmp_path / "copy")],
        check=True,
        capture_output=True,
        text=True,
    )
    gradients = json.loads(done.stdout)
    wrong = set()
    for name, (autograd, numeric) in gradients.items():
        assert autograd != 0.0 and abs(autograd) < float("inf"), name
        if abs(autograd - numeric) > 1e-3 * max(abs(autograd), abs(numeric)):
            wrong.add(name)
    assert wrong == brk.parameters
