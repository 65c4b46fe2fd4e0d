"""Dynamic trace: run a differentiable program and observe where its gradients get cut, and why.

API (importing this package does not import torch; running a trace does)::

    from gradlint.trace import run
    result = run("tests/test_gradients.py::TestAdvancedGradients::test_gradient_flow_simulation",
                 user_paths=["src"], report_dir="reports")
    result.parameters      # per parameter: outcome (missing/zero/nonfinite/error/wrong/frozen/ok), reason, norms
    result.events          # severing operations by site, with the parameters they cut
    result.failure         # None, or why the target could not be traced (the CLI exits 2)

    run(target, *, args=(), params=(), user_paths=(), root=".", executed_lines=None, report_dir=None,
        findings=None, pythonpath=(), echo=True, command="", record="auto", check_gradients=False,
        directions=3) -> TraceResult

``target`` is a pytest node id, ``package.module:function`` or a script path (``args`` go to its
``sys.argv``). ``params`` restricts the report to the parameters matching those glob patterns. The target runs
once with gradient outcomes recorded only, then again under the recording trace when a gradient is bad
(``record="always"``: recording from the start, in one run; ``"never"``: outcomes only);
``check_gradients`` compares the gradients with finite differences of the target. ``user_paths`` are the
user's code (sites are reported there; default: everything that is not a library). Paths in the
result are relative to ``root``. ``executed_lines`` (path -> lines, e.g. ``gradlint.rank.lines_of``
of static findings) asks which of those lines ran. ``report_dir`` writes a dated bundle, ranking
``findings`` with the trace. ``pythonpath`` entries go first on ``sys.path`` during the run.

``gradlint.watch()`` (``gradlint.trace.watch.Watch``) traces a block in place; ``gradlint.rank``
merges a result with static findings; ``gradlint.trace.serialize`` makes JSON-ready dicts.
"""

from __future__ import annotations

from gradlint.trace.results import (
    EventKind,
    Failure,
    FailureKind,
    Frame,
    GradientCheck,
    GraphReuse,
    NonFiniteOrigin,
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
from gradlint.trace.runner import run

__all__ = [
    "EventKind",
    "Failure",
    "FailureKind",
    "Frame",
    "GradientCheck",
    "GraphReuse",
    "NonFiniteOrigin",
    "Outcome",
    "ParameterReport",
    "Reason",
    "SeveringEvent",
    "TargetKind",
    "TraceResult",
    "ValueOrigin",
    "VanishingPoint",
    "ZeroFactor",
    "run",
]
