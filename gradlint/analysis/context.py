"""What rules see: a call site, and a context that answers questions about the values at the current node."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple

import libcst as cst

from gradlint.analysis import torch_api as api
from gradlint.analysis.declarations import ClassInfo, FunctionInfo
from gradlint.analysis.values import (
    CONSTANT_VALUE,
    LOW,
    NONE,
    CandidateMark,
    Clamped,
    ParamRef,
    Sym,
    Value,
    cap,
    plain_refs,
    strongest,
)

if TYPE_CHECKING:
    from gradlint.analysis.interpreter import FunctionInterpreter
    from gradlint.fixes.base import FixKind
    from gradlint.rules.base import Rule


@dataclass
class CallSite:
    """A call, as rules see it: what is called, on what, with which values."""

    node: cst.Call
    callee: Optional[str]  # qualified name when a function or class is called by name
    method: Optional[str]  # the method name when a method is called on a value
    receiver: Optional[Value]
    args: List[Value]
    kwargs: Dict[str, Value]
    casts_to_integer: bool = False  # a tensor method that returns an integer or bool tensor

    @property
    def tensor_method(self) -> Optional[str]:
        """The method name when a method is called on a value that may be a tensor."""
        if self.method is None or self.receiver is None:
            return None
        return self.method if self.receiver.cls is None or self.receiver.module_instance else None

    @property
    def receiver_node(self) -> cst.BaseExpression:
        """``x`` of a method call ``x.f(...)``; the callee of another call."""
        func = self.node.func
        return func.value if isinstance(func, cst.Attribute) else func

    @property
    def stepped(self) -> Optional[Tuple[cst.BaseExpression, Value]]:
        """(the expression and its value) when the call is a step of it, piecewise constant (``floor``, ``round``,
        ``sign``, a rounding division): its result has a zero gradient wherever it has one, else None."""
        method = self.tensor_method
        if method in api.STEP_NAMES and self.receiver is not None:
            return self.receiver_node, self.receiver
        rounding = self.argument(None, "rounding_mode")
        rounds = rounding is not None and not (
            isinstance(rounding[0].value, cst.Name) and rounding[0].value.value == "None"
        )
        if self.callee in api.STEP_FUNCTIONS or (self.callee in api.DIVISIONS and rounds):
            return (self.node.args[0].value, self.args[0]) if self.args and self.node.args else None
        if method == "div" and rounds and self.receiver is not None:
            return self.receiver_node, self.receiver
        return None

    def argument(self, position: Optional[int], keyword: Optional[str]) -> Optional[Tuple[cst.Arg, Value]]:
        """The argument at ``position`` or named ``keyword``, with its value."""
        positional = [arg for arg in self.node.args if arg.keyword is None and not arg.star]
        if position is not None and position < len(positional) and position < len(self.args):
            return positional[position], self.args[position]
        if keyword is not None and keyword in self.kwargs:
            for arg in self.node.args:
                if arg.keyword is not None and arg.keyword.value == keyword:
                    return arg, self.kwargs[keyword]
        return None


class Context:
    """What a rule may ask while the interpreter is at a node."""

    def __init__(self, interpreter: "FunctionInterpreter") -> None:
        # A weak reference: the interpreter holds its context, and a cycle would keep a finished function's
        # values alive until the cyclic collector runs, which the engine pauses while a file is analysed.
        self._interpreter = weakref.proxy(interpreter)

    @property
    def function(self) -> FunctionInfo:
        return self._interpreter.info

    def value(self, node: cst.CSTNode) -> Value:
        return self._interpreter.values.get(node, CONSTANT_VALUE)

    def qualname(self, node: cst.BaseExpression) -> Optional[str]:
        return self._interpreter.callee_name(node)

    @property
    def statement(self) -> Optional[cst.BaseSmallStatement]:
        """The simple statement being run (the last one, while a compound statement's header is evaluated)."""
        return self._interpreter.statement

    def precut(self, value: Value) -> Sym:
        """The grade ``value`` had before any cut this file reported on the way to it."""
        return self._interpreter.analyzer.precut(value)

    def condition(self, test: cst.BaseExpression) -> Sym:
        """The strongest grade a branch condition depends on, looking through comparisons and predicates.

        A bare truth test (``if x:``, ``if not self.items:``) is mostly a check for None or emptiness, so it
        counts for little, unless the value tested is a truth value decided on differentiable values (a flag
        ``has_mosaic = spread > 0``, a helper comparing the configuration with its defaults).
        """
        grades = []
        for node, compared in _condition_operands(test, self, compared=False):
            value = self.value(node)
            grades += [self.precut(value) if compared else cap(self.precut(value), LOW), value.decides]
        return strongest(grades)

    def received(self, value: Value) -> bool:
        """Whether ``value`` is one of this function's parameters as the caller passed it (not a computation on
        it): changing it in place changes the caller's tensor."""
        own = self.function.qualname
        return (
            not value.derived
            and value.items is None
            and not value.module_instance
            and any(isinstance(ref, ParamRef) and ref.function == own for ref in value.sym.refs)
        )

    def class_info(self, qualname: Optional[str]) -> Optional[ClassInfo]:
        """What this file declares of the class ``qualname`` (its bases and methods), or None."""
        return self._interpreter.analyzer.declared.classes.get(qualname or "")

    def is_module_container(self, node: cst.BaseExpression) -> bool:
        return self._interpreter.is_module_container(node)

    def report(
        self,
        rule: Rule,
        node: cst.CSTNode,
        *,
        receiver: Sym,
        message: str,
        fix: str = "",
        subject: Optional[cst.CSTNode] = None,
        use: Optional[int] = None,
        gate: Optional[Sym] = None,
        computes_gradient: bool = False,
    ) -> Optional[CandidateMark]:
        """Report a candidate of ``rule`` at ``node``; the later uses of its value decide its confidence
        unless ``use`` is given.

        Returns the mark that the interpreter puts on the node's value, or None when the receiver is constant
        or grad mode is off here (the region itself is the finding: nothing in it is differentiable), unless the
        finding is about the gradient that code computes (``computes_gradient``: a custom function's
        ``backward``, which runs with grad mode off).
        """
        if receiver.is_constant() or not (self._interpreter.grad_enabled or computes_gradient):
            return None
        mark = self._interpreter.analyzer.add_candidate(rule, node, subject, message, fix, receiver, use, gate)
        if self._interpreter.cuts_meant:
            self.deliberate(mark)
        return mark

    def judged_by(self, mark: Optional[CandidateMark], use: object) -> None:
        """The candidate ``mark`` stands for matters as much as the values carrying the use mark ``use`` (an
        attribute's, a return value's) are used."""
        if mark is not None:
            fact = self._interpreter.analyzer.use_fact(mark)
            fact.via = fact.via | {use}

    def deliberate(self, mark: CandidateMark) -> None:
        """The code shows that this cut is meant (a stop-gradient on one path of a value used on another): it is
        reported at low confidence at most."""
        candidate = self._interpreter.analyzer.candidates[mark.index]
        candidate.gate = Sym(LOW) if candidate.gate is None else cap(candidate.gate, LOW)

    def offer_fix(self, mark: Optional[CandidateMark], kind: FixKind, *args: object) -> Optional[CandidateMark]:
        """Offer the fix ``kind`` (a :class:`gradlint.fixes.base.FixKind`) for the candidate ``mark`` stands for,
        built from ``args`` and this context. A node evaluated again (in a loop) keeps its latest offer, and
        none once any evaluation could not offer one. Returns ``mark``."""
        if mark is not None:
            offers = self._interpreter.analyzer.offers
            if offers.get(mark.index, True) is not None:
                offers[mark.index] = kind.offer(*args, self)
        return mark

    def local_grade(self, value: Value) -> int:
        """``value``'s grade as far as this file alone tells: its own, raised by the bounds its references get
        here (a parameter's annotation, an attribute assigned a parameter in ``__init__``), through clamps."""
        bounds: Dict[object, int] = {}
        for ref, sym in self._interpreter.analyzer.equations:
            bounds[ref] = max(bounds.get(ref, NONE), sym.grade)
        return max(value.grade, _local(value.sym.refs, bounds))

    def name_for(self, qualified: str) -> Optional[str]:
        """A name that refers to the module ``qualified`` here (``th`` after ``import torch as th``)."""
        aliases = self._interpreter.analyzer.declared.imports.aliases
        for local in sorted(aliases, key=lambda name: name != qualified):
            if aliases[local] == qualified and self.qualname(cst.Name(local)) == qualified:
                return local
        return None

    def open_candidate(self, rule: Rule, node: cst.CSTNode, *, message: str, fix: str = "") -> CandidateMark:
        """A candidate whose receiver is filled in later (by the values that leave a no-grad region)."""
        mark = self._interpreter.analyzer.add_candidate(rule, node, None, message, fix, Sym(), None, None)
        if self._interpreter.cuts_meant:
            self.deliberate(mark)
        return mark


def _local(refs: frozenset, bounds: Dict[object, int]) -> int:
    """The strongest of ``bounds`` among ``refs``, looking through joins and applying clamps."""
    best = NONE
    for ref in plain_refs(refs):
        grade = ref.apply(_local(ref.refs, bounds)) if isinstance(ref, Clamped) else bounds.get(ref, NONE)
        best = max(best, grade)
    return best


def _condition_operands(
    test: cst.BaseExpression, ctx: Context, compared: bool
) -> Iterator[Tuple[cst.BaseExpression, bool]]:
    """The sub-expressions whose values a condition tests (through ``not``, ``and``, comparisons, ``any``...),
    each with whether its value is compared or tested by a predicate rather than only for truth."""
    if isinstance(test, cst.BooleanOperation):
        yield from _condition_operands(test.left, ctx, compared)
        yield from _condition_operands(test.right, ctx, compared)
    elif isinstance(test, cst.UnaryOperation):
        yield from _condition_operands(test.expression, ctx, compared)
    elif isinstance(test, cst.Comparison):
        if any(isinstance(target.operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn)) for target in test.comparisons):
            return
        yield from _condition_operands(test.left, ctx, True)
        for target in test.comparisons:
            yield from _condition_operands(target.comparator, ctx, True)
    elif isinstance(test, cst.Call) and _is_predicate_call(test, ctx):
        if isinstance(test.func, cst.Attribute) and ctx.qualname(test.func) is None:
            yield from _condition_operands(test.func.value, ctx, True)
        for arg in test.args:
            yield from _condition_operands(arg.value, ctx, True)
    else:
        yield test, compared


def _is_predicate_call(node: cst.Call, ctx: Context) -> bool:
    callee = ctx.qualname(node.func)
    if callee is not None:
        return callee in {
            "bool",
            "any",
            "all",
            "abs",
            "torch.any",
            "torch.all",
            "torch.isclose",
            "torch.allclose",
            "torch.equal",
            "torch.abs",
            "torch.count_nonzero",
            "float",
            "int",
        }
    return isinstance(node.func, cst.Attribute) and node.func.attr.value in {
        "any",
        "all",
        "item",
        "abs",
        "bool",
        "count_nonzero",
        "isclose",
        "allclose",
        "equal",
        "sum",
        "tolist",
    }
