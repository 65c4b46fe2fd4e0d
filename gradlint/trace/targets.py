"""Trace targets: parse the target string, then run it in this process under a trace session.

Three forms:

- ``tests/test_x.py::TestClass::test_name``: a pytest node id, run with ``pytest.main`` (the session
  covers the test run, not collection); a failing test is an outcome, not an error;
- ``package.module:function``: imported and called with no arguments; when it returns a tensor that
  requires grad and never called backward, its backward is called here;
- ``path/to/script.py``: run as ``__main__`` with ``args`` in ``sys.argv``.
"""

from __future__ import annotations

import importlib
import os
import runpy
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Optional, Protocol, Sequence, Union

import torch

from gradlint.trace.exits import TargetExit
from gradlint.trace.failures import failure
from gradlint.trace.frames import OTHER, USER, CodeMap
from gradlint.trace.recorder import Recorder
from gradlint.trace.results import Failure, FailureKind, TargetKind


@dataclass(frozen=True)
class Target:
    text: str
    kind: TargetKind
    path: str = ""
    module: str = ""
    function: str = ""


def _is_dotted_name(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def parse(text: str) -> Union[Target, Failure]:
    if "::" in text:
        path = text.split("::", 1)[0]
        if not os.path.isfile(path):
            return failure(FailureKind.NOT_FOUND, text, f"there is no test file {path}")
        return Target(text, TargetKind.PYTEST, path=path)
    if text.endswith(".py") or os.path.isfile(text):
        if not os.path.isfile(text):
            return failure(FailureKind.NOT_FOUND, text, f"there is no file {text}")
        return Target(text, TargetKind.SCRIPT, path=text)
    module, _, function = text.rpartition(":")
    if _is_dotted_name(module) and function.isidentifier():
        return Target(text, TargetKind.FUNCTION, module=module, function=function)
    return failure(FailureKind.NOT_FOUND, text, "it is neither an existing file nor of the form module:function")


@dataclass
class Execution:
    failure: Optional[Failure] = None
    test_outcome: str = ""


class Session(Protocol):
    """What a target runs under: a trace session, or a pass of the gradient check."""

    recorder: Recorder

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc_info: object) -> None: ...


def _raise_site(error: BaseException, codes: CodeMap) -> str:
    """`` at path:line`` of the innermost frame of the user's code the error passed through, if any."""
    site = ""
    for frame, line in traceback.walk_tb(error.__traceback__):
        if codes.category(frame.f_code) in (USER, OTHER):
            site = f" at {codes.display_path(frame.f_code.co_filename)}:{line}"
    return site


def _report_exception(
    target: Target, error: BaseException, session: Session, kind: FailureKind = FailureKind.RAISED
) -> Failure:
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    detail = f"{type(error).__name__}: {error}".strip().splitlines()[0]
    return failure(kind, target.text, detail + _raise_site(error, session.recorder.codes))


def _exited(target: Target, error: Union[SystemExit, TargetExit], session: Session) -> Optional[Failure]:
    """The target ended the program with ``sys.exit``/``os._exit``: a failure unless its status is 0."""
    code = error.code
    if code in (None, 0):
        return None
    if isinstance(error, TargetExit):
        return failure(FailureKind.RAISED, target.text, f"os._exit({code})")
    return _report_exception(target, error, session)


def _call_backward(value: Any, session: Session) -> bool:
    """Backward on a returned loss; False when there is nothing to call it on."""
    if session.recorder.backward_calls:
        return True
    if not isinstance(value, torch.Tensor):
        return False
    if value.requires_grad:
        value.backward(torch.ones_like(value) if value.numel() != 1 else None)
    return True


def _run_function(target: Target, session: Session) -> Execution:
    sys.path.insert(0, os.getcwd())  # as ``python -m`` would; the isolation restores sys.path
    with session:
        try:
            module = importlib.import_module(target.module)
        except ModuleNotFoundError as error:
            if error.name and target.module.startswith(error.name):
                return Execution(failure(FailureKind.NOT_FOUND, target.text, f"no module named {error.name!r}"))
            return Execution(_report_exception(target, error, session, FailureKind.IMPORT_ERROR))
        except Exception as error:  # noqa: BLE001 - any import-time error of user code
            return Execution(_report_exception(target, error, session, FailureKind.IMPORT_ERROR))
        function = getattr(module, target.function, None)
        if not callable(function):
            detail = f"module {target.module!r} has no function {target.function!r}"
            return Execution(failure(FailureKind.NOT_FOUND, target.text, detail))
        try:
            called = _call_backward(function(), session)
        except (SystemExit, TargetExit) as error:  # a command-line entry point ends with sys.exit(0)
            ended = _exited(target, error, session)
            if ended is not None:
                return Execution(ended)
            called = bool(session.recorder.backward_calls)
        except Exception as error:  # noqa: BLE001 - the target's own errors are reported
            return Execution(_report_exception(target, error, session))
    if not called:
        return Execution(failure(FailureKind.NO_BACKWARD, target.text))
    return Execution()


def _run_script(target: Target, args: Sequence[str], session: Session) -> Execution:
    path = os.path.abspath(target.path)
    sys.argv[:] = [target.path, *args]
    sys.path.insert(0, os.path.dirname(path))
    with session:
        try:
            runpy.run_path(path, run_name="__main__")
        except (SystemExit, TargetExit) as error:
            ended = _exited(target, error, session)
            if ended is not None:
                return Execution(ended)
        except (SyntaxError, ImportError) as error:
            return Execution(_report_exception(target, error, session, FailureKind.IMPORT_ERROR))
        except Exception as error:  # noqa: BLE001 - the target's own errors are reported
            return Execution(_report_exception(target, error, session))
    if not session.recorder.backward_calls:
        return Execution(failure(FailureKind.NO_BACKWARD, target.text))
    return Execution()


def _run_test(target: Target, args: Sequence[str], session: Session) -> Execution:
    import pytest

    from gradlint.trace.pytest_support import RunLoopTracer

    tracer = RunLoopTracer(session)
    code = pytest.main([target.text, "-p", "no:cacheprovider", *args], plugins=[tracer])
    outcome = "failed" if "failed" in tracer.outcomes else "skipped" if "skipped" in tracer.outcomes else "passed"
    if tracer.interrupted is not None:
        raise tracer.interrupted
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        return Execution(failure(FailureKind.NOT_FOUND, target.text, "pytest found no test with this node id"))
    if code == pytest.ExitCode.INTERRUPTED:
        return Execution(failure(FailureKind.IMPORT_ERROR, target.text, "pytest could not collect it"))
    if code == pytest.ExitCode.INTERNAL_ERROR:
        return Execution(failure(FailureKind.RAISED, target.text, "an internal pytest error"))
    if not session.recorder.backward_calls and outcome != "skipped":
        if tracer.crash:  # it raised before any backward
            return Execution(failure(FailureKind.RAISED, target.text, tracer.crash), outcome)
        return Execution(failure(FailureKind.NO_BACKWARD, target.text), outcome)
    return Execution(test_outcome=outcome)


def execute(target: Target, args: Sequence[str], session: Session) -> Execution:
    if target.kind is TargetKind.PYTEST:
        return _run_test(target, args, session)
    if target.kind is TargetKind.SCRIPT:
        return _run_script(target, args, session)
    return _run_function(target, session)
