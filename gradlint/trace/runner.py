"""``run()``: trace a target in this process, check the result for bad input, write the report bundle.

Importing this module does not import torch: without torch, ``run`` returns a ``no_torch`` failure.
"""

from __future__ import annotations

import dataclasses
import io
import shlex
import time
from pathlib import Path
from typing import Collection, Mapping, Optional, Sequence

from gradlint.findings import Finding
from gradlint.trace.failures import failure
from gradlint.trace.results import Failure, FailureKind, TargetKind, TraceResult


def _guess_kind(target: str) -> TargetKind:
    if "::" in target:
        return TargetKind.PYTEST
    return TargetKind.SCRIPT if target.endswith(".py") else TargetKind.FUNCTION


def _final_failure(result: TraceResult) -> Optional[Failure]:
    found = result.failure
    if found is not None:
        if found.kind is FailureKind.RAISED and result.graph_reuse:
            return failure(FailureKind.RAISED, result.target, found.detail, graph_reuse=True)
        return found
    if not result.parameters:
        return failure(FailureKind.NO_PARAMETERS, result.target)
    return None


def _command(target: str, args: Sequence[str], params: Sequence[str]) -> str:
    words = ["gradlint", "trace", shlex.quote(target), *(f"--param {shlex.quote(p)}" for p in params)]
    return " ".join(words + (["--", *map(shlex.quote, args)] if args else []))


def run(
    target: str,
    *,
    args: Sequence[str] = (),
    params: Sequence[str] = (),
    user_paths: Sequence[str] = (),
    root: str = ".",
    executed_lines: Optional[Mapping[str, Collection[int]]] = None,
    report_dir: Optional[str] = None,
    findings: Optional[Sequence[Finding]] = None,
    pythonpath: Sequence[str] = (),
    echo: bool = True,
    command: str = "",
    record: str = "auto",
    check_gradients: bool = False,
    directions: int = 3,
) -> TraceResult:
    """Trace ``target`` (see ``gradlint.trace`` for the options). Never raises for a bad target.

    An unwritable ``report_dir`` raises ``OSError`` before the target runs.
    """
    from gradlint.trace import bundle

    started = time.perf_counter()
    command = command or _command(target, args, params)
    folder = bundle.prepare(Path(report_dir), target, command) if report_dir is not None else None
    log = io.StringIO()
    try:
        from gradlint.trace import passes
    except ImportError as error:
        if error.name != "torch":
            raise
        result = TraceResult(target, _guess_kind(target), failure=failure(FailureKind.NO_TORCH, target))
    else:
        options = passes.Options(
            tuple(args),
            tuple(user_paths),
            root,
            tuple(pythonpath),
            executed_lines,
            tuple(params),
            record,
            check_gradients,
            directions,
        )
        result = passes.trace(target, _guess_kind(target), options, log, echo)
    result = dataclasses.replace(
        result, failure=_final_failure(result), log=log.getvalue(), duration=time.perf_counter() - started
    )
    if folder is not None:
        from gradlint.rank import rank  # the ranking imports this package: import it only when needed

        bundle.write(folder, result, rank(findings, result), command)
        result = dataclasses.replace(result, bundle=str(folder))
    return result
