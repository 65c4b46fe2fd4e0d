"""Each kind of severing operation, seen by the trace at its exact site with the parameters it cuts."""

from __future__ import annotations

import weakref

import pytest
import torch
from trace_toys import cuts, regions

from gradlint.trace.results import EventKind, Frame, Outcome, Reason

CUTS = "trace_toys/cuts.py"
REGIONS = "trace_toys/regions.py"


pytestmark = pytest.mark.usefixtures("quiet_torch_warnings")


def outcomes(result):
    return {p.name: (p.outcome, p.reason) for p in result.parameters}


def only_event(result):
    assert len(result.events) == 1, result.events
    return result.events[0]


def test_detach_two_calls_away_is_reported_at_the_detach_with_its_callers(traced, line):
    result = traced(cuts.detach_two_calls_away)
    event = only_event(result)
    assert (event.kind, event.op, event.count, event.parameters) == (EventKind.DETACH, "Tensor.detach", 1, ("a",))
    assert event.site == Frame(CUTS, line("cuts", "detach"), "detach_in_helper")
    assert event.chain[:2] == (
        Frame(CUTS, line("cuts", "helper call"), "scale_twice"),
        Frame(CUTS, line("cuts", "outer call"), "detach_two_calls_away"),
    )
    assert outcomes(result) == {"a": (Outcome.MISSING, Reason.SEVERED), "b": (Outcome.OK, Reason.CONNECTED)}


def test_python_scalar_conversions(traced, line):
    result = traced(cuts.scalars)
    seen = {(e.op, e.site.line, e.parameters) for e in result.events}
    assert seen == {
        ("Tensor.__float__", line("cuts", "math"), ("angle",)),
        ("Tensor.__int__", line("cuts", "int"), ("count",)),
        ("Tensor.tolist", line("cuts", "tolist"), ("values",)),
        ("Tensor.item", line("cuts", "item"), ("keep",)),
    }
    assert {e.kind for e in result.events} == {EventKind.SCALAR}
    assert [p.name for p in result.parameters if p.outcome is Outcome.MISSING] == ["angle", "count", "values"]


def test_numpy_round_trip_names_where_the_value_came_back(traced, line):
    event = only_event(traced(cuts.numpy_round_trip))
    assert (event.op, event.site.line, event.parameters) == ("Tensor.detach", line("cuts", "numpy detach"), ("phase",))
    assert event.related == (Frame(CUTS, line("cuts", "from_numpy"), "numpy_round_trip"),)


def test_data_read(traced, line):
    result = traced(cuts.data_access)
    event = only_event(result)
    assert (event.kind, event.op, event.site.line, event.parameters) == (
        EventKind.DATA,
        "Tensor.data",
        line("cuts", "data read"),
        ("weight",),
    )
    assert outcomes(result)["bias"] == (Outcome.OK, Reason.CONNECTED)


def test_constructors_fed_with_parameters_but_not_as_tensor_of_one_tensor(traced, line):
    result = traced(cuts.constructors)
    seen = {(e.kind, e.op, e.site.line, e.parameters) for e in result.events}
    assert seen == {
        (EventKind.CONSTRUCT, "torch.tensor", line("cuts", "tensor of tensors"), ("ax", "ay")),
        (EventKind.CONSTRUCT, "torch.as_tensor", line("cuts", "as_tensor of list"), ("az",)),
    }
    assert outcomes(result)["scale"] == (Outcome.OK, Reason.CONNECTED)


def test_linspace_with_parameter_endpoints(traced, line):
    result = traced(cuts.ranges)
    event = only_event(result)
    assert (event.kind, event.op, event.site.line, event.parameters) == (
        EventKind.RANGE,
        "torch.linspace",
        line("cuts", "linspace"),
        ("start", "stop"),
    )
    # stop still reaches the loss through the product: only start is cut off.
    assert outcomes(result) == {"start": (Outcome.MISSING, Reason.SEVERED), "stop": (Outcome.OK, Reason.CONNECTED)}


