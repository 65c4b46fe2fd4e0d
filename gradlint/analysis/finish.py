"""The last step of a file's analysis: libcst nodes become positions, steps and messages.

Interpretation keeps nodes in reasoning chains because positions are not known yet; this module collects every
node a fact still refers to, computes their positions in one code generation, and rewrites the facts with
:class:`~gradlint.findings.Step` and :class:`~gradlint.findings.Location` so that they no longer hold the tree.
"""

from __future__ import annotations

import re
from typing import Dict, List, Set, Tuple

import libcst as cst

from gradlint.analysis.facts import CallFact, Candidate, ModuleFacts
from gradlint.analysis.interpreter import FileAnalyzer
from gradlint.analysis.positions import Span, spans
from gradlint.analysis.values import CallRef, Clamped, Sym, Via
from gradlint.findings import Location, Step
from gradlint.fixes.base import autofix

SNIPPET_WIDTH = 60
_SPACE = re.compile(r"\s+")


def finish(analyzer: FileAnalyzer, source: str) -> ModuleFacts:
    facts = analyzer.facts
    wanted: Set[cst.CSTNode] = set()
    syms: List[Sym] = [sym for _, sym in analyzer.equations]
    syms += [sym for function in facts.functions.values()
             for sym in (function.returns, function.decides, *(sym for _, sym in function.fields))]
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
    seen: Set[int] = set()
    for sym in syms:
        _collect(sym, wanted, seen)
    converter = _Converter(analyzer.path, source, spans(analyzer.tree, wanted))
    for function in facts.functions.values():
        function.returns = converter.sym(function.returns)
        function.decides = converter.sym(function.decides)
        function.fields = tuple((key, converter.sym(sym)) for key, sym in function.fields)
    for fact in facts.uses.values():
        if fact.combined_with is not None:
            fact.combined_with = converter.sym(fact.combined_with)
    facts.equations = [(ref, converter.sym(sym)) for ref, sym in analyzer.equations]
    facts.calls = [
        CallFact(call.function, tuple(converter.sym(s) for s in call.args),
                 tuple((name, converter.sym(s)) for name, s in call.kwargs))
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
                autofix=None if offer is None else autofix(offer, location, analyzer.tree,
                                                           converter.line(span.line)),
                autofix_outside_computation=offer.outside_computation if offer is not None else "",
            )
        )
    return facts


def _collect(sym: Sym, wanted: Set[cst.CSTNode], seen: Set[int]) -> None:
    """Add the nodes of ``sym``'s chains to ``wanted``; ``seen`` holds the ids of syms and references already
    walked (they are shared: a grade joined in a loop refers to the same parts again and again)."""
    if id(sym) in seen:
        return
    seen.add(id(sym))
    wanted.update(item for item in sym.chain if isinstance(item, cst.CSTNode))
    _collect_refs(sym.refs, wanted, seen)


def _collect_refs(refs: frozenset, wanted: Set[cst.CSTNode], seen: Set[int]) -> None:
    for ref in refs:
        if id(ref) in seen:
            continue
        seen.add(id(ref))
        if isinstance(ref, CallRef):
            for arg in ref.args:
                _collect(arg, wanted, seen)
            for _, arg in ref.kwargs:
                _collect(arg, wanted, seen)
        elif isinstance(ref, Clamped):
            _collect_refs(ref.refs, wanted, seen)
        elif isinstance(ref, Via):
            _collect(ref.sym, wanted, seen)


class _Converter:
    def __init__(self, path: str, source: str, node_spans: Dict[cst.CSTNode, Span]) -> None:
        self.path = path
        self.lines: List[str] = source.splitlines()
        self.spans = node_spans
        self._syms: Dict[int, Tuple[Sym, Sym]] = {}
        self._refs: Dict[int, Tuple[object, object]] = {}

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def snippet(self, node: cst.CSTNode) -> str:
        span = self.spans[node]
        text = self.line(span.line)
        if span.end_line == span.line:
            text = text[span.column:span.end_column]
        else:
            text = text[span.column:].rstrip() + " …"
        text = _SPACE.sub(" ", text).strip()
        return text if len(text) <= SNIPPET_WIDTH else text[: SNIPPET_WIDTH - 1] + "…"

    def step(self, item) -> Step:
        if isinstance(item, Step):
            return item
        return Step(self.snippet(item), self.path, self.spans[item].line)

    def sym(self, sym: Sym) -> Sym:
        known = self._syms.get(id(sym))
        if known is not None:
            return known[1]
        refs = frozenset(self._ref(ref) for ref in sym.refs)
        converted = Sym(sym.grade, refs, tuple(self.step(item) for item in sym.chain))
        self._syms[id(sym)] = (sym, converted)  # the original stays alive, so its id is not reused
        return converted

    def _ref(self, ref):
        known = self._refs.get(id(ref))
        if known is not None:
            return known[1]
        converted = self._convert_ref(ref)
        self._refs[id(ref)] = (ref, converted)  # the original stays alive, so its id is not reused
        return converted

    def _convert_ref(self, ref):
        if isinstance(ref, CallRef):
            return CallRef(ref.function, tuple(self.sym(arg) for arg in ref.args),
                           tuple((name, self.sym(arg)) for name, arg in ref.kwargs), ref.decides, ref.field)
        if isinstance(ref, Clamped):
            return Clamped(frozenset(self._ref(inner) for inner in ref.refs), ref.ceiling, ref.floor, ref.least,
                           ref.explains)
        if isinstance(ref, Via):
            return Via(self.sym(ref.sym))
        return ref
