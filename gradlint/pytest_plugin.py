"""pytest plugin (registered for every pytest run where gradlint is installed; inert unless asked).

- ``pytest --gradlint`` traces each selected test (needs torch) and prints, in the terminal summary,
  each traced test's gradient outcome and ranked suspects. A test runs once, with only the cheap hooks that
  see its gradients; a test with a bad gradient runs again under the recording trace (reports of reruns are
  not logged). ``--gradlint-path PATH`` (repeatable) limits reported sites to the user's code;
  ``--gradlint-record`` and ``--gradlint-check-gradients`` are ``gradlint trace``'s ``--record`` and
  ``--check-gradients``.
- The ``gradlint_watch`` fixture traces the test body: call ``gradlint_watch.assert_gradients()``.

Importing this module imports neither torch nor any tracing code.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from gradlint.trace.results import RECORD_CHOICES


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("gradlint", "gradient-cut tracing (gradlint)")
    group.addoption(
        "--gradlint",
        action="store_true",
        default=False,
        help="trace each test for operations that cut gradients; print suspects per test",
    )
    group.addoption(
        "--gradlint-path",
        action="append",
        default=[],
        metavar="PATH",
        help="the user's code: suspect sites outside it are skipped (repeatable)",
    )
    group.addoption(
        "--gradlint-record",
        choices=RECORD_CHOICES,
        default="auto",
        help="rerun a test under the recording trace when a gradient is bad (auto, the default), "
        "record from the start (always) or never",
    )
    group.addoption(
        "--gradlint-check-gradients",
        action="store_true",
        default=False,
        help="compare each gradient with finite differences of the test (reruns each test)",
    )


def pytest_configure(config: Any) -> None:
    if not config.getoption("gradlint", default=False):
        return
    from gradlint.trace.passes import Options
    from gradlint.trace.pytest_support import PerTestTracer

    options = Options(
        user_paths=tuple(config.getoption("gradlint_path")),
        root=str(config.rootpath),
        record=config.getoption("gradlint_record"),
        check_gradients=config.getoption("gradlint_check_gradients"),
    )
    config.pluginmanager.register(PerTestTracer(options), "gradlint-tracer")


@pytest.fixture
def gradlint_watch(request: Any) -> Iterator[Any]:
    from gradlint.trace.watch import watch

    with watch(root=str(request.config.rootpath)) as block:
        yield block
