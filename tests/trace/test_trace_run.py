"""``gradlint.trace.run``: targets of every form, bad input, the report bundle, restored global state."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import TRACE_TESTS

from gradlint.trace import run
from gradlint.trace.results import EventKind, FailureKind, Frame, Outcome, Reason, TargetKind

FUNCTIONS = "trace_toys.scripts_and_tests"


@pytest.fixture(autouse=True)
def _from_trace_tests(toys_root):
    """Targets are given as a user would, from the folder holding ``trace_toys``."""


def test_function_returning_a_loss_gets_its_backward_called():
    result = run(f"{FUNCTIONS}:returns_loss", echo=False)
    assert (result.kind, result.failure, result.passes) == (TargetKind.FUNCTION, None, 1)
    (weight,) = result.parameters
    assert (weight.name, weight.outcome, weight.norm, weight.max_abs) == ("weight", Outcome.OK, 5.0, 4.0)
    # A healthy target runs once, without the recording trace: its harmless detach is seen only when recording.
    assert result.events == ()
    recorded = run(f"{FUNCTIONS}:returns_loss", echo=False, record="always")
    (event,) = recorded.events
    assert (recorded.passes, event.kind, event.parameters) == (1, EventKind.DETACH, ("weight",))


def test_script_runs_as_main_with_its_arguments(line, capsys):
    result = run("trace_toys/fit_script.py", args=["3"])
    assert result.failure is None
    assert {p.name: p.outcome for p in result.parameters} == {"slope": Outcome.MISSING, "offset": Outcome.OK}
    # The loss printed after its backward has delivered its gradient: reading it is not a cut.
    assert [(e.op, e.site.line, e.count, e.parameters) for e in result.events] == [
        ("Tensor.item", line("fit_script", "script item"), 3, ("slope",)),
    ]
    assert result.events[0].site == Frame("trace_toys/fit_script.py", line("fit_script", "script item"), "<module>")
    assert "steps 3 loss" in result.log
    assert "steps 3 loss" in capsys.readouterr().out  # shown while captured


def test_pytest_node_id_of_a_failing_test(line):
    result = run("trace_toys/node_targets.py::test_detached_weight", echo=False)
    assert (result.kind, result.failure, result.test_outcome) == (TargetKind.PYTEST, None, "failed")
    assert {p.name: p.reason for p in result.parameters} == {"weight": Reason.SEVERED, "bias": Reason.CONNECTED}
    (event,) = result.events
    assert event.site == Frame(
        "trace_toys/node_targets.py", line("node_targets", "test detach"), "test_detached_weight"
    )
    assert "1 failed" in result.log


def test_pytest_node_id_of_a_passing_test():
    result = run("trace_toys/node_targets.py::test_passes", echo=False)
    assert (result.failure, result.test_outcome, result.bad_parameters) == (None, "passed", ())


@pytest.mark.parametrize(
    ("target", "kind", "detail"),
    [
        ("trace_toys/missing.py", FailureKind.NOT_FOUND, "there is no file trace_toys/missing.py"),
        ("trace_toys/missing.py::test_x", FailureKind.NOT_FOUND, "there is no test file trace_toys/missing.py"),
        ("trace_toys/node_targets.py::test_nope", FailureKind.NOT_FOUND, "pytest found no test with this node id"),
        ("no_such_module:main", FailureKind.NOT_FOUND, "no module named 'no_such_module'"),
        (f"{FUNCTIONS}:nope", FailureKind.NOT_FOUND, f"module '{FUNCTIONS}' has no function 'nope'"),
        ("not a target", FailureKind.NOT_FOUND, "it is neither an existing file nor of the form module:function"),
        (
            "trace_toys.broken_import:main",
            FailureKind.IMPORT_ERROR,
            "RuntimeError: cannot import me at trace_toys/broken_import.py:3",
        ),
        (
            f"{FUNCTIONS}:raises",
            FailureKind.RAISED,
            "ValueError: bad configuration at trace_toys/scripts_and_tests.py:24",
        ),
        (f"{FUNCTIONS}:returns_nothing", FailureKind.NO_BACKWARD, ""),
        (f"{FUNCTIONS}:no_parameters", FailureKind.NO_PARAMETERS, ""),
    ],
)
def test_bad_targets_fail_with_a_kind_and_a_message(target, kind, detail):
    result = run(target, echo=False)
    assert (result.failure.kind, result.failure.detail) == (kind, detail)
    assert repr(target) in result.failure.message
    assert "\n" not in result.failure.message


def test_a_raising_target_still_reports_what_it_saw():
    result = run(f"{FUNCTIONS}:raises", echo=False)
    assert [(p.name, p.outcome) for p in result.parameters] == [("weight", Outcome.OK)]
    assert "ValueError: bad configuration" in result.log
    assert "Traceback" in result.log


def test_params_select_the_reported_parameters_and_unknown_names_fail():
    selected = run("trace_toys/fit_script.py", params=["offset"], echo=False)
    assert [p.name for p in selected.parameters] == ["offset"]
    unknown = run("trace_toys/fit_script.py", params=["offset", "intercept"], echo=False)
    assert unknown.failure.kind is FailureKind.UNKNOWN_PARAMETER
    assert unknown.failure.message.startswith(
        "No parameter of the trace target 'trace_toys/fit_script.py' is called "
        "'intercept'. The parameters seen were: slope, offset."
    )


def test_zero_gradient_triggers_a_diagnosis_pass():
    result = run("trace_toys.outcomes:zero_forward", echo=False)
    assert result.passes == 2
    assert {p.reason for p in result.parameters} == {Reason.ZERO_FORWARD}
    assert result.zero_factors[0].origin.expression == "settings.structure_factor"


def test_graph_reuse_is_a_raised_target_with_the_cached_tensor_named(line):
    result = run("trace_toys.outcomes:reuse_after_backward", echo=False)
    assert result.failure.kind is FailureKind.RAISED
    assert "the graph-reuse suspect names the tensor that was kept with its graph" in result.failure.message
    (reuse,) = result.graph_reuse
    assert reuse.created == Frame("trace_toys/outcomes.py", line("outcomes", "cached in init"), "__init__")


def test_executed_lines_are_reported_for_the_lines_asked(line):
    asked = {"trace_toys/cuts.py": {line("cuts", "detach"), line("cuts", "histc")}}
    result = run("trace_toys.cuts:detach_two_calls_away", executed_lines=asked, echo=False)
    assert result.executed_lines == {"trace_toys/cuts.py": frozenset({line("cuts", "detach")})}


def test_report_bundle(tmp_path):
    result = run("trace_toys/fit_script.py", args=["2"], report_dir=str(tmp_path), echo=False)
    (folder,) = tmp_path.iterdir()
    assert result.bundle == str(folder)
    assert folder.name.startswith("trace-")
    assert sorted(p.name for p in folder.iterdir()) == [
        "gradients.json",
        "output.log",
        "summary.md",
        "suspects.json",
        "trace.json",
    ]
    gradients = json.loads((folder / "gradients.json").read_text())
    assert [(p["name"], p["outcome"]) for p in gradients["parameters"]] == [("slope", "missing"), ("offset", "ok")]
    suspects = json.loads((folder / "suspects.json").read_text())["suspects"]
    assert (suspects[0]["path"], suspects[0]["tier"], suspects[0]["trace"][0]["op"]) == (
        "trace_toys/fit_script.py",
        1,
        "Tensor.item",
    )
    summary = (folder / "summary.md").read_text()
    assert "- command: `gradlint trace trace_toys/fit_script.py -- 2`" in summary
    assert f"torch {torch.__version__}" in summary
    # slope is missing, so the script ran a second time, recording: its output is logged after a separator.
    assert (folder / "output.log").read_text() == (
        "steps 2 loss 14.0\n\n---- gradlint recording pass (the target ran again) ----\nsteps 2 loss 14.0\n"
    )


def test_report_bundle_is_written_for_a_failed_target(tmp_path):
    result = run("trace_toys/missing.py", report_dir=str(tmp_path), echo=False)
    (folder,) = tmp_path.iterdir()
    trace = json.loads((folder / "trace.json").read_text())
    assert trace["failure"]["kind"] == "not_found"
    assert result.failure.message in (folder / "summary.md").read_text()


def test_global_state_is_restored():
    import trace_toys.cuts as before

    argv, path, modules = list(sys.argv), list(sys.path), dict(sys.modules)
    from_numpy, dtype, depth = torch.from_numpy, torch.get_default_dtype(), torch._C._len_torch_function_stack()
    cwd = os.getcwd()
    with torch.no_grad():
        run("trace_toys/fit_script.py", args=["1"], echo=False)
        assert not torch.is_grad_enabled()
    assert (sys.argv, sys.path, os.getcwd()) == (argv, path, cwd)
    assert (torch.from_numpy, torch.get_default_dtype(), torch._C._len_torch_function_stack()) == (
        from_numpy,
        dtype,
        depth,
    )
    assert sys.modules["trace_toys.cuts"] is before
    assert set(sys.modules) - set(modules) <= {m for m in sys.modules if not m.startswith("trace_toys")}


def test_without_torch_the_result_says_so_and_the_bundle_is_written(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from gradlint.trace import run\n"
        f"result = run('pkg.fit:main', report_dir={str(tmp_path)!r})\n"
        "print(result.failure.kind.value, 'torch' in result.failure.message)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "no_torch True\n"
    (folder,) = tmp_path.iterdir()
    assert "- versions: python" in (folder / "summary.md").read_text()
    assert "torch not installed" in (folder / "summary.md").read_text()


def test_the_first_run_sees_a_parameter_switched_on_by_attribute_that_no_frame_holds_at_backward():
    result = run(f"{FUNCTIONS}:flagged_by_attribute", echo=False)
    assert [(p.name, p.outcome) for p in result.parameters] == [("scale", Outcome.MISSING), ("offset", Outcome.OK)]
    assert result.passes == 2 and [e.op for e in result.events] == ["Tensor.item"]


def test_record_never_reports_outcomes_from_one_run_and_always_records_in_one_run():
    never = run("trace_toys/fit_script.py", args=["1"], echo=False, record="never")
    assert (never.passes, never.events, never.bad_parameters) == (1, (), ("slope",))
    always = run("trace_toys/fit_script.py", args=["1"], echo=False, record="always")
    assert (always.passes, [e.op for e in always.events], always.bad_parameters) == (1, ["Tensor.item"], ("slope",))
    assert always.notes == ()


def test_the_recording_run_draws_the_same_random_numbers_as_the_first():
    result = run(f"{FUNCTIONS}:random_cuts", echo=False)
    assert result.passes == 2 and result.bad_parameters
    assert not any("other gradients" in note for note in result.notes)
    assert "the target ran again under the recording trace, with the same random seeds" in result.notes[0]


def test_a_target_that_is_not_deterministic_is_called_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(TRACE_TESTS))
    result = run(f"{FUNCTIONS}:cut_on_first_run_only", echo=False)
    assert any(
        note.startswith(
            "the recording run saw other gradients than the first (is the target "
            "deterministic?): weight (missing in the first run, ok when recorded)"
        )
        for note in result.notes
    )


def test_a_gradient_zeroed_in_place_after_backward_is_settled_by_the_recording_run():
    result = run("trace_toys.outcomes:zeroed_in_place", echo=False)
    assert [(p.name, p.outcome, p.norm) for p in result.parameters] == [("weight", Outcome.OK, 5.0)]
    assert result.passes == 2
    assert any(
        note.startswith("the program changed gradients in place after their last backward")
        and note.endswith(": weight")
        for note in result.notes
    )
    assert not any("deterministic" in note for note in result.notes)
