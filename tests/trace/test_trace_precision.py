"""Patterns of real projects that cut nothing: arguments read for their shape, validations, frozen parameters
and target networks, and a trace inside a trace."""

from __future__ import annotations

import pytest
from trace_toys import real_world

from gradlint.rank import rank
from gradlint.trace import run
from gradlint.trace.results import EventKind, Frame, Outcome, Reason

TOY = "trace_toys/real_world.py"


pytestmark = pytest.mark.usefixtures("quiet_torch_warnings")


def test_arguments_read_only_for_their_shape_dtype_or_device_are_not_cuts(traced):
    result = traced(real_world.shape_only_arguments, detail=True)
    assert [(p.name, p.outcome) for p in result.parameters] == [("u", Outcome.OK)]
    assert result.events == ()


def test_conditions_of_validations_are_not_cuts_but_real_branches_are(traced, line):
    result = traced(real_world.validation_branches)
    assert [(e.kind, e.site.line, e.parameters) for e in result.events] == [
        (EventKind.BRANCH, line("real_world", "real branch"), ("length",)),
        (EventKind.BRANCH, line("real_world", "warns with an alternative"), ("angle",)),
    ]


def test_a_frozen_target_network_is_frozen_and_nothing_is_suspect(traced, line):
    result = traced(real_world.frozen_target_network)
    online = [p for p in result.parameters if p.name.startswith("online.")]
    target = [p for p in result.parameters if p.name.startswith("target.")]
    assert [p.name for p in online] == [
        "online.hidden.weight",
        "online.hidden.bias",
        "online.head.weight",
        "online.head.bias",
    ]
    assert {(p.outcome, p.reason) for p in online} == {(Outcome.OK, Reason.CONNECTED)}
    assert [(p.name, p.outcome, p.reason, p.copy_of) for p in target] == [
        (f"target.{name}", Outcome.FROZEN, Reason.FROZEN, f"online.{name}")
        for name in ("hidden.weight", "hidden.bias", "head.weight", "head.bias")
    ]
    assert {p.frozen_at for p in target} == {Frame(TOY, line("real_world", "freeze"), "q_learning_update")}
    # The parameters of a module get the site where the user built the module.
    assert online[0].created == Frame(TOY, line("real_world", "hidden layer"), "__init__")
    assert result.bad_parameters == () and rank(None, result) == []


def test_an_unfrozen_target_copy_used_without_gradients_is_frozen_too(traced, line):
    result = traced(real_world.copied_target_network)
    target = [p for p in result.parameters if p.name.startswith("target.")]
    assert {(p.outcome, p.reason, p.frozen_at) for p in target} == {
        (Outcome.FROZEN, Reason.COPY, Frame(TOY, line("real_world", "target copy"), "q_learning_update"))
    }
    assert result.bad_parameters == () and rank(None, result) == []


def test_a_frozen_backbone_is_frozen_not_missing(traced, line):
    result = traced(real_world.fine_tuning)
    assert [(p.name, p.outcome) for p in result.parameters] == [
        ("backbone.weight", Outcome.FROZEN),
        ("backbone.bias", Outcome.FROZEN),
        ("head.weight", Outcome.OK),
        ("head.bias", Outcome.OK),
    ]
    assert result.parameters[0].frozen_at.line == line("real_world", "freeze backbone")


def test_switching_off_a_plain_tensor_is_still_a_cut(traced, line):
    from trace_toys import cuts

    result = traced(cuts.requires_grad_off)
    assert result.parameter("frozen").outcome is Outcome.MISSING
    assert [e.kind for e in result.events] == [EventKind.REQUIRES_GRAD]


@pytest.mark.parametrize("record", ["auto", "always"])
def test_a_test_that_watches_itself_reports_the_same_under_an_outer_trace(toys_root, record):
    inside = run("trace_toys/watched_tests.py::test_watched_classifier", echo=False, record=record)
    assert (inside.failure, inside.test_outcome) == (None, "passed")
    assert [(p.name, p.outcome) for p in inside.parameters] == [("logits", Outcome.OK)]
    assert inside.events == ()


def test_the_outer_trace_sees_the_cut_a_watched_test_sees(toys_root, line):
    result = run("trace_toys/watched_tests.py::test_watched_cut", echo=False)
    assert result.test_outcome == "passed"
    assert [(p.name, p.outcome) for p in result.parameters] == [("weight", Outcome.MISSING), ("bias", Outcome.OK)]
    (event,) = result.events
    assert (event.op, event.site.line) == ("Tensor.detach", line("watched_tests", "watched detach"))


def test_a_compiled_function_with_a_cut_is_traced_eagerly_and_the_report_says_so(toys_root, line):
    import torch

    x, weight = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([0.5, 0.5], requires_grad=True)
    y = x * 2 + weight
    (y * y.detach()).sum().backward()  # the same maths, eager, as the reference

    result = run("trace_toys.compiled:fit_compiled", echo=False)
    assert result.failure is None
    assert [(p.name, p.outcome) for p in result.parameters] == [
        ("x", Outcome.OK),
        ("weight", Outcome.OK),
        ("offset", Outcome.MISSING),
    ]
    assert result.parameter("x").norm == pytest.approx(float(x.grad.norm()))
    assert result.parameter("weight").norm == pytest.approx(float(weight.grad.norm()))
    assert {(e.op, e.site.line) for e in result.events} == {("Tensor.detach", line("compiled", "compiled detach"))}
    assert result.compiled == (Frame("trace_toys/compiled.py", line("compiled", "compiled"), "<module>"),)
    from gradlint.report.trace_text import render

    assert (
        f"torch.compile'd code ran eagerly under the trace (compiled at trace_toys/compiled.py:"
        f"{line('compiled', 'compiled')})"
    ) in render(result, rank(None, result))
