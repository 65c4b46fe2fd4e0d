"""Gradient outcomes and their diagnoses: zero factors, vanishing points, non-finite origins, graph reuse."""

from __future__ import annotations

import pytest
import torch
from trace_toys import outcomes

from gradlint.trace.results import Frame, Outcome, Reason, ValueOrigin, ZeroFactor

TOY = "trace_toys/outcomes.py"


def table(result):
    return {p.name: (p.outcome, p.reason) for p in result.parameters}


def test_zero_forward_names_the_zero_factor_and_the_default_it_was_filled_from(traced, line):
    result = traced(outcomes.zero_forward, detail=True)
    assert table(result) == {
        "cell": (Outcome.ZERO, Reason.ZERO_FORWARD),
        "intensity": (Outcome.ZERO, Reason.ZERO_FORWARD),
    }
    (point,) = result.vanishing
    assert (point.node, point.site, point.parameters) == (
        "MulBackward0",
        Frame(TOY, line("outcomes", "product"), "zero_forward"),
        ("cell", "intensity"),
    )
    assert point.zero_factor == ZeroFactor(
        site=Frame(TOY, line("outcomes", "fill"), "factor_table"),
        op="torch.full",
        origin=ValueOrigin(
            "settings.structure_factor",
            0.0,
            Frame(TOY, line("outcomes", "default"), "Settings.structure_factor"),
            "dataclass_default",
        ),
    )
    assert result.output_zero is False


def test_identically_zero_output_is_flagged(traced):
    def zero_output() -> None:
        weight = torch.tensor(3.0, requires_grad=True)
        (weight * torch.zeros(2)).sum().backward()

    result = traced(zero_output, detail=True)
    assert result.output_zero is True
    assert table(result) == {"weight": (Outcome.ZERO, Reason.ZERO_FORWARD)}
    assert result.vanishing[0].zero_factor.op == "torch.zeros"


def test_connected_gradient_vanishing_at_round(traced, line):
    result = traced(outcomes.vanishing_round, detail=True)
    assert table(result) == {"position": (Outcome.ZERO, Reason.VANISHING), "width": (Outcome.OK, Reason.CONNECTED)}
    (point,) = result.vanishing
    assert (point.node, point.site, point.parameters, point.zero_factor) == (
        "RoundBackward0",
        Frame(TOY, line("outcomes", "round"), "vanishing_round"),
        ("position",),
        None,
    )
    assert result.parameter("width").norm == 8.0


def test_first_non_finite_node(traced, line):
    result = traced(outcomes.nonfinite_where, detail=True)
    assert table(result) == {"x": (Outcome.NONFINITE, Reason.NONFINITE)}
    (origin,) = result.nonfinite
    assert (origin.node, origin.site, origin.parameters) == (
        "SqrtBackward0",
        Frame(TOY, line("outcomes", "sqrt"), "nonfinite_where"),
        ("x",),
    )


def test_graph_reuse_points_at_the_tensor_cached_in_init(traced, line):
    def run() -> None:
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            outcomes.reuse_after_backward()

    result = traced(run, detail=True)
    assert table(result) == {"weight": (Outcome.ERROR, Reason.GRAPH_REUSE), "bias": (Outcome.OK, Reason.CONNECTED)}
    (reuse,) = result.graph_reuse
    cached = Frame(TOY, line("outcomes", "cached in init"), "__init__")
    assert (reuse.node, reuse.created, reuse.stored, reuse.parameters) == ("SinBackward0", cached, cached, ("weight",))
    assert reuse.used == Frame(TOY, line("outcomes", "used"), "loss")


def test_graph_reuse_through_a_cached_property_points_at_the_decorator(traced, line):
    def run() -> None:
        with pytest.raises(RuntimeError):
            outcomes.reuse_cached_property()

    (reuse,) = traced(run, detail=True).graph_reuse
    assert reuse.stored == Frame(TOY, line("outcomes", "cache decorator"), "reciprocal")
    assert reuse.created == Frame(TOY, line("outcomes", "cached value"), "reciprocal")
    assert reuse.parameters == ("length",)


def test_graph_reuse_without_detail_still_names_the_parameters(traced):
    def run() -> None:
        with pytest.raises(RuntimeError):
            outcomes.reuse_after_backward()

    result = traced(run)
    (reuse,) = result.graph_reuse
    assert (reuse.node, reuse.created, reuse.parameters) == ("SinBackward0", None, ("weight",))


def test_unused_parameter_is_disconnected_and_named_by_its_creation_site(traced, line):
    result = traced(outcomes.unused_parameter)
    unused = f"{TOY}:{line('outcomes', 'unused')}"
    assert table(result) == {"used": (Outcome.OK, Reason.CONNECTED), unused: (Outcome.MISSING, Reason.DISCONNECTED)}


def test_gradient_zeroed_in_place_after_backward_keeps_its_outcome(traced):
    report = traced(outcomes.zeroed_in_place).parameter("weight")
    assert (report.outcome, report.norm, report.max_abs) == (Outcome.OK, 5.0, 4.0)


def test_autograd_grad_results_are_the_outcome(traced):
    result = traced(outcomes.with_autograd_grad)
    assert table(result) == {"a": (Outcome.OK, Reason.CONNECTED), "b": (Outcome.MISSING, Reason.SEVERED)}
    assert result.parameter("a").norm == 4.0


def test_gradcheck_outcomes_combine_every_jacobian_slice(traced):
    def checked() -> None:
        used = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
        ignored = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
        assert not torch.autograd.gradcheck(lambda a, b: a * b.detach(), (used, ignored), raise_exception=False)

    result = traced(checked)
    assert table(result) == {"used": (Outcome.OK, Reason.CONNECTED), "ignored": (Outcome.MISSING, Reason.SEVERED)}
    assert result.parameter("used").max_abs == 2.0


@pytest.mark.parametrize(
    ("toy", "fill"),
    [
        (outcomes.zero_fill_through_float, "fill through float"),
        (outcomes.zero_fill_through_arithmetic, "fill through arithmetic"),
    ],
)
def test_the_default_of_a_zero_fill_is_found_through_conversions_and_arithmetic(traced, line, toy, fill):
    result = traced(toy, detail=True)
    assert table(result) == {"cell": (Outcome.ZERO, Reason.ZERO_FORWARD)}
    factor = result.zero_factors[0]
    assert factor.site == Frame(TOY, line("outcomes", fill), factor.site.function)
    assert factor.origin == ValueOrigin(
        "self.config.default_F",
        0.0,
        Frame(TOY, line("outcomes", "structure factor default"), "CrystalSettings.default_F"),
        "dataclass_default",
    )
