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

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from gradlint.findings import Step

NONE, LOW, MEDIUM, HIGH = 0, 1, 2, 3

MAX_CHAIN = 8  # items a reasoning chain keeps
_OLDEST_KEPT = 3  # of them, the oldest steps: where the value came from
GAP = Step("…", "", 0)  # in a clipped chain, where steps were left out


def clipped(chain: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """``chain`` in at most ``MAX_CHAIN`` items: its newest steps, a gap, and its oldest ones (the origin)."""
    if len(chain) <= MAX_CHAIN:
        return chain
    newest, oldest = chain[: MAX_CHAIN - 1 - _OLDEST_KEPT], chain[-_OLDEST_KEPT:]
    if newest[-1] == GAP or oldest[0] == GAP:
        return newest + oldest
    return newest + (GAP,) + oldest


# How a value is used, from least to most consequential for a cut that produced it: not at all; only looked at
# (printed, logged, compared); kept (stored on an object or into a container we cannot follow); handed to code
# we cannot see (returned to unknown callers, passed to an unknown callable); computed with.
UNUSED, BENIGN, STORED, ESCAPES, COMPUTATION = 0, 1, 2, 3, 4
USE_LABELS = {UNUSED: "unused", BENIGN: "benign", STORED: "stored", ESCAPES: "escapes", COMPUTATION: "computation"}


@dataclass(frozen=True)
class ParamRef:
    """Grade of parameter ``index`` of function ``function`` (a qualified name): its position, or its name for a
    parameter without one (keyword-only, or an argument by keyword that the callee takes through ``**kwargs``)."""

    function: str
    index: Union[int, str]


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
    decides: bool = False  # the grade of what the result was decided on (see ``Value.decides``), not of the result
    field: Optional[str] = None  # the grade of what the result (a dict) holds under this key


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
    index: Union[int, str]  # as ``ParamRef.index``


@dataclass(frozen=True)
class ReturnUseMark:
    function: str


@dataclass(frozen=True)
class AttrUseMark:
    cls: str
    name: str


@dataclass(frozen=True)
class MixMark:
    """Values computed, at one place of a file, by combining marked values with values that may carry a gradient.

    Whether such a combination matters is decided by what becomes of it: kept, returned or differentiated, the
    marked values it was computed from went into differentiable work (a computation); only printed, compared or
    used as an index, they did not. The marked values' uses go through this mark (``UseFact.via``), and its own
    ``combined_with`` holds the grade of the values they were combined with.
    """

    path: str
    index: int


@dataclass(frozen=True)
class RecordMark:
    """Values filed under a key at one place of a file (``{"loss": loss.item()}``, ``logs["error"] = err``).

    A record is kept: whatever becomes of it (returned, read back, printed), what was filed in it is used at
    most as much as a stored value is. The filed values' uses go through this mark.
    """

    path: str
    index: int


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
    # For a truth value (a comparison, ``torch.any(x > 0)``, a flag, a predicate's result): the grade of the values
    # it was decided on. A branch on it decides, at a boundary of those values, whether differentiable work is done.
    decides: Sym = CONSTANT
    keyed: bool = False  # a dict: what is filed in it under a key is a record
    # An order comparison or an argmax: the grade of what it was computed from. As a number (``(x > 0).float()``,
    # ``x.argmax().float()``) it is a constant, though it changes in steps with those inputs.
    stepped: Sym = CONSTANT
    # A dict: the values filed under constant string keys, each on its own (``config["adc"]`` is what was filed
    # under "adc", not everything the dict holds), and under None the dict they were filed into, which knows the
    # other keys (one a function returned). None when they are not known.
    fields: Optional[Tuple[Tuple[Optional[str], "Value"], ...]] = None

    @property
    def grade(self) -> int:
        return self.sym.grade

    def is_constant(self) -> bool:
        return self.sym.is_constant()

    def with_sym(self, sym: Sym) -> Value:
        return self._changed(sym, self.marks)

    def with_marks(self, marks: frozenset) -> Value:
        return self._changed(self.sym, marks)

    def _changed(self, sym: Sym, marks: frozenset) -> Value:
        """A copy with ``sym`` and ``marks`` (the constructor directly: ``dataclasses.replace`` is slower)."""
        return Value(
            sym,
            marks,
            self.cls,
            self.items,
            self.module_instance,
            self.derived,
            self.integer,
            self.decides,
            self.keyed,
            self.stepped,
            self.fields,
        )

    def with_keys(self) -> Value:
        """The same values filed in a dict."""
        return dataclasses.replace(self, keyed=True)

    def deciding(self, sym: Sym) -> Value:
        return dataclasses.replace(self, decides=grade_of((self.decides, sym)))

    def field(self, key: str) -> Optional[Value]:
        """What was filed under ``key``, when this is a dict whose entries are known; else None."""
        if self.fields is not None:
            entries = dict(self.fields)
            if key in entries:
                return entries[key]
            rest = entries.get(None)
            return rest.field(key) if rest is not None else None
        filed = _filed_under(self.sym, key)  # a dict a function returned: what the function filed under the key
        return Value(filed, self.marks, derived=True) if filed is not None else None

    def filed(self, key: Optional[str], value: Value) -> Value:
        """This dict after ``value`` is filed under ``key`` (None: a key not known here, which may replace any)."""
        joined = collected([self, value]).with_keys()
        if key is None:
            return joined
        entries = self.fields if self.fields is not None else ((None, self),)
        fields = tuple((name, old) for name, old in entries if name != key) + ((key, value),)
        return Value(joined.sym, joined.marks, derived=joined.derived, keyed=True, fields=fields)


def _filed_under(sym: Sym, key: str) -> Optional[Sym]:
    """The grade of what the dict whose grade is ``sym`` holds under ``key``, when the dict is what calls returned."""
    if not sym.refs:
        return None
    refs: list[CallRef | Via] = []
    for ref in sym.refs:
        if isinstance(ref, CallRef) and not ref.decides and ref.field is None:
            refs.append(CallRef(ref.function, ref.args, ref.kwargs, field=key))
        elif isinstance(ref, Via):
            inner = _filed_under(ref.sym, key)
            if inner is None:
                return None
            refs.append(Via(inner))
        else:
            return None
    return Sym(sym.grade, frozenset(refs), sym.chain)


def merged_fields(first: Value, second: Value) -> Optional[Tuple[Tuple[Optional[str], Value], ...]]:
    """The entries of a dict that is ``first`` on one path and ``second`` on the other: under each key what either
    filed there, and under None the dicts they were filed into."""
    if first.fields is None and second.fields is None:
        return None
    keys: Dict[str, None] = {}
    rests = []
    for value in (first, second):
        entries = dict(value.fields) if value.fields is not None else {None: value}
        keys.update(dict.fromkeys(key for key in entries if key is not None))
        if None in entries:
            rests.append(entries[None])
    merged: List[Tuple[Optional[str], Value]] = []
    for key in keys:
        filed = [value for value in (first.field(key), second.field(key)) if value is not None]
        merged.append((key, join(filed) if len(filed) > 1 else filed[0]))
    if rests:
        merged.append((None, join(rests) if len(rests) > 1 else rests[0]))
    return tuple(merged)


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
    """``refs`` with every ``Via`` replaced by the references it holds: what a grade depends on.

    Joins in loops share their parts: each ``Via`` is opened once, however many paths lead to it.
    """
    if not any(isinstance(ref, Via) for ref in refs):
        return refs
    found: set = set()
    opened: set = set()
    pending = [refs]
    while pending:
        for ref in pending.pop():
            if not isinstance(ref, Via):
                found.add(ref)
            elif id(ref) not in opened:
                opened.add(id(ref))
                pending.append(ref.sym.refs)
    return frozenset(found)


def grade_of(syms: Iterable[Sym]) -> Sym:
    """What ``syms`` together depend on, without chains: a condition whose grade alone matters. Unlike
    :func:`strongest`, joining it again and again (in a loop) never nests it."""
    grade = NONE
    refs: set[object] = set()
    for sym in syms:
        grade = max(grade, sym.grade)
        refs.update(plain_refs(sym.refs))
    return Sym(grade, frozenset(refs))


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
    return Value(
        joined.sym,
        joined.marks,
        derived=any(value.derived for value in values),
        module_instance=bool(values) and all(value.module_instance for value in values),
    )


@dataclass(frozen=True)
class Clamped:
    """The grade of ``refs``, when at least ``least``, held between ``floor`` and ``ceiling``; below, none.

    A ceiling bounds what we cannot see (a call into unknown code is at most medium); a floor says what we know
    of a value whose provenance is unknown (a tensor a function received may be a caller's tensor that requires
    grad, so it is at least medium once it is anything at all); ``least`` keeps what is only unknown from
    counting (a field of a configuration class carries parameters when another one holds a tensor, not when it
    holds something unknown).
    """

    refs: frozenset
    ceiling: int = HIGH
    floor: int = LOW
    least: int = LOW
    explains: bool = True  # False: the grade's chain stops here (the references are a reason, not an origin)

    def apply(self, grade: int) -> int:
        return NONE if grade < self.least else min(max(grade, self.floor), self.ceiling)


class RefOrder:
    """References in an order fixed by what they say, not by their hashes.

    A symbolic grade keeps its references in a frozenset, whose iteration order changes with the hash seed and
    with how the set was built (or unpickled). The solve takes the first of equally strong references, and with
    it that reference's chain, so it walks them in this order: the same program gives the same reasoning chains
    in every run. Keys are memoised by identity (syms are shared, and a key of a call holds its arguments').
    """

    def __init__(self) -> None:
        self._keys: Dict[int, Tuple[object, tuple]] = {}
        self._orders: Dict[int, Tuple[frozenset, tuple]] = {}

    def ordered(self, refs: frozenset) -> tuple:
        if len(refs) < 2:
            return tuple(refs)
        known = self._orders.get(id(refs))
        if known is not None and known[0] is refs:
            return known[1]
        order = tuple(sorted(refs, key=self.key))
        self._orders[id(refs)] = (refs, order)  # the set stays referenced, so its id is not reused
        return order

    def key(self, item: object) -> tuple:
        if item is None or isinstance(item, (str, int)):
            return (type(item).__name__, item)
        known = self._keys.get(id(item))
        if known is not None and known[0] is item:
            return known[1]
        key = self._key(item)
        self._keys[id(item)] = (item, key)
        return key

    def _key(self, item: object) -> tuple:
        """The item's type name and its fields' keys, recursively: references are plain frozen dataclasses of
        names, numbers, syms, steps, tuples and frozensets (sorted here)."""
        if isinstance(item, frozenset):
            return ("frozenset", tuple(sorted(self.key(element) for element in item)))
        if isinstance(item, tuple):
            return ("tuple", tuple(self.key(element) for element in item))
        if dataclasses.is_dataclass(item):
            fields = dataclasses.fields(item)
            return (type(item).__name__, tuple(self.key(getattr(item, field.name)) for field in fields))
        raise TypeError(f"no order for a reference holding {type(item).__name__}")


def cap(sym: Sym, grade: int) -> Sym:
    """A symbolic grade limited to ``grade`` (references are kept; the solver applies the cap)."""
    if sym.grade <= grade and not sym.refs:
        return sym
    refs = frozenset({Clamped(sym.refs, ceiling=grade)}) if sym.refs else frozenset()
    return Sym(min(sym.grade, grade), refs, sym.chain)


def tensor_like(sym: Sym) -> Sym:
    """The grade of a value known to be a tensor: an unknown one (low) may require grad, so it counts as medium."""
    refs = frozenset({Clamped(sym.refs, floor=MEDIUM)}) if sym.refs else frozenset()
    return Sym(Clamped(frozenset(), floor=MEDIUM).apply(sym.grade), refs, sym.chain)
