"""The last step of a file's analysis: libcst nodes become positions, steps and messages.

Interpretation keeps nodes in reasoning chains because positions are not known yet; this module collects every
node a fact still refers to, computes their positions in one code generation, and rewrites the facts with
:class:`~gradlint.findings.Step` and :class:`~gradlint.findings.Location` so that they no longer hold the tree.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Dict, List, Set, Tuple, Union

import libcst as cst

from gradlint.analysis.facts import CallFact, Candidate, ModuleFacts
from gradlint.analysis.interpreter import FileAnalyzer
from gradlint.analysis.nested import rebuilt
from gradlint.analysis.positions import Span, spans
from gradlint.analysis.values import CallRef, Clamped, Sym, Via
from gradlint.findings import Location, Step, source_lines
from gradlint.fixes.base import autofix

SNIPPET_WIDTH = 60
_SPACE = re.compile(r"\s+")


def finish(analyzer: FileAnalyzer, source: str) -> ModuleFacts:
    facts = analyzer.facts
    wanted: Set[cst.CSTNode] = set()
    syms: List[Sym] = [sym for _, sym in analyzer.equations]
    syms += [
        sym
        for function in facts.functions.values()
        for sym in (function.returns, function.decides, *(sym for _, sym in function.fields))
    ]
    for call in analyzer.calls:
        syms += call.args
        syms += [sym for _, sym in call.kwargs]
    syms += [fact.combined_with for fact in facts.uses.values() if fact.combined_with is not None]
    for candidate in analyzer.candidates:
        wanted.add(candidate.node)
        if candidate.subject is not None:
            wanted.add(candidate.subject)
        syms.append(candidate.receiver)
        if candidate.gate is not None:
            syms.append(candidate.gate)
    _collect(syms, wanted)
    converter = _Converter(analyzer.path, source, spans(analyzer.tree, wanted, source))
    for function in facts.functions.values():
        function.returns = converter.sym(function.returns)
        function.decides = converter.sym(function.decides)
        function.fields = tuple((key, converter.sym(sym)) for key, sym in function.fields)
    for fact in facts.uses.values():
        if fact.combined_with is not None:
            fact.combined_with = converter.sym(fact.combined_with)
    facts.equations = [(ref, converter.sym(sym)) for ref, sym in analyzer.equations]
    facts.calls = [
        CallFact(
            call.function,
            tuple(converter.sym(s) for s in call.args),
            tuple((name, converter.sym(s)) for name, s in call.kwargs),
        )
        for call in analyzer.calls
    ]
    for index, candidate in enumerate(analyzer.candidates):
        span = converter.spans[candidate.node]
        location = Location(analyzer.path, span.line, span.column + 1, span.end_line, span.end_column + 1)
        offer = analyzer.offers.get(index)
        subject = converter.snippet(candidate.subject) if candidate.subject is not None else ""
        receiver = candidate.receiver
        if candidate.subject is not None and (not receiver.chain or receiver.chain[0] is not candidate.subject):
            receiver = Sym(receiver.grade, receiver.refs, (candidate.subject,) + receiver.chain)
        facts.candidates.append(
            Candidate(
                code=candidate.rule.code,
                rule=candidate.rule.name,
                location=location,
                message=candidate.message.replace("{subject}", subject),
                fix=candidate.fix.replace("{subject}", subject),
                kept_fix=candidate.rule.kept_fix.replace("{subject}", subject),
                receiver=converter.sym(receiver),
                use=candidate.use,
                gate=converter.sym(candidate.gate) if candidate.gate is not None else None,
                escape_cap=int(candidate.rule.escape_confidence),
                stored_cap=int(candidate.rule.stored_confidence),
                source_line=converter.line(span.line),
                autofix=None if offer is None else autofix(offer, location, analyzer.tree, converter.line(span.line)),
                autofix_outside_computation=offer.outside_computation if offer is not None else "",
            )
        )
    return facts


def _collect(syms: List[Sym], wanted: Set[cst.CSTNode]) -> None:
    """Add the nodes of the chains of ``syms`` and of every sym they refer to, however deeply, to ``wanted``."""
    seen: Set[int] = set()  # ids of the items walked; the items stay alive, so the ids are not reused
    pending: List[object] = list(syms)
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Sym):
            wanted.update(step for step in item.chain if isinstance(step, cst.CSTNode))
        pending.extend(_parts(item))


def _parts(item: object) -> Tuple[object, ...]:
    """The syms and references a sym or a reference is made of."""
    if isinstance(item, (Sym, Clamped)):
        return tuple(item.refs)
    if isinstance(item, CallRef):
        return (*item.args, *(arg for _, arg in item.kwargs))
    if isinstance(item, Via):
        return (item.sym,)
    return ()


class _Converter:
    def __init__(self, path: str, source: str, node_spans: Dict[cst.CSTNode, Span]) -> None:
        self.path = path
        self.lines: List[str] = source_lines(source)
        self.spans = node_spans
        # id of a sym or reference -> (it, its converted form); the original stays alive, so its id is not reused.
        self._converted: Dict[int, Tuple[object, object]] = {}

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def snippet(self, node: cst.CSTNode) -> str:
        span = self.spans[node]
        text = self.line(span.line)
        if span.end_line == span.line:
            text = text[span.column : span.end_column]
        else:
            text = text[span.column :].rstrip() + " …"
        text = _SPACE.sub(" ", text).strip()
        return text if len(text) <= SNIPPET_WIDTH else text[: SNIPPET_WIDTH - 1] + "…"

    def step(self, item: Union[Step, cst.CSTNode]) -> Step:
        if isinstance(item, Step):
            return item
        return Step(self.snippet(item), self.path, self.spans[item].line)

    def sym(self, sym: Sym) -> Sym:
        """``sym`` with steps in its chains instead of nodes, and so every sym it refers to."""
        return rebuilt(sym, _parts, self._rebuilt, self._converted)

    def _rebuilt(self, item: object) -> object:
        """``item`` made of the converted forms of its parts (converted before it)."""

        def converted(part: object) -> Any:
            return self._converted[id(part)][1]

        if isinstance(item, Sym):
            return Sym(item.grade, frozenset(map(converted, item.refs)), tuple(self.step(step) for step in item.chain))
        if isinstance(item, CallRef):
            return dataclasses.replace(
                item,
                args=tuple(map(converted, item.args)),
                kwargs=tuple((name, converted(arg)) for name, arg in item.kwargs),
            )
        if isinstance(item, Clamped):
            return dataclasses.replace(item, refs=frozenset(map(converted, item.refs)))
        if isinstance(item, Via):
            return Via(converted(item.sym))
        return item
