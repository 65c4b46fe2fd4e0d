"""Static findings + a trace of a target -> ranked suspects, and what the command line does with them.

    diagnose(target, findings=..., root=..., user_paths=...) -> Diagnosis
    render(diagnosis, format_name, context) -> str
    exit_code(diagnosis, strict=False) -> int

Exit codes: 0 every selected parameter gets a real gradient (or is frozen on purpose), 1 a selected parameter's
gradient is missing, zero, non-finite, wrong or failed (with ``strict``, also: any suspect at all, informational
trace evidence and static findings included), 2 the target could not be traced (not found, failed to import,
raised, never called backward, has no parameter), 130 or 143 the trace was interrupted by SIGINT or SIGTERM. A
target that raised because a backward went through a freed graph is a diagnosis, not bad input: 1.
"""

from __future__ import annotations

import dataclasses
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from gradlint.findings import Confidence, Finding
from gradlint.rank import Suspect, lines_of, rank
from gradlint.report import ReportContext
from gradlint.trace.results import FailureKind, TraceResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass
class Diagnosis:
    result: TraceResult
    suspects: List[Suspect]


def diagnose(
    target: str,
    *,
    findings: Optional[Sequence[Finding]] = None,
    threshold: Confidence = Confidence.MEDIUM,
    root: Path = Path("."),
    user_paths: Sequence[str] = (),
    args: Sequence[str] = (),
    params: Sequence[str] = (),
    report_dir: Optional[Path] = None,
    pythonpath: Sequence[str] = (),
    echo: bool = True,
    command: str = "",
    record: str = "auto",
    check_gradients: bool = False,
) -> Diagnosis:
    """Trace ``target`` and rank its evidence with ``findings`` (None: no static scan was made).

    Static findings below ``threshold`` are kept where the trace saw something at their line, as the static
    side of that evidence, and dropped elsewhere. An unwritable ``report_dir`` raises ``OSError`` before the
    target runs.
    """
    from gradlint.trace import bundle, run

    command = command or f"gradlint trace {target}"
    folder = bundle.prepare(report_dir, target, command) if report_dir is not None else None
    result = run(
        target,
        args=args,
        params=params,
        user_paths=user_paths,
        root=str(root),
        executed_lines=lines_of(findings) if findings else None,
        pythonpath=pythonpath,
        echo=echo,
        record=record,
        check_gradients=check_gradients,
    )
    suspects = [
        suspect
        for suspect in rank(findings, result)
        if suspect.trace or any(finding.confidence >= threshold for finding in suspect.findings)
    ]
    if folder is not None:
        bundle.write(folder, result, suspects, command)
        result = dataclasses.replace(result, bundle=str(folder))
    return Diagnosis(result, suspects)


def render(diagnosis: Diagnosis, format_name: str, context: ReportContext) -> str:
    from gradlint.report import render as render_findings
    from gradlint.report import suspects, trace_text

    if format_name == "text":
        return trace_text.render(diagnosis.result, diagnosis.suspects)
    if format_name == "json":
        return suspects.render_json(diagnosis.result, diagnosis.suspects)
    return render_findings(format_name, suspects.as_findings(diagnosis.suspects, context.root), context)


def exit_code(diagnosis: Diagnosis, strict: bool = False) -> int:
    result = diagnosis.result
    failed = result.failure
    if failed is not None and failed.kind is FailureKind.INTERRUPTED:
        return 128 + (signal.Signals[failed.detail] if failed.detail in signal.Signals.__members__ else signal.SIGINT)
    if failed is not None and not result.graph_reuse:
        return EXIT_ERROR
    if failed is not None or result.bad_parameters or strict and diagnosis.suspects:
        return EXIT_FINDINGS
    return EXIT_CLEAN
