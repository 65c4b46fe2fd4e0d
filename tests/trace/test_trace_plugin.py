"""The pytest plugin: ``--gradlint`` prints each traced test's outcome and suspects; inert without it."""

from __future__ import annotations

import sys
import textwrap

import pytest

TESTS = textwrap.dedent('''
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
''')


@pytest.fixture
def test_file(tmp_path, monkeypatch):
    path = tmp_path / "test_model.py"
    path.write_text(TESTS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    yield path
    sys.modules.pop("test_model", None)  # the next in-process run collects its own copy


def run_pytest(*args: str) -> int:
    return pytest.main(["-p", "no:cacheprovider", "-q", *args])


def test_gradlint_option_prints_outcomes_and_suspects_per_test(test_file, capsys):
    assert run_pytest(str(test_file), "--gradlint") == 0
    out = capsys.readouterr().out
    section = out[out.index("gradlint trace"):]
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
