"""Ranking of suspect sites from trace evidence and static findings (no torch involved)."""

from __future__ import annotations

import subprocess
import sys

from gradlint.findings import Confidence, Finding, Location, Step
from gradlint.rank import lines_of, rank
from gradlint.trace.results import (
    EventKind,
    Frame,
    GraphReuse,
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

SIM = "src/sim.py"


def frame(line: int, function: str = "simulate", path: str = SIM) -> Frame:
    return Frame(path, line, function)


def parameter(name: str, outcome: Outcome) -> ParameterReport:
    return ParameterReport(name, None, (), outcome, Reason.CONNECTED)


def event(line: int, parameters: tuple[str, ...], op: str = "Tensor.detach", count: int = 1) -> SeveringEvent:
    return SeveringEvent(EventKind.DETACH, op, frame(line), (frame(90, "main"),), count, parameters)


def finding(line: int, code: str = "GL001", confidence: Confidence = Confidence.HIGH) -> Finding:
    return Finding(
        code,
        "rule",
        "cut",
        Location(f"./{SIM}", line, 5, line, 9),
        confidence,
        chain=(Step("y = x * 2", SIM, line - 1),),
    )


def sites(suspects) -> list[tuple[int, int]]:
    return [(s.line, s.tier) for s in suspects]


def test_tiers_trace_on_bad_parameters_then_other_cuts_then_executed_then_unexecuted_findings():
    trace = TraceResult(
        "t",
        TargetKind.FUNCTION,
        parameters=(parameter("a", Outcome.MISSING), parameter("b", Outcome.OK)),
        events=(event(30, ("b",)), event(20, ("a",))),
        executed_lines={SIM: frozenset({40, 41})},
    )
    findings = [finding(50), finding(41, confidence=Confidence.MEDIUM), finding(40), finding(20, code="GL002")]
    suspects = rank(findings, trace)
    assert sites(suspects) == [(20, 1), (30, 2), (40, 3), (41, 3), (50, 4)]
    top = suspects[0]
    assert (top.codes, top.parameters, top.bad_parameters, top.static_missed, top.executed) == (
        ("GL002",),
        ("a",),
        ("a",),
        False,
        True,
    )
    assert top.chain == (frame(90, "main"),)
    assert top.static_chain == (Step("y = x * 2", SIM, 19),)
    assert (suspects[1].static_missed, suspects[4].executed) == (True, False)


def test_without_static_findings_nothing_is_marked_missed_by_the_checker():
    trace = TraceResult(
        "t", TargetKind.FUNCTION, parameters=(parameter("a", Outcome.MISSING),), events=(event(20, ("a",)),)
    )
    (suspect,) = rank(None, trace)
    assert (suspect.tier, suspect.static_missed, suspect.codes) == (1, False, ())


def test_without_a_trace_findings_rank_by_confidence_with_execution_unknown():
    suspects = rank([finding(9, confidence=Confidence.LOW), finding(8)], None)
    assert [(s.line, s.tier, s.executed) for s in suspects] == [(8, 4, None), (9, 4, None)]


def test_the_cut_closest_to_the_bad_parameters_comes_first():
    trace = TraceResult(
        "t",
        TargetKind.FUNCTION,
        parameters=(parameter("a", Outcome.MISSING), parameter("b", Outcome.OK), parameter("c", Outcome.OK)),
        events=(event(10, ("a", "b", "c"), count=9), event(11, ("a",))),
    )
    assert sites(rank([], trace)) == [(11, 1), (10, 1)]


def test_zero_forward_ranks_the_value_origin_then_the_fill_then_the_product_then_touching_cuts():
    origin = ValueOrigin("cfg.default_F", 0.0, frame(5, "Config.default_F", "src/config.py"), "dataclass_default")
    factor = ZeroFactor(frame(60, "structure_factors"), "torch.full", origin)
    trace = TraceResult(
        "t",
        TargetKind.FUNCTION,
        parameters=(parameter("a", Outcome.ZERO), parameter("b", Outcome.ZERO)),
        events=(event(70, ("a", "b"), op="Tensor.item"),),
        vanishing=(
            VanishingPoint("MulBackward0", frame(65), ("a",), factor),
            VanishingPoint("MulBackward0", frame(65), ("b",), factor),
        ),
    )
    suspects = rank(None, trace)
    assert [(s.path, s.line, [e.kind for e in s.trace]) for s in suspects] == [
        ("src/config.py", 5, ["zero_value"]),
        (SIM, 60, ["zero_factor"]),
        (SIM, 65, ["zero_product"]),
        (SIM, 70, ["detach"]),
    ]
    assert [s.tier for s in suspects] == [1, 1, 1, 1]
    assert suspects[0].trace[0].explains == ("a", "b")


def test_graph_reuse_ranks_where_the_tensor_was_kept_first():
    reuse = GraphReuse("SinBackward0", frame(12, "build"), frame(30, "__init__"), frame(44, "loss"), ("w",))
    trace = TraceResult("t", TargetKind.FUNCTION, parameters=(parameter("w", Outcome.ERROR),), graph_reuse=(reuse,))
    suspects = rank(None, trace)
    assert [(s.line, s.trace[0].kind) for s in suspects] == [
        (30, "graph_reuse"),
        (12, "graph_reuse_created"),
        (44, "graph_reuse_used"),
    ]


def test_lines_of_findings_normalizes_paths():
    assert lines_of([finding(3), finding(4), finding(3, code="GL002")]) == {SIM: {3, 4}}


def test_ranking_reporting_and_the_plugin_import_without_torch():
    code = (
        "import sys, gradlint.rank, gradlint.trace, gradlint.trace.serialize, gradlint.report.trace_text, "
        "gradlint.pytest_plugin; sys.exit('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_cut_behind_a_wrong_gradient_explains_it_and_ranks_before_one_that_only_touches_bad_parameters():
    trace = TraceResult(
        "t",
        TargetKind.FUNCTION,
        parameters=(parameter("a", Outcome.WRONG), parameter("b", Outcome.ZERO)),
        events=(event(30, ("b",)), event(20, ("a",))),
    )
    first, second = rank(None, trace)
    assert (first.line, first.trace[0].explains, first.trace[0].priority) == (20, ("a",), 1)
    assert (second.line, second.trace[0].explains, second.trace[0].priority) == (30, (), 3)


def test_cuts_of_frozen_parameters_alone_are_not_suspects():
    trace = TraceResult(
        "t",
        TargetKind.FUNCTION,
        parameters=(
            parameter("online", Outcome.OK),
            parameter("target", Outcome.FROZEN),
            parameter("other", Outcome.MISSING),
        ),
        events=(event(20, ("target",)), event(30, ("online", "target")), event(40, ("other", "target"))),
    )
    assert sites(rank(None, trace)) == [(40, 1), (30, 2)]
