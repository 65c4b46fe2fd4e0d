"""The pytest plugin: ``--gradlint`` prints each traced test's outcome and suspects; inert without it."""

from __future__ import annotations

import sys
import textwrap

import pytest

TESTS = textwrap.dedent("""
    import torch


    def test_cut():
        weight = torch.tensor([1.0, 2.0], requires_grad=True)
        bias = torch.tensor(0.5, requires_grad=True)
        (weight.detach() * 2 + bias).sum().backward()


    def test_healthy():
        weight = torch.tensor([1.0, 2.0], requires_grad=True)
        (weight * 2).sum().backward()


    def test_without_tensors():
        assert 1 + 1 == 2
""")


@pytest.fixture
def write_tests(tmp_path, monkeypatch):
    """``write_tests(name, text)``: a test file in a fresh folder, which becomes the working folder."""
    monkeypatch.chdir(tmp_path)
    names = []

    def write(name: str, text: str):
        names.append(name)
        path = tmp_path / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        return path

    yield write
    for name in names:
        sys.modules.pop(name, None)  # the next in-process run collects its own copy


@pytest.fixture
def test_file(write_tests):
    return write_tests("test_model", TESTS)


def run_pytest(*args: str) -> int:
    return pytest.main(["-p", "no:cacheprovider", "-q", *args])


def test_gradlint_option_prints_outcomes_and_suspects_per_test(test_file, capsys):
    assert run_pytest(str(test_file), "--gradlint") == 0
    out = capsys.readouterr().out
    section = out[out.index("gradlint trace") :]
    assert "test_model.py::test_cut\n" in section
    assert "  weight     missing  cut from the output" in section
    assert "  1. test_model.py:8 in test_cut  [tier 1]" in section
    assert "     trace: Tensor.detach cut the gradient (detach); the cut value depends on weight" in section
    assert "test_model.py::test_healthy: 1 parameter, all with real gradients\n" in section
    assert "test_without_tensors" not in section


def test_without_the_option_nothing_is_traced(test_file, capsys):
    assert run_pytest(str(test_file)) == 0
    assert "gradlint trace" not in capsys.readouterr().out


def test_the_option_is_listed_in_help(capsys):
    assert run_pytest("--help") == 0
    assert "--gradlint " in capsys.readouterr().out


RERUNS = textwrap.dedent("""
    from pathlib import Path

    import torch

    import gradlint


    def ran(name):
        with open("runs.txt", "a") as log:
            log.write(name + "\\n")


    def test_healthy():
        ran("healthy")
        weight = torch.tensor([1.0, 2.0], requires_grad=True)
        (weight * 2).sum().backward()


    def test_cut():
        ran("cut")
        weight = torch.tensor([1.0, 2.0], requires_grad=True)
        bias = torch.tensor(0.5, requires_grad=True)
        (weight.detach() * 2 + bias).sum().backward()


    def test_partial_cut():
        ran("partial")
        weight = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        bias = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        scale = (weight * 3).item()
        (weight * scale + bias).backward()


    def test_watched():
        ran("watched")
        with gradlint.watch() as block:
            logits = torch.randn(4, 3, requires_grad=True)
            torch.log_softmax(logits, -1).exp()[:, 0].sum().backward()
        block.assert_gradients("logits")
""")


@pytest.fixture
def rerun_file(write_tests):
    return write_tests("test_reruns", RERUNS)


def line_of(fragment: str) -> int:
    (found,) = [number for number, text in enumerate(RERUNS.splitlines(), 1) if fragment in text]
    return found


def runs(folder):
    names = (folder / "runs.txt").read_text().split()
    return {name: names.count(name) for name in names}


def test_healthy_tests_run_once_and_a_test_with_a_bad_gradient_runs_again(rerun_file, capsys):
    assert run_pytest(str(rerun_file), "--gradlint") == 0
    assert runs(rerun_file.parent) == {"healthy": 1, "cut": 2, "partial": 1, "watched": 1}
    section = capsys.readouterr().out.split("gradlint trace")[-1]
    assert "test_reruns.py::test_healthy: 1 parameter, all with real gradients" in section
    assert "test_reruns.py::test_watched: 1 parameter, all with real gradients" in section
    assert "the target ran again under the recording trace, with the same random seeds" in section
    assert f"  1. test_reruns.py:{line_of('weight.detach()')} in test_cut  [tier 1]" in section


def test_the_gradient_check_finds_a_partial_cut(rerun_file, capsys):
    assert run_pytest(str(rerun_file), "--gradlint", "--gradlint-check-gradients", "-k", "partial") == 0
    section = capsys.readouterr().out.split("gradlint trace")[-1]
    assert "  weight     wrong    disagrees with finite differences: 6 vs 12" in section
    assert "  bias       ok       real gradient (agrees with finite differences)" in section
    assert f"  1. test_reruns.py:{line_of('.item()')} in test_partial_cut  [tier 1]" in section
    # first run, the check's first run, two runs per parameter and two to confirm, then the recording run
    assert runs(rerun_file.parent) == {"partial": 1 + 1 + 2 * 2 + 2 + 1}