def test_requires_grad_switched_off(traced, line):
    event = only_event(traced(cuts.requires_grad_off))
    assert (event.kind, event.op, event.site.line, event.parameters) == (
        EventKind.REQUIRES_GRAD,
        "Tensor.requires_grad_",
        line("cuts", "requires_grad_"),
        ("frozen",),
    )


def test_branch_on_a_parameter_but_not_a_mask_in_where(traced, line):
    result = traced(cuts.branch_on_parameter)
    event = only_event(result)
    assert (event.kind, event.op, event.site.line, event.parameters) == (
        EventKind.BRANCH,
        "Tensor.__bool__",
        line("cuts", "branch"),
        ("spread",),
    )
    assert outcomes(result)["spread"] == (Outcome.MISSING, Reason.SEVERED)


def test_a_mask_remembers_the_graph_of_its_source_but_does_not_keep_the_source_alive(traced):
    freed = []

    def branch_on_a_mask_of_a_temporary() -> None:
        x = torch.tensor([0.5, 2.0], requires_grad=True)
        scaled = x * 3
        alive = weakref.ref(scaled)
        mask = scaled > 1
        del scaled
        freed.append(alive() is None)
        if mask.any():
            x.sum().backward()

    event = only_event(traced(branch_on_a_mask_of_a_temporary))
    assert freed == [True]
    assert (event.kind, event.op, event.parameters) == (EventKind.BRANCH, "Tensor.__bool__", ("x",))


def test_other_non_differentiable_operation(traced, line):
    event = only_event(traced(cuts.non_differentiable_op))
    assert (event.kind, event.op, event.site.line, event.parameters) == (
        EventKind.NON_DIFFERENTIABLE,
        "torch.histc",
        line("cuts", "histc"),
        ("rates",),
    )


def test_firings_at_one_site_are_aggregated(traced, line):
    event = only_event(traced(cuts.repeated_in_loop))
    assert (event.site.line, event.count, event.parameters) == (line("cuts", "loop detach"), 5, ("x",))


def test_no_grad_block_is_reported_at_the_with_statement(traced, line):
    result = traced(regions.no_grad_block)
    event = only_event(result)
    assert (event.kind, event.op, event.parameters) == (EventKind.NO_GRAD, "torch.no_grad", ("angle",))
    assert event.site == Frame(REGIONS, line("regions", "with no_grad"), "no_grad_block")
    assert Frame(REGIONS, line("regions", "rotation stack"), "rotation") in event.related
    assert outcomes(result)["scale"] == (Outcome.OK, Reason.CONNECTED)


def test_no_grad_decorator_is_reported_at_the_decorator(traced, line):
    event = only_event(traced(regions.no_grad_decorator))
    assert event.site == Frame(REGIONS, line("regions", "decorator"), "frozen_offsets")
    assert event.parameters == ("offset",)


def test_no_grad_update_whose_results_do_not_escape_is_no_event(traced, capsys):
    result = traced(regions.no_grad_without_escape)
    assert result.events == ()
    assert capsys.readouterr().out == "norm 1.789\n"


def test_integer_cast_flowing_back_into_maths(traced, line):
    event = only_event(traced(regions.cast_into_maths))
    assert (event.kind, event.op, event.site.line, event.parameters) == (
        EventKind.CAST,
        "Tensor.long",
        line("regions", "cast"),
        ("h",),
    )
    assert event.related == (Frame(REGIONS, line("regions", "cast") + 1, "cast_into_maths"),)


def test_integer_cast_used_only_as_an_index_is_no_event(traced):
    result = traced(regions.cast_only_for_lookup)
    assert result.events == ()
    assert outcomes(result) == {"h": (Outcome.OK, Reason.CONNECTED)}


def test_torch_internal_machinery_is_not_reported(traced):
    def gradcheck_only() -> None:
        x = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
        torch.autograd.gradcheck(torch.sin, (x,))

    assert traced(gradcheck_only).events == ()
