"""The abstract values of the differentiable-path analysis.

A value's *grade* says how likely it is to be a tensor that carries a gradient:
``NONE`` (a constant, a shape, a Python number from a non-tensor), ``LOW`` (unknown: an unannotated parameter),
``MEDIUM`` (a tensor-annotated parameter or field, or a computation on one) and ``HIGH`` (``requires_grad=True``,
``nn.Parameter``, a module with parameters, or a computation on one).

Grades that depend on other functions, classes or modules are symbolic: a value keeps the references it depends
on and the whole program's references are solved at the end (``gradlint.analysis.solve``), after every file was
analysed on its own. That is what lets per-file results be cached and computed in parallel.

A value also keeps *marks*: the places that want to know how it is used later (a candidate finding whose severed
value this is, a parameter whose uses are summarised, a call whose result uses are summarised, an attribute).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence, Tuple

from gradlint.findings import Step

NONE, LOW, MEDIUM, HIGH = 0, 1, 2, 3

MAX_CHAIN = 8               # items a reasoning chain keeps
_OLDEST_KEPT = 3            # of them, the oldest steps: where the value came from
GAP = Step("…", "", 0)      # in a clipped chain, where steps were left out


def clipped(chain: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """``chain`` in at most ``MAX_CHAIN`` items: its newest steps, a gap, and its oldest ones (the origin)."""
    if len(chain) <= MAX_CHAIN:
        return chain
    newest, oldest = chain[:MAX_CHAIN - 1 - _OLDEST_KEPT], chain[-_OLDEST_KEPT:]
    if newest[-1] == GAP or oldest[0] == GAP:
        return newest + oldest
    return newest + (GAP,) + oldest

# How a value is used, from least to most consequential for a cut that produced it.
UNUSED, BENIGN, ESCAPES, COMPUTATION = 0, 1, 2, 3
USE_LABELS = {UNUSED: "unused", BENIGN: "benign", ESCAPES: "escapes", COMPUTATION: "computation"}


@dataclass(frozen=True)
class ParamRef:
    """Grade of positional parameter ``index`` of function ``function`` (a qualified name)."""

    function: str
    index: int


@dataclass(frozen=True)
class AttrRef:
    """Grade of attribute ``name`` of instances of class ``cls`` (a qualified name)."""

    cls: str
    name: str


@dataclass(frozen=True)
class GlobalRef:
    """Grade of module-level variable ``name`` of ``module``."""

    module: str
    name: str


@dataclass(frozen=True)
class CallRef:
    """Grade of the result of calling ``function`` (a qualified name) with arguments of the given grades."""

    function: str
    args: Tuple["Sym", ...]
    kwargs: Tuple[Tuple[str, "Sym"], ...] = ()




@dataclass(frozen=True)
class Via:
    """The grade of one operand of a join (``sym``, symbolic only), kept with its own chain."""

    sym: "Sym"


@dataclass(frozen=True)
class Sym:
    """A symbolic grade: at least ``grade``, and at least the grade of every reference.

    ``chain`` explains the concrete part: the bindings the value went through, most recent first. Its items are
    libcst nodes while a file is analysed and :class:`gradlint.findings.Step` once the file is finished.
    """

    grade: int = NONE
    refs: frozenset = frozenset()
    chain: Tuple[Any, ...] = ()

    def is_constant(self) -> bool:
        return self.grade == NONE and not self.refs


CONSTANT = Sym()


# Marks: who wants to know how a value is used.
@dataclass(frozen=True)
class CandidateMark:
    index: int  # into the file's candidate list


@dataclass(frozen=True)
class ParamUseMark:
    function: str
    index: int


@dataclass(frozen=True)
class ReturnUseMark:
    function: str


@dataclass(frozen=True)
class AttrUseMark:
    cls: str
    name: str




@dataclass(frozen=True)
class Value:
    """What the interpreter knows about one expression's value."""

    sym: Sym = CONSTANT
    marks: frozenset = frozenset()
    cls: Optional[str] = None  # qualified class name when the value is an instance of a known class
    items: Optional[Tuple["Value", ...]] = None  # element values of a tuple or list display
    module_instance: bool = False  # an instance of a ``torch.nn`` module (calling it is a computation)
    derived: bool = False  # computed from other tensors here, as opposed to a leaf, parameter or attribute
    integer: bool = False  # an integer (a count, size or index): passed to torch, it is a shape, not a value
    # An order comparison or an argmax: the grade of what it was computed from. As a number (``(x > 0).float()``,
    # ``x.argmax().float()``) it is a constant, though it changes in steps with those inputs.
    stepped: Sym = CONSTANT

    @property
    def grade(self) -> int:
        return self.sym.grade

    def is_constant(self) -> bool:
        return self.sym.is_constant()

    def with_sym(self, sym: Sym) -> Value:
        return Value(sym, self.marks, self.cls, self.items, self.module_instance, self.derived, self.integer,
                     self.stepped)


