"""Pytest plugin objects that put test runs under a trace session (imported only when tracing tests)."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import pytest

from gradlint.rank import rank
from gradlint.report.trace_text import render_test
from gradlint.trace.results import TargetKind, TraceResult
from gradlint.trace.session import TraceSession


class RunLoopTracer:
    """For ``run()`` on a node id: one session spans the whole test run loop (after collection)."""

    def __init__(self, session: Any):
        self.session = session
        self.outcomes: list[str] = []
        self.crash = ""                       # "RuntimeError: ... at path:line" of the first failure
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


class PerTestTracer:
    """For ``pytest --gradlint``: one session per test item, results kept by node id."""

    def __init__(self, make_session: Callable[[], TraceSession]):
        self.make_session = make_session
        self.results: dict[str, TraceResult] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Iterator[None]:
        session = self.make_session()
        with session:
            yield
        self.results[item.nodeid] = session.result(item.nodeid, TargetKind.PYTEST)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        traced = {nodeid: result for nodeid, result in self.results.items() if result.parameters}
        if not traced:
            return
        terminalreporter.section("gradlint trace")
        for nodeid, result in traced.items():
            terminalreporter.write_line(render_test(nodeid, result, rank(None, result)))
