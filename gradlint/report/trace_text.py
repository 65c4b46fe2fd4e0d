"""Plain-text (and Markdown summary) rendering of a trace: the gradient-outcome table, then the suspects."""

from __future__ import annotations

from typing import Optional, Sequence

from gradlint import rank as ranking
from gradlint.rank import Suspect, TraceEvidence
from gradlint.report import chain_text
from gradlint.trace.results import Frame, Outcome, ParameterReport, Reason, TraceResult, ZeroFactor

_REASONS = {
    "connected": "real gradient",
    "severed": "cut from the output",
    "disconnected": "not connected, no cut seen",
    "zero_forward": "zero factor in the forward pass",
    "vanishing": "vanishes at one operation",
    "nonfinite": "NaN/inf arises in backward",
    "graph_reuse": "backward through a freed graph",
    "wrong": "disagrees with finite differences",
    "frozen": "frozen on purpose",
    "copy": "copy kept out of backward",
    "unexplained": "no diagnosis",
}


def _number(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3g}"


def _where(frame: Optional[Frame]) -> str:
    return "-" if frame is None else f"{frame.path}:{frame.line}"


def _names(names: Sequence[str], shown: int = 6) -> str:
    if not names:
        return "no parameter"
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[: shown - 1])} and {len(names) - shown + 1} more"


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def _why(report: ParameterReport) -> str:
    why = _REASONS.get(report.reason.value, report.reason.value)
    check = report.check
    if report.reason is Reason.FROZEN:
        return f"{why} at {_where(report.frozen_at)}"
    if report.reason is Reason.COPY and report.copy_of:
        return f"copy of {report.copy_of} kept out of backward"
    if check is not None and check.verdict == "disagrees":
        return f"{why}: {_number(check.autograd)} vs {_number(check.numeric)}"
    if check is not None and check.verdict == "agrees":
        return f"{why} (agrees with finite differences)"
    return why


def _parameter_row(report: ParameterReport) -> list[str]:
    return [
        report.name,
        report.outcome.value,
        _why(report),
        _number(report.norm),
        _number(report.max_abs),
        _where(report.created),
    ]


def render_parameters(result: TraceResult) -> str:
    if not result.parameters:
        return "No parameter requiring grad was observed."
    header = ["parameter", "outcome", "why", "norm", "max |g|", "created"]
    lines = ["Gradient outcome per parameter:"]
    lines += _table([header, *(_parameter_row(p) for p in result.parameters)])
    if result.output_zero:
        lines.append("  The output (the tensor backward started from) was identically zero.")
    return "\n".join(lines)


def notes(result: TraceResult) -> list[str]:
    """What the trace did that the reader should know: reruns, compiled code run eagerly, exits intercepted."""
    found = list(result.notes)
    if result.compiled:
        sites = ", ".join(_where(frame) for frame in result.compiled)
        found.append(f"torch.compile'd code ran eagerly under the trace (compiled at {sites})")
    return found


def render_notes(result: TraceResult) -> str:
    found = notes(result)
    return "\n".join(["Notes:", *(f"  - {note}" for note in found)]) if found else ""


def describe(evidence: TraceEvidence) -> str:
    """One line saying what the trace saw at a suspect site."""
    params = _names(evidence.parameters)
    source = evidence.source
    if evidence.is_event:
        times = f" {evidence.count} times" if evidence.count > 1 else ""
        return f"{evidence.op} cut the gradient ({evidence.kind}){times}; the cut value depends on {params}"
    if isinstance(source, ZeroFactor):  # the factor itself, or where its constant was defined
        origin = source.origin
        if evidence.kind == ranking.ZERO_VALUE and origin is not None:
            return (
                f"{origin.expression} = {_number(origin.value)} set here ({origin.kind.replace('_', ' ')}) "
                f"fills the zero factor that zeroes the gradient of {params}"
            )
        filled = f" from {origin.expression} = {_number(origin.value)}" if origin else ""
        if origin is not None and origin.defined is not None:
            filled += f", the {origin.kind.replace('_', ' ')} at {_where(origin.defined)}"
        return f"{evidence.op} created an identically zero tensor{filled}; it multiplies into the path of {params}"
    if evidence.kind == ranking.ZERO_PRODUCT:
        return f"{evidence.op} multiplies by that zero factor, so the gradient of {params} is exactly zero"
    if evidence.kind == ranking.VANISHING:
        return f"{evidence.op} passes back an exactly zero gradient toward {params}"
    if evidence.kind == ranking.NONFINITE:
        return f"{evidence.op} turns finite gradients into NaN/inf toward {params}"
    if evidence.kind == ranking.GRAPH_REUSE:
        return (
            f"a tensor kept here still holds a graph ({evidence.op}) that an earlier backward freed; "
            f"backward toward {params} fails"
        )
    if evidence.kind == ranking.GRAPH_REUSE_CREATED:
        return f"the cached tensor was computed here ({evidence.op}); it depends on {params}"
    return f"the cached tensor with a freed graph is used here; it depends on {params}"