CONSTANT_VALUE = Value()


def strongest(syms: Iterable[Sym]) -> Sym:
    """Join symbolic grades: the highest grade with its chain, and the union of references.

    When nothing here is differentiable yet (every grade is symbolic), the solve decides which operand is the
    strongest; each operand's references then keep its own chain (``Via``), so that the explanation follows the
    operand the grade comes from.
    """
    best: Optional[Sym] = None
    refs: set = set()
    operands = []
    for sym in syms:
        refs.update(sym.refs)
        if sym.refs:
            operands.append(sym)
        if best is None or sym.grade > best.grade or (sym.grade == best.grade and not best.chain and sym.chain):
            best = sym
    if best is None:
        return CONSTANT
    if best.grade == NONE and len(operands) > 1 and any(sym.chain != best.chain for sym in operands):
        kept: set = set()
        for sym in operands:
            if sym.chain:
                kept.add(Via(sym))
            else:
                kept.update(sym.refs)
        return Sym(NONE, frozenset(kept))
    return Sym(best.grade, frozenset(refs), best.chain)


def plain_refs(refs: frozenset) -> frozenset:
    """``refs`` with every ``Via`` replaced by the references it holds: what a grade depends on."""
    if not any(isinstance(ref, Via) for ref in refs):
        return refs
    return frozenset(inner for ref in refs for inner in (plain_refs(ref.sym.refs) if isinstance(ref, Via) else (ref,)))


def join(values: Iterable[Value]) -> Value:
    """The value of a computation on ``values``: strongest grade, all marks, no known class."""
    values = list(values)
    if not values:
        return CONSTANT_VALUE
    if len(values) == 1:
        only = values[0]
        return Value(only.sym, only.marks, derived=True)
    marks: frozenset = frozenset().union(*(value.marks for value in values))
    return Value(strongest(value.sym for value in values), marks, derived=True)


def collected(values: Sequence[Value]) -> Value:
    """A container of ``values``, or a copy of one: their grades and marks, but no computation on them.

    It is derived only if one of them is, and a module only if all of them are (a ``ModuleList`` of layers).
    """
    joined = join(values)
    return Value(joined.sym, joined.marks, derived=any(value.derived for value in values),
                 module_instance=bool(values) and all(value.module_instance for value in values))


@dataclass(frozen=True)
class Capped:
    """The grade of ``refs`` but never more than ``limit`` (a call into code we cannot see)."""

    refs: frozenset
    limit: int


def cap(sym: Sym, grade: int) -> Sym:
    """A symbolic grade limited to ``grade`` (references are kept; the solver applies the cap)."""
    if sym.grade <= grade and not sym.refs:
        return sym
    return Sym(min(sym.grade, grade), frozenset({Capped(sym.refs, grade)}) if sym.refs else frozenset(), sym.chain)
