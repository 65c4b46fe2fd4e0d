"""pytest plugin (registered for every pytest run where gradlint is installed; inert unless asked).

- ``pytest --gradlint`` traces each selected test (needs torch) and prints, in the terminal summary,
  each traced test's gradient outcome and ranked suspects. ``--gradlint-path PATH`` (repeatable)
  limits reported sites to the user's code.
- The ``gradlint_watch`` fixture traces the test body: call ``gradlint_watch.assert_gradients()``.

Importing this module imports neither torch nor any tracing code.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("gradlint", "gradient-cut tracing (gradlint)")
    group.addoption("--gradlint", action="store_true", default=False,
                    help="trace each test for operations that cut gradients; print suspects per test")
    group.addoption("--gradlint-path", action="append", default=[], metavar="PATH",
                    help="the user's code: suspect sites outside it are skipped (repeatable)")


def pytest_configure(config: Any) -> None:
    if not config.getoption("gradlint", default=False):
        return
    from gradlint.trace.pytest_support import PerTestTracer
    from gradlint.trace.session import TraceSession

    paths = config.getoption("gradlint_path")
    root = str(config.rootpath)
    config.pluginmanager.register(
        PerTestTracer(lambda: TraceSession(user_paths=paths, root=root, detail=True)), "gradlint-tracer"
    )


@pytest.fixture
def gradlint_watch(request: Any) -> Iterator[Any]:
    from gradlint.trace.watch import watch

    with watch(root=str(request.config.rootpath)) as block:
        yield block
