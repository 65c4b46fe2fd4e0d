"""One ranked list of suspect sites (file:line), merging static findings and trace evidence.

API (no torch needed)::

    rank(findings, trace_result) -> list[Suspect]     # either argument may be None
    lines_of(findings) -> dict[path, set[line]]       # pass to gradlint.trace.run(executed_lines=...)

Tiers, best first (``docs/ranking.md`` has the full story):

1. the trace saw the site sever a parameter whose gradient ended missing, zero, non-finite or in
   error, or the site is a diagnosis behind such a parameter (zero factor and the value it was filled
   from, the operation where a connected gradient vanishes, the first non-finite node, the tensor
   cached with a freed graph);
2. the trace saw the site sever other differentiable values;
3. static findings on lines the trace executed (higher confidence first);
4. static findings on lines never executed, or whose execution is unknown.

Within tier 1, evidence that explains a parameter's outcome (a cut behind a missing gradient, a
diagnosis behind a zero one) comes before evidence that merely touches such a parameter; the root of
a chain (the value a zero factor was filled from, where a cached tensor was kept) comes first.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional, Sequence, Union

from gradlint.findings import Confidence, Finding, Step
from gradlint.trace.results import (
    Frame,
    GraphReuse,
    NonFiniteOrigin,
    Outcome,
    SeveringEvent,
    TraceResult,
    VanishingPoint,
    ZeroFactor,
)

Diagnosis = Union[SeveringEvent, VanishingPoint, ZeroFactor, NonFiniteOrigin, GraphReuse]

# Evidence kinds beyond the severing-event kinds (which are ``EventKind`` values).
ZERO_VALUE = "zero_value"  # where the constant of a zero factor was defined
ZERO_FACTOR = "zero_factor"  # where the identically zero factor was created
ZERO_PRODUCT = "zero_product"  # the product through which it zeroes the gradient
VANISHING = "vanishing"  # a connected gradient stops here (round, clamp, mask ...)
NONFINITE = "nonfinite"  # first node turning finite gradients into NaN/inf
GRAPH_REUSE = "graph_reuse"  # where a tensor was kept with a graph a backward freed
GRAPH_REUSE_CREATED = "graph_reuse_created"
GRAPH_REUSE_USED = "graph_reuse_used"


@dataclass(frozen=True)
class TraceEvidence:
    kind: str
    op: str
    count: int
    parameters: tuple[str, ...]  # parameters the evidence concerns
    explains: tuple[str, ...]  # the bad parameters whose outcome it explains
    chain: tuple[Frame, ...]  # user callers of the site, innermost first
    priority: int  # 0 root cause, 1 direct cause, 2 consequence, 3 touches only
    source: Diagnosis  # the trace record it came from

    @property
    def is_event(self) -> bool:
        return isinstance(self.source, SeveringEvent)


@dataclass(frozen=True)
class Suspect:
    path: str
    line: int
    function: str
    tier: int
    trace: tuple[TraceEvidence, ...]
    findings: tuple[Finding, ...]
    parameters: tuple[str, ...]
    bad_parameters: tuple[str, ...]
    executed: Optional[bool]  # None: unknown
    static_missed: bool  # trace evidence of a cut that no static finding reports

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(sorted({finding.code for finding in self.findings}))

    @property
    def chain(self) -> tuple[Frame, ...]:
        return next((evidence.chain for evidence in self.trace if evidence.chain), ())

    @property
    def static_chain(self) -> tuple[Step, ...]:
        return next((finding.chain for finding in self.findings if finding.chain), ())

    @property
    def has_trace(self) -> bool:
        return bool(self.trace)


def _normal(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/"))


def lines_of(findings: Iterable[Finding]) -> dict[str, set[int]]:
    lines: dict[str, set[int]] = {}
    for finding in findings:
        lines.setdefault(_normal(finding.location.path), set()).add(finding.location.line)
    return lines


@dataclass
class _Site:
    function: str = ""
    evidence: list[tuple[Frame, TraceEvidence]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _evidence(trace: TraceResult) -> Iterator[tuple[Frame, TraceEvidence]]:
    outcomes = {p.name: p.outcome for p in trace.parameters}
    bad = {name for name, outcome in outcomes.items() if outcome.is_bad}
    frozen = {name for name, outcome in outcomes.items() if outcome is Outcome.FROZEN}
    for event in trace.events:
        if event.parameters and frozen.issuperset(event.parameters):
            continue  # keeping a frozen parameter (a target network) out of backward is what freezing means
        # A cut explains a gradient that is missing, or wrong (a cut on one of two paths to the loss).
        explains = tuple(p for p in event.parameters if outcomes.get(p) in (Outcome.MISSING, Outcome.WRONG))
        touches_bad = any(p in bad for p in event.parameters)
        priority = 1 if explains else 3 if touches_bad else 4
        yield (
            event.site,
            TraceEvidence(
                event.kind.value, event.op, event.count, event.parameters, explains, event.chain, priority, event
            ),
        )
    for point in trace.vanishing:
        explains = tuple(p for p in point.parameters if p in bad)
        factor = point.zero_factor
        if factor is not None:
            origin = factor.origin
            if origin is not None and origin.defined is not None:
                yield (
                    origin.defined,
                    TraceEvidence(ZERO_VALUE, origin.expression, 1, point.parameters, explains, (), 0, factor),
                )
            yield factor.site, TraceEvidence(ZERO_FACTOR, factor.op, 1, point.parameters, explains, (), 1, factor)
        if point.site is not None:
            kind, priority = (ZERO_PRODUCT, 2) if factor is not None else (VANISHING, 1)
            yield point.site, TraceEvidence(kind, point.node, 1, point.parameters, explains, (), priority, point)
    for nonfinite in trace.nonfinite:
        if nonfinite.site is not None:
            explains = tuple(p for p in nonfinite.parameters if p in bad)
            yield (
                nonfinite.site,
                TraceEvidence(NONFINITE, nonfinite.node, 1, nonfinite.parameters, explains, (), 1, nonfinite),
            )
    for reuse in trace.graph_reuse:
        explains = tuple(p for p in reuse.parameters if p in bad)
        frames = [(reuse.stored, GRAPH_REUSE), (reuse.created, GRAPH_REUSE_CREATED), (reuse.used, GRAPH_REUSE_USED)]
        seen: set[Frame] = set()
        for priority, (frame, kind) in enumerate([(f, kind) for f, kind in frames if f is not None]):
            if frame not in seen:
                seen.add(frame)
                yield frame, TraceEvidence(kind, reuse.node, 1, reuse.parameters, explains, (), priority, reuse)


def _merged(evidence: Iterable[TraceEvidence]) -> tuple[TraceEvidence, ...]:
    """One piece of evidence per kind and operation at a site (a zero factor behind several groups of
    parameters is one cause), best priority first."""
    merged: dict[tuple[str, str], TraceEvidence] = {}
    for item in evidence:
        key = (item.kind, item.op)
        seen = merged.get(key)
        merged[key] = (
            item
            if seen is None
            else dataclasses.replace(
                seen,
                parameters=tuple(sorted({*seen.parameters, *item.parameters})),
                explains=tuple(sorted({*seen.explains, *item.explains})),
                priority=min(seen.priority, item.priority),
            )
        )
    return tuple(sorted(merged.values(), key=lambda e: e.priority))


def _executed(trace: Optional[TraceResult], path: str, line: int, has_trace: bool) -> Optional[bool]:
    """Whether the trace ran the line: known for trace sites and for the files it was asked about."""
    if has_trace:
        return True
    if trace is None or trace.executed_lines is None:
        return None
    asked = {_normal(p): lines for p, lines in trace.executed_lines.items()}
    return line in asked[path] if path in asked else None


def _tier(evidence: Sequence[TraceEvidence], executed: Optional[bool]) -> int:
    if evidence:
        return 1 if any(e.priority < 4 for e in evidence) else 2
    return 3 if executed else 4


def _similarity(parameters: set[str], bad: set[str]) -> float:
    union = parameters | bad
    return len(parameters & bad) / len(union) if union else 0.0


def rank(findings: Optional[Sequence[Finding]], trace: Optional[TraceResult]) -> list[Suspect]:
    sites: dict[tuple[str, int], _Site] = {}
    if trace is not None:
        for frame, found in _evidence(trace):
            site = sites.setdefault((_normal(frame.path), frame.line), _Site(frame.function))
            site.evidence.append((frame, found))
    for finding in findings or ():
        site = sites.setdefault((_normal(finding.location.path), finding.location.line), _Site())
        site.findings.append(finding)
    bad = set(trace.bad_parameters) if trace is not None else set()

    suspects = []
    for (path, line), site in sites.items():
        evidence = _merged(e for _, e in site.evidence)
        parameters = sorted({p for e in evidence for p in e.parameters})
        executed = _executed(trace, path, line, bool(evidence))
        suspects.append(
            Suspect(
                path=path,
                line=line,
                function=site.function,
                tier=_tier(evidence, executed),
                trace=evidence,
                findings=tuple(sorted(site.findings, key=lambda f: f.sort_key)),
                parameters=tuple(parameters),
                bad_parameters=tuple(p for p in parameters if p in bad),
                executed=executed,
                static_missed=findings is not None and not site.findings and any(e.is_event for e in evidence),
            )
        )

    def order(suspect: Suspect) -> tuple:
        confidence = max((f.confidence for f in suspect.findings), default=Confidence.LOW)
        if suspect.trace:
            return (
                suspect.tier,
                min(e.priority for e in suspect.trace),
                -_similarity(set(suspect.parameters), bad),
                not suspect.findings,
                -confidence,
                -sum(e.count for e in suspect.trace),
                suspect.path,
                suspect.line,
            )
        return (suspect.tier, 0, 0.0, False, -confidence, 0, suspect.path, suspect.line)

    return sorted(suspects, key=order)