def _suspect_lines(number: int, suspect: Suspect) -> list[str]:
    where = f"{suspect.path}:{suspect.line}" + (f" in {suspect.function}" if suspect.function else "")
    lines = [f"  {number}. {where}  [tier {suspect.tier}]"]
    for evidence in suspect.trace:
        lines.append(f"     trace: {describe(evidence)}")
    if suspect.bad_parameters:
        lines.append(f"     parameters with a bad gradient: {_names(suspect.bad_parameters)}")
    chain = suspect.chain
    if chain:
        lines.append("     called from: " + " <- ".join(f"{_where(f)} {f.function}" for f in chain[:4]))
    for finding in suspect.findings:
        lines.append(f"     static: {finding.code} {finding.message} ({finding.confidence.label})")
        if finding.chain:
            lines.append(f"       because: {chain_text(finding)}")
    if suspect.static_missed:
        lines.append("     the static checker did not report this site")
    if not suspect.trace and suspect.executed is False:
        lines.append("     this line never ran in the trace")
    return lines


def render_suspects(suspects: Sequence[Suspect], limit: int = 10) -> str:
    if not suspects:
        return "No suspect sites."
    lines = ["Suspects, most likely first:"]
    for number, suspect in enumerate(suspects[:limit], 1):
        lines += _suspect_lines(number, suspect)
    if len(suspects) > limit:
        lines.append(f"  ... and {len(suspects) - limit} more")
    return "\n".join(lines)


def render(result: TraceResult, suspects: Sequence[Suspect], limit: int = 10) -> str:
    parts = [f"gradlint trace of {result.target}" + (f" (test {result.test_outcome})" if result.test_outcome else "")]
    if result.failure is not None:
        parts.append(result.failure.message)
    parts += [render_parameters(result), render_notes(result), render_suspects(suspects, limit)]
    return "\n\n".join(part for part in parts if part) + "\n"


def render_test(nodeid: str, result: TraceResult, suspects: Sequence[Suspect], limit: int = 5) -> str:
    """One test's part of ``pytest --gradlint``: a line when all is well, else its table and suspects."""
    if not suspects and not result.bad_parameters:
        count = len(result.parameters)
        frozen = sum(p.outcome is Outcome.FROZEN for p in result.parameters)
        kept = f" ({frozen} frozen on purpose)" if frozen else ""
        return f"{nodeid}: {count} parameter{'s' if count != 1 else ''}{kept}, all with real gradients"
    parts = [nodeid, render_parameters(result), render_notes(result), render_suspects(suspects, limit)]
    return "\n".join(part for part in parts if part) + "\n"


def render_summary_markdown(
    result: TraceResult, suspects: Sequence[Suspect], command: str, versions: dict[str, str], limit: int = 10
) -> str:
    times = "time" if result.passes == 1 else "times"
    lines = [
        f"# gradlint trace: `{result.target}`",
        "",
        f"- command: `{command}`",
        f"- runtime: {result.duration:.2f} s (the target ran {result.passes} {times})",
    ]
    if result.test_outcome:
        lines.append(f"- test: {result.test_outcome}")
    lines.append("- versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    if result.failure is not None:
        lines += ["", "## Problem", "", result.failure.message]
    lines += ["", "## Gradient outcome", ""]
    if result.parameters:
        lines += ["| parameter | outcome | why | norm | max abs | created |", "|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(_parameter_row(p)) + " |" for p in result.parameters]
    else:
        lines.append("No parameter requiring grad was observed.")
    found = notes(result)
    if found:
        lines += ["", "## Notes", "", *(f"- {note}" for note in found)]
    lines += ["", "## Top suspects", ""]
    if not suspects:
        lines.append("None.")
    for number, suspect in enumerate(suspects[:limit], 1):
        lines.append(f"{number}. `{suspect.path}:{suspect.line}` (tier {suspect.tier})")
        lines += [f"   - {describe(e)}" for e in suspect.trace]
        lines += [f"   - static {f.code}: {f.message}" for f in suspect.findings]
    return "\n".join(lines) + "\n"
