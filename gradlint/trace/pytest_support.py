"""Pytest plugin objects that put test runs under a trace session (imported only when tracing tests)."""

from __future__ import annotations

import io
from typing import Any, Iterator, Optional, Sequence

import pytest
from _pytest.runner import runtestprotocol

from gradlint.rank import rank
from gradlint.report.trace_text import render_test
from gradlint.trace.isolation import Randomness
from gradlint.trace.passes import Options, Passes
from gradlint.trace.results import TargetKind, TraceResult
from gradlint.trace.targets import Execution, Session


class RunLoopTracer:
    """For ``run()`` on a node id: one session spans the whole test run loop (after collection)."""

    def __init__(self, session: Any):
        self.session = session
        self.outcomes: list[str] = []
        self.crash = ""  # "RuntimeError: ... at path:line" of the first failure
        self.interrupted: Optional[BaseException] = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: Any) -> Iterator[None]:
        with self.session:
            yield

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed or report.skipped or report.when == "call":
            self.outcomes.append(report.outcome)
        crash = getattr(report.longrepr, "reprcrash", None)
        if report.failed and crash is not None and not self.crash:
            where = self.session.recorder.codes.display_path(crash.path)
            self.crash = f"{crash.message.splitlines()[0]} at {where}:{crash.lineno}"

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        self.interrupted = excinfo.value


def _outcome(reports: Sequence[Any]) -> str:
    outcomes = [report.outcome for report in reports if report.failed or report.skipped or report.when == "call"]
    return "failed" if "failed" in outcomes else "skipped" if "skipped" in outcomes else "passed"


class PerTestTracer:
    """For ``pytest --gradlint``: each test runs under the cheap session first; when a gradient is bad (or the
    gradients are checked) the test runs again, reports not logged, through the passes of ``gradlint.trace``."""

    def __init__(self, options: Options):
        self.options = options
        self.results: dict[str, TraceResult] = {}
        self._reports: list[Any] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Iterator[None]:
        randomness = Randomness.capture()
        self._reports = []

        def rerun(session: Session) -> Execution:
            randomness.apply()
            with session:
                reports = runtestprotocol(item, log=False, nextitem=nextitem)
            return Execution(test_outcome=_outcome(reports))

        passes = Passes(self.options, rerun, io.StringIO())
        session = passes.first_session()
        with session:
            yield
        first = passes.outcome(session, Execution(test_outcome=_outcome(self._reports)), item.nodeid, TargetKind.PYTEST)
        if first.parameters:
            self.results[item.nodeid] = passes.finish(first, session)

    def pytest_runtest_logreport(self, report: Any) -> None:
        self._reports.append(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results:
            return
        terminalreporter.section("gradlint trace")
        for nodeid, result in self.results.items():
            terminalreporter.write_line(render_test(nodeid, result, rank(None, result)))
