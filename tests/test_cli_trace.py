"""The trace on the command line: `gradlint trace`, `gradlint PATHS --trace`, and `gradlint demo`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from gradlint.cli import run

FIT = """\
import torch


def loss():
    scale = torch.tensor(2.0, requires_grad=True)
    offset = torch.tensor(0.5, requires_grad=True)
    x = torch.linspace(0.0, 1.0, 8)
    factor = scale.item()
    prediction = x * factor + offset
    return prediction.square().sum()
"""
CUT_LINE = 8


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "fitting.py").write_text(FIT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_trace_names_the_missing_gradient_and_the_line_that_cut_it(project, capsys):
    assert run(["trace", "fitting:loss"]) == 1
    out = capsys.readouterr().out
    rows = {
        line.split()[0]: line.split()[1]
        for line in out.splitlines()
        if line.startswith("  scale") or line.startswith("  offset")
    }
    assert rows == {"scale": "missing", "offset": "ok"}
    assert f"1. fitting.py:{CUT_LINE} in loss  [tier 1]" in out


def test_checking_with_the_trace_merges_both_on_one_suspect(project, capsys):
    assert run(["fitting.py", "--trace", "fitting:loss", "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    top = document["suspects"][0]
    assert (top["path"], top["line"], top["tier"]) == ("fitting.py", CUT_LINE, 1)
    assert top["codes"] == ["GL010"] and top["bad_parameters"] == ["scale"]
    assert [evidence["op"] for evidence in top["trace"]] == ["Tensor.item"]
    assert document["trace"]["bad_parameters"] == ["scale"]


def test_suspects_become_sarif_results_and_github_annotations(project, capsys):
    assert run(["fitting.py", "--trace", "fitting:loss", "--format", "sarif"]) == 1
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert results[0]["ruleId"] == "GL010"
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == CUT_LINE
    assert "trace: Tensor.item cut the gradient" in results[0]["message"]["text"]
    assert results[0]["properties"]["confidence"] == "high"
    assert run(["fitting.py", "--trace", "fitting:loss", "--format", "github"]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"::warning file=fitting.py,line={CUT_LINE},")


def test_a_site_only_the_trace_sees_is_reported_with_the_trace_code(project, capsys):
    assert run(["trace", "fitting:loss", "--format", "github"]) == 1
    assert capsys.readouterr().out.startswith(f"::warning file=fitting.py,line={CUT_LINE},col=5,")


def test_report_bundle_is_written(project, capsys):
    assert run(["trace", "fitting:loss", "--report-dir", "reports"]) == 1
    bundles = list((project / "reports").iterdir())
    assert len(bundles) == 1
    names = sorted(path.name for path in bundles[0].iterdir())
    assert {"summary.md", "gradients.json", "trace.json", "suspects.json"} <= set(names)
    assert "report bundle written to" in capsys.readouterr().err


def test_a_healthy_target_exits_zero(project, capsys):
    (project / "healthy.py").write_text(FIT.replace("scale.item()", "scale"), encoding="utf-8")
    assert run(["trace", "healthy:loss"]) == 0
    assert "No suspect sites." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("missing_module:loss", "was not found"),
        ("fitting:nothing_here", "was not found"),
        ("nowhere.py", "was not found"),
    ],
)
def test_bad_targets_exit_two_with_one_clear_paragraph(project, capsys, target, words):
    assert run(["trace", target]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradlint: error: ") and words in err and "Traceback" not in err


def test_a_target_without_parameters_exits_two(project, capsys):
    (project / "constant.py").write_text(
        textwrap.dedent("""\
        import torch

        def loss():
            return torch.ones(3).sum()
    """),
        encoding="utf-8",
    )
    assert run(["trace", "constant:loss"]) == 2
    assert "no tensor that requires grad" in capsys.readouterr().err


def test_demo_ranks_the_planted_line_first_and_finds_the_clean_simulator_clean(capsys):
    assert run(["demo"]) == 0
    out = capsys.readouterr().out
    assert "=> ranked first: braggsim/crystal.py:53 (the planted line); bad gradients: oscillation" in out
    assert "2. The clean simulator: 16 parameters, every one with a real gradient, no suspect." in out


def test_demo_tells_a_zero_forward_pass_from_a_cut(capsys):
    assert run(["demo", "--break", "zero_default_structure_factor"]) == 0
    out = capsys.readouterr().out
    assert "=> ranked first: braggsim/config.py:44 (the planted line)" in out
    assert "zero factor in the forward pass" in out


def test_demo_lists_its_breaks_and_rejects_unknown_ones(capsys):
    assert run(["demo", "--list"]) == 0
    assert "item_phi_step" in capsys.readouterr().out
    assert run(["demo", "--break", "nope"]) == 2
    assert "no catalogued break is called 'nope'" in capsys.readouterr().err


def test_user_files_are_not_modified_by_a_trace(project):
    before = (project / "fitting.py").read_bytes()
    run(["fitting.py", "--trace", "fitting:loss"])
    assert (project / "fitting.py").read_bytes() == before


def test_a_failing_target_still_writes_the_bundle_with_what_was_captured(project, capsys):
    assert run(["trace", "missing_module:loss", "--report-dir", "reports"]) == 2
    bundle = next((project / "reports").iterdir())
    assert "was not found" in (bundle / "summary.md").read_text(encoding="utf-8")


def test_values_read_after_their_backward_are_not_cuts(project, capsys):
    (project / "logged.py").write_text(
        textwrap.dedent("""\
        import torch

        def fit():
            scale = torch.tensor(2.0, requires_grad=True)
            for _ in range(2):
                loss = (torch.linspace(0.0, 1.0, 8) * scale).square().sum()
                loss.backward()
                print(f"loss {loss.item():.3f}")
                assert loss.detach() > 0
                scale.grad = None
            return loss.item()
    """),
        encoding="utf-8",
    )
    assert run(["trace", "logged:fit"]) == 0
    assert "No suspect sites." in capsys.readouterr().out


def test_demo_without_torch_says_what_to_install(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "torch" else real(name, *rest))
    assert run(["demo"]) == 2
    err = capsys.readouterr().err
    assert "needs torch" in err and "Traceback" not in err


def test_param_takes_repeatable_glob_patterns(project, capsys):
    assert run(["trace", "fitting:loss", "--param", "sc*", "--param", "nothing*"]) == 2
    err = capsys.readouterr().err
    assert "No parameter of the trace target 'fitting:loss' is called 'nothing*'" in err
    assert "The parameters seen were: scale, offset." in err
    assert run(["trace", "fitting:loss", "--param", "off*", "--format", "json"]) == 0  # offset alone is healthy
    document = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in document["trace"]["parameters"]] == ["offset"]
    # A wrong name is reported after the first run, without the recording run a bad gradient would cause.
    assert document["trace"]["passes"] == 1


def test_unknown_options_are_usage_errors_unless_after_a_double_dash(project, capsys):
    assert run(["trace", "fitting:loss", "--parm", "scale"]) == 2
    assert "No such option '--parm'" in capsys.readouterr().err
    (project / "echo_args.py").write_text(
        textwrap.dedent("""\
        import sys
        import torch

        weight = torch.tensor(1.0, requires_grad=True)
        (weight * len(sys.argv)).backward()
        print("args", sys.argv[1:])
    """),
        encoding="utf-8",
    )
    assert run(["trace", "echo_args.py", "--", "--steps", "3"]) == 0
    assert "args ['--steps', '3']" in capsys.readouterr().out


def test_a_src_layout_is_found_from_pyproject_and_pythonpath_adds_folders(project, capsys):
    package = project / "src" / "fitkit"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "model.py").write_text(FIT, encoding="utf-8")
    (project / "pyproject.toml").write_text('[project]\nname = "fitkit"\n', encoding="utf-8")
    assert run(["trace", "fitkit.model:loss"]) == 1
    assert "1. src/fitkit/model.py:8 in loss  [tier 1]" in capsys.readouterr().out
    (project / "lib").mkdir()
    (project / "lib" / "fitlib.py").write_text(FIT, encoding="utf-8")
    assert run(["trace", "fitlib:loss"]) == 2
    assert run(["trace", "fitlib:loss", "--pythonpath", "lib"]) == 1
    assert "1. lib/fitlib.py:8 in loss  [tier 1]" in capsys.readouterr().out


def test_torch_warnings_under_the_recording_trace_point_at_the_users_line(project, capsys):
    (project / "warned.py").write_text(
        textwrap.dedent("""\
        import torch

        def loss():
            logits = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
            return torch.nn.functional.softmax(logits)[0, 0]
    """),
        encoding="utf-8",
    )
    with pytest.warns(UserWarning) as caught:
        assert run(["trace", "warned:loss", "--record", "always"]) == 0
    sites = {(Path(w.filename).name, w.lineno) for w in caught if "Implicit dimension" in str(w.message)}
    assert sites == {("warned.py", 5)}


def test_a_test_that_raises_before_any_backward_is_reported_as_raising_where_it_did(project, capsys):
    (project / "test_boom.py").write_text(
        textwrap.dedent("""\
        import torch


        def test_boom():
            weight = torch.tensor(1.0, requires_grad=True)
            raise RuntimeError("the detector is not configured")
            weight.backward()
    """),
        encoding="utf-8",
    )
    assert run(["trace", "test_boom.py::test_boom"]) == 2
    err = capsys.readouterr().err
    assert "raised RuntimeError: the detector is not configured at test_boom.py:6" in err
    assert "without calling backward" not in err


def test_informational_suspects_alone_exit_zero_unless_strict(project, capsys):
    (project / "logging_fit.py").write_text(
        textwrap.dedent("""\
        import torch

        def loss():
            scale = torch.tensor(2.0, requires_grad=True)
            print("scale", scale.item())
            return (scale * 3).sum()
    """),
        encoding="utf-8",
    )
    assert run(["trace", "logging_fit:loss"]) == 0
    capsys.readouterr()
    assert run(["trace", "logging_fit:loss", "--strict"]) == 1
    assert "Tensor.item cut the gradient" in capsys.readouterr().out
    # Static findings count for the exit code only with --strict too, once a trace decides.
    assert run(["logging_fit.py", "--trace", "logging_fit:loss"]) == 0
    assert run(["logging_fit.py", "--trace", "logging_fit:loss", "--strict"]) == 1
