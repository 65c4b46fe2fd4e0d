"""Text rendering and JSON-ready dicts of trace results."""

from __future__ import annotations

import json
import math

from gradlint.findings import Confidence, Finding, Location
from gradlint.rank import rank
from gradlint.report.trace_text import render
from gradlint.trace.failures import failure
from gradlint.trace.results import (
    EventKind,
    FailureKind,
    Frame,
    Outcome,
    ParameterReport,
    Reason,
    SeveringEvent,
    TargetKind,
    TraceResult,
    ValueOrigin,
    VanishingPoint,
    ZeroFactor,
)
from gradlint.trace.serialize import gradients_dict, suspects_dict, trace_dict

SIM = "src/sim.py"


def sample() -> TraceResult:
    origin = ValueOrigin("cfg.scale", 0.0, Frame("src/config.py", 4, "Config.scale"), "dataclass_default")
    return TraceResult(
        "pkg.fit:main",
        TargetKind.FUNCTION,
        parameters=(
            ParameterReport("angle", Frame(SIM, 3, "main"), (), Outcome.MISSING, Reason.SEVERED),
            ParameterReport("gain", Frame(SIM, 4, "main"), (2,), Outcome.ZERO, Reason.ZERO_FORWARD, 0.0, 0.0),
            ParameterReport(
                "width", Frame(SIM, 5, "main"), (), Outcome.NONFINITE, Reason.UNEXPLAINED, math.nan, math.inf
            ),
            ParameterReport("offset", None, (), Outcome.OK, Reason.CONNECTED, 1.5, 1.25),
        ),
        events=(
            SeveringEvent(
                EventKind.SCALAR, "Tensor.item", Frame(SIM, 12, "rotate"), (Frame(SIM, 30, "main"),), 2, ("angle",)
            ),
        ),
        vanishing=(
            VanishingPoint(
                "MulBackward0",
                Frame(SIM, 20, "image"),
                ("gain",),
                ZeroFactor(Frame(SIM, 18, "image"), "torch.full", origin),
            ),
        ),
    )


def test_text_report():
    finding = Finding("GL002", "item", ".item() cuts the gradient", Location(SIM, 12, 9, 12, 20), Confidence.HIGH)
    result = sample()
    # The report verbatim: its lines are as long as the renderer makes them.
    expected = """\
gradlint trace of pkg.fit:main

Gradient outcome per parameter:
  parameter  outcome    why                              norm  max |g|  created
  angle      missing    cut from the output              -     -        src/sim.py:3
  gain       zero       zero factor in the forward pass  0     0        src/sim.py:4
  width      nonfinite  no diagnosis                     nan   inf      src/sim.py:5
  offset     ok         real gradient                    1.5   1.25     -

Suspects, most likely first:
  1. src/config.py:4 in Config.scale  [tier 1]
     trace: cfg.scale = 0 set here (dataclass default) fills the zero factor that zeroes the gradient of gain
     parameters with a bad gradient: gain
  2. src/sim.py:12 in rotate  [tier 1]
     trace: Tensor.item cut the gradient (scalar) 2 times; the cut value depends on angle
     parameters with a bad gradient: angle
     called from: src/sim.py:30 main
     static: GL002 .item() cuts the gradient (high)
  3. src/sim.py:18 in image  [tier 1]
     trace: torch.full created an identically zero tensor from cfg.scale = 0, the dataclass default at src/config.py:4; it multiplies into the path of gain
     parameters with a bad gradient: gain
  4. src/sim.py:20 in image  [tier 1]
     trace: MulBackward0 multiplies by that zero factor, so the gradient of gain is exactly zero
     parameters with a bad gradient: gain
"""  # noqa: E501
    assert render(result, rank([finding], result)) == expected


def test_long_parameter_lists_are_shortened():
    result = TraceResult(
        "t",
        TargetKind.FUNCTION,
        events=(SeveringEvent(EventKind.DETACH, "Tensor.detach", Frame(SIM, 3, "f"), (), 1, tuple("abcdefgh")),),
    )
    assert "the cut value depends on a, b, c, d, e and 3 more\n" in render(result, rank(None, result))


def test_failure_message_comes_before_the_table():
    result = TraceResult("x.py", TargetKind.SCRIPT, failure=failure(FailureKind.NO_BACKWARD, "x.py"))
    assert render(result, []) == (
        "gradlint trace of x.py\n\n"
        "The trace target 'x.py' finished without calling backward() and returned no tensor to call it on, so no "
        "gradient could be observed. Make the target call loss.backward(), or return the scalar loss.\n\n"
        "No parameter requiring grad was observed.\n\nNo suspect sites.\n"
    )


def test_json_dicts_are_plain_and_keep_non_finite_numbers_as_strings():
    result = sample()
    trace = json.loads(json.dumps(trace_dict(result), allow_nan=False))
    assert trace["schema"] == 1
    assert trace["bad_parameters"] == ["angle", "gain", "width"]
    assert trace["parameters"][2] == {
        "name": "width",
        "created": {"path": SIM, "line": 5, "function": "main"},
        "shape": [],
        "outcome": "nonfinite",
        "reason": "unexplained",
        "norm": "nan",
        "max_abs": "inf",
        "frozen_at": None,
        "copy_of": None,
        "check": None,
    }
    assert trace["events"][0]["kind"] == "scalar"
    assert trace["vanishing"][0]["zero_factor"]["origin"]["kind"] == "dataclass_default"
    assert "log" not in trace
    assert gradients_dict(result)["parameters"][1]["shape"] == [2]
    suspects = suspects_dict(rank(None, result))["suspects"]
    assert [(s["rank"], s["path"], s["line"], s["tier"]) for s in suspects] == [
        (1, "src/config.py", 4, 1),
        (2, SIM, 12, 1),
        (3, SIM, 18, 1),
        (4, SIM, 20, 1),
    ]
    assert suspects[1]["trace"][0]["detail"]["op"] == "Tensor.item"
