"""``gradlint.watch()``: trace a block in place and assert on its gradients."""

from __future__ import annotations

import pytest
import torch
from conftest import TRACE_TESTS
from trace_toys import cuts, outcomes

import gradlint
from gradlint.trace.results import Outcome


def test_watch_reports_parameters_events_and_ranked_suspects(line):
    with gradlint.watch(root=TRACE_TESTS) as block:
        cuts.detach_two_calls_away()
    assert [(p.name, p.outcome) for p in block.parameters] == [("a", Outcome.MISSING), ("b", Outcome.OK)]
    assert [(e.op, e.site.line) for e in block.events] == [("Tensor.detach", line("cuts", "detach"))]
    assert [(s.path, s.line, s.tier) for s in block.suspects] == [("trace_toys/cuts.py", line("cuts", "detach"), 1)]


def test_assert_gradients_passes_for_healthy_parameters():
    with gradlint.watch() as block:
        cuts.detach_two_calls_away()
    block.assert_gradients("b")


def test_assert_gradients_fails_with_the_table_and_the_suspects(line):
    with gradlint.watch(root=TRACE_TESTS) as block:
        outcomes.zero_forward()
    with pytest.raises(AssertionError) as failed:
        block.assert_gradients()
    message = str(failed.value)
    assert message.startswith("bad gradient: cell is zero, intensity is zero\n\ngradlint trace of watch block\n")
    assert "  cell       zero     zero factor in the forward pass" in message
    default = line("outcomes", "default")
    assert f"  1. trace_toys/outcomes.py:{default} in Settings.structure_factor  [tier 1]" in message


def test_assert_gradients_names_unknown_parameters():
    with gradlint.watch() as block:
        cuts.detach_two_calls_away()
    with pytest.raises(AssertionError, match="no traced parameter is called c; parameters seen: a, b"):
        block.assert_gradients("a", "c")


def test_results_are_available_inside_the_block_and_the_mode_is_off_after():
    depth = torch._C._len_torch_function_stack()
    with gradlint.watch() as block:
        weight = torch.tensor(2.0, requires_grad=True)
        (weight * 3).backward()
        assert [(p.name, p.norm) for p in block.parameters] == [("weight", 3.0)]
    assert torch._C._len_torch_function_stack() == depth


def test_the_fixture_watches_the_test_body(gradlint_watch):
    weight = torch.tensor([1.0, 2.0], requires_grad=True)
    (weight.detach() * weight).sum().backward()
    gradlint_watch.assert_gradients("weight")
    assert [e.op for e in gradlint_watch.events] == ["Tensor.detach"]


def test_check_gradients_finds_a_partial_cut_and_assert_gradients_then_fails():
    weight = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(0.25, dtype=torch.float64, requires_grad=True)

    def loss() -> torch.Tensor:
        norm = weight.norm().item()  # a cut on one of two paths from weight to the loss
        return (weight * norm).sum() + bias**2

    with gradlint.watch() as block:
        loss().backward()
    block.assert_gradients()  # finite and non-zero: it looks fine
    block.check_gradients(loss)
    report = {p.name: p for p in block.parameters}
    assert (report["weight"].outcome, report["weight"].check.verdict) == (Outcome.WRONG, "disagrees")
    assert (report["bias"].outcome, report["bias"].check.verdict) == (Outcome.OK, "agrees")
    assert report["bias"].check.autograd == pytest.approx(0.5)
    assert torch.equal(weight.detach(), torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))  # put back
    with pytest.raises(AssertionError, match="bad gradient: weight is wrong"):
        block.assert_gradients()


def test_check_gradients_is_refused_inside_the_block():
    weight = torch.tensor(1.0, requires_grad=True)
    with gradlint.watch() as block:
        (weight * 2).backward()
        with pytest.raises(RuntimeError, match="after the watch block"):
            block.check_gradients(lambda: weight * 2)
