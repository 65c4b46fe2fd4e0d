"""Shared helpers of the trace tests: the toy programs' folder and their marked lines."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

TRACE_TESTS = Path(__file__).parent
TOYS = TRACE_TESTS / "trace_toys"


def marked_line(toy: str, marker: str) -> int:
    """The line of ``trace_toys/<toy>.py`` that ends with ``# <- marker``."""
    lines = (TOYS / f"{toy}.py").read_text(encoding="utf-8").splitlines()
    found = [number for number, text in enumerate(lines, 1) if text.rstrip().endswith(f"# <- {marker}")]
    assert len(found) == 1, f"marker {marker!r} must occur once in {toy}.py"
    return found[0]


@pytest.fixture
def line():
    return marked_line


@pytest.fixture
def toys_root(monkeypatch):
    """Run from the trace tests' folder, so that paths read ``trace_toys/<toy>.py``."""
    monkeypatch.chdir(TRACE_TESTS)
    return TRACE_TESTS


@pytest.fixture
def traced():
    """``traced(function, detail=False)``: the trace of calling ``function`` (paths relative to tests/trace)."""
    from gradlint.trace.results import TargetKind
    from gradlint.trace.session import TraceSession

    def trace(function, *, detail: bool = False):
        with TraceSession(root=TRACE_TESTS, detail=detail) as session:
            function()
        return session.result(function.__name__, TargetKind.BLOCK)

    return trace


@pytest.fixture
def quiet_torch_warnings():
    """torch warns when a tensor that requires grad becomes a number: the toys do that on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield
