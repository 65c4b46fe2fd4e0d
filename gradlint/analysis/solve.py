"""The whole-program step: solve every file's symbolic grades and uses, then turn candidates into findings.

Grades: parameters, attributes and module globals are variables; each file contributes lower bounds
(equations and call sites). A call's result is its callee's return summary evaluated with the grades of the
arguments at that call site, so a helper that returns its argument is as differentiable as what it was given.
The lattice has four levels, so iterating to a fixed point takes a few rounds.

Uses: a parameter's, return value's or attribute's use is the strongest use of values that carry its mark;
a candidate's use is its own plus that of every mark its value flowed into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from gradlint.analysis.facts import Candidate, ClassFacts, FunctionFacts, ModuleFacts, UseFact
from gradlint.analysis.identity import distinct_modules
from gradlint.analysis.values import (
    BENIGN,
    COMPUTATION,
    ESCAPES,
    HIGH,
    LOW,
    MEDIUM,
    NONE,
    STORED,
    UNUSED,
    USE_LABELS,
    AttrRef,
    AttrUseMark,
    CallRef,
    Clamped,
    GlobalRef,
    MixMark,
    ParamRef,
    ParamUseMark,
    RecordMark,
    RefOrder,
    ReturnUseMark,
    Sym,
    Via,
    clipped,
    grade_of,
)
from gradlint.findings import Confidence, Finding
from gradlint.fixes.base import for_use

MAX_ROUNDS = 12
# Call summaries are evaluated per call site down to this depth; deeper, the context-free result is used.
MAX_CALL_DEPTH = 24
# The most a finding can be trusted given how the cut value is used.
USE_CAP = {UNUSED: LOW, BENIGN: LOW, STORED: MEDIUM, ESCAPES: MEDIUM, COMPUTATION: HIGH}

# A grade and the chain that explains it: steps, like a sym's chain, and in a shared call summary an
# ``_ArgumentOf`` last, holding the place of the argument's own chain.
Grade = Tuple[int, Tuple[Any, ...]]
NO_GRADE: Grade = (NONE, ())


@dataclass
class Program:
    """Every file's facts, indexed for the solve. Name look-ups are memoised: the solve repeats them often."""

    modules: Dict[str, ModuleFacts]
    functions: Dict[str, FunctionFacts]
    classes: Dict[str, ClassFacts]
    attributes: Dict[str, frozenset]
    _resolved: Dict[str, str] = field(default_factory=dict)
    _mro: Dict[str, List[str]] = field(default_factory=dict)
    _methods: Dict[Tuple[str, str], Optional[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, facts: Sequence[ModuleFacts], files: Sequence[Tuple[str, str]] = ()) -> "Program":
        """The program of ``facts``, each file under a module name of its own (``files``: the path and module name
        of every file checked; see ``identity``)."""
        facts = distinct_modules(facts, files)
        modules: Dict[str, ModuleFacts] = {}
        functions: Dict[str, FunctionFacts] = {}
        classes: Dict[str, ClassFacts] = {}
        for module in facts:
            modules[module.module] = module
            functions.update(module.functions)
            classes.update(module.classes)
        attributes: Dict[str, set] = {name: set(info.fields) for name, info in classes.items()}
        for module in facts:
            for ref, _ in module.equations:
                if isinstance(ref, AttrRef):
                    attributes.setdefault(ref.cls, set()).add(ref.name)
        return cls(modules, functions, classes, {name: frozenset(names) for name, names in attributes.items()})

    def resolve(self, qualname: str) -> str:
        """Follow re-exports (``pkg.Crystal`` -> ``pkg.crystal.Crystal``) to where a name is defined."""
        resolved = self._resolved.get(qualname)
        if resolved is None:
            self._resolved[qualname] = qualname  # a cycle of re-exports ends where it started
            resolved = self._resolved[qualname] = self._follow(qualname)
        return resolved

    def _follow(self, qualname: str) -> str:
        for _ in range(8):
            if qualname in self.functions or qualname in self.classes or qualname in self.modules:
                return qualname
            parts = qualname.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                module = self.modules.get(".".join(parts[:cut]))
                if module is None:
                    continue
                if parts[cut] not in module.aliases:  # a name of the longest module it starts with, not found
                    return qualname
                qualname = ".".join([module.aliases[parts[cut]], *parts[cut + 1 :]])
                break
            else:
                return self._without_namespace(qualname)
        return qualname

    def _without_namespace(self, qualname: str) -> str:
        """``pkg.model.forward`` for ``src.pkg.model.forward``: a module imported through a folder that is not a
        package (a namespace, such as a project's ``src`` imported from its root) has a shorter name here."""
        parts = qualname.split(".")
        for start in range(1, len(parts) - 1):
            shorter = ".".join(parts[start:])
            if any(".".join(parts[start:end]) in self.modules for end in range(len(parts), start, -1)):
                return self.resolve(shorter)
        return qualname

    def mro(self, cls: str) -> List[str]:
        order = self._mro.get(cls)
        if order is None:
            order = self._mro[cls] = self._linearise(cls)
        return order

    def _linearise(self, cls: str) -> List[str]:
        order: List[str] = []
        pending = [self.resolve(cls)]
        while pending and len(order) < 32:
            current = pending.pop(0)
            if current in order:
                continue
            order.append(current)
            info = self.classes.get(current)
            if info is not None:
                pending.extend(self.resolve(base) for base in info.bases)
        return order

    def method(self, cls: str, name: str) -> Optional[str]:
        key = (cls, name)
        if key not in self._methods:
            self._methods[key] = next(
                (f"{owner}.{name}" for owner in self.mro(cls) if f"{owner}.{name}" in self.functions), None
            )
        return self._methods[key]

    def callee(self, qualname: str) -> str:
        """Where a call of ``qualname`` goes: through re-exports, and to the method a class or a base defines."""
        target = self.resolve(qualname)
        member = self.split_method(target)
        if target not in self.functions and member is not None:
            return self.method(*member) or target
        return target

    def attribute_class(self, cls: str, name: str) -> Optional[str]:
        """The class of the instance that attribute ``name`` of ``cls`` (or of a base) holds, when known."""
        for owner in self.mro(cls):
            info = self.classes.get(owner)
            held = dict(info.attribute_classes).get(name) if info is not None else None
            if held is not None:
                return self.resolve(held)
        return None

    def split_method(self, qualname: str) -> Optional[Tuple[str, str]]:
        """(class, method) when ``qualname`` names a member of a class of the program."""
        owner, _, name = qualname.rpartition(".")
        owner = self.resolve(owner)
        return (owner, name) if owner in self.classes else None


class Solver:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.solution: Dict[object, Grade] = {}
        self.lower_bounds: Dict[object, List[Sym]] = {}
        self._memo: Dict[object, Grade] = {}
        self._context = _Env({})  # the whole program's: parameters at their solved grades
        self._canonical_refs: Dict[object, object] = {}
        self._dependency_memo: Dict[int, Tuple[Sym, set]] = {}
        self._free_dependencies: Dict[str, set] = {}
        self._clamped: Dict[Clamped, Sym] = {}
        self._active: List[str] = []
        self._ref_order = RefOrder()
        # Each function's result with its parameters at their solved grades: the answer for recursive calls.
        self.returns: Dict[str, Grade] = {}
        for module in program.modules.values():
            for ref, sym in module.equations:
                self.lower_bounds.setdefault(self._canonical(ref), []).append(sym)
            for call in module.calls:
                for ref, sym in self._call_bounds(call.function, call.args, call.kwargs):
                    self.lower_bounds.setdefault(ref, []).append(sym)

    # ---------------------------------------------------------------------------------- variables
    def _canonical(self, ref):
        if isinstance(ref, ParamRef):
            return ParamRef(self.program.resolve(ref.function), ref.index)
        if isinstance(ref, AttrRef):
            return AttrRef(self.program.resolve(ref.cls), ref.name)
        if isinstance(ref, GlobalRef):
            module = self.program.resolve(ref.module)
            if module in self.program.classes:
                return AttrRef(module, ref.name)
            target = self.program.modules.get(module)
            if target is not None and ref.name in target.aliases:
                owner, _, name = self.program.resolve(target.aliases[ref.name]).rpartition(".")
                return GlobalRef(owner, name)
            return GlobalRef(module, ref.name)
        return ref

    def _call_bounds(
        self, function: str, args: Sequence[Sym], kwargs: Sequence[Tuple[str, Sym]]
    ) -> Iterator[Tuple[object, Sym]]:
        """Lower bounds that one call puts on its callee's parameters (or a dataclass's fields)."""
        target = self.program.resolve(function)
        cls = self.program.classes.get(target)
        if cls is not None:
            if cls.is_dataclass:
                for name, sym in zip(cls.fields, args):
                    yield AttrRef(target, name), sym
                for name, sym in kwargs:
                    yield AttrRef(target, name), sym
                return
            init = self.program.method(target, "__init__")
            if init is None:
                return
            target, offset = init, 1
        else:
            target = self.program.callee(target)
            offset = 0
        facts = self.program.functions.get(target)
        if facts is None:
            return
        for index, sym in enumerate(args):
            if index + offset < len(facts.params):
                yield ParamRef(target, index + offset), sym
        for name, sym in kwargs:
            key = facts.params.index(name) if name in facts.params else name
            yield ParamRef(target, key), sym

    def solve(self) -> None:
        """Iterate to the fixed point, re-evaluating in each round only what depends on a change of the last."""
        items: List[object] = [_Returns(function) for function in self.program.functions]
        items += list(self.lower_bounds)
        dependents: Dict[object, List[object]] = {}
        for item in items:
            for dependency in self._item_dependencies(item):
                dependents.setdefault(dependency, []).append(item)
        pending = set(items)
        for _ in range(MAX_ROUNDS):
            self._memo.clear()
            self._context = _Env({})
            changed = [item for item in items if item in pending and self._raise(item)]
            if not changed:
                break
            pending = {dependent for item in changed for dependent in dependents.get(item, ())}
        self._memo.clear()
        self._context = _Env({})

    def _raise(self, item: object) -> bool:
        """Re-evaluate one variable (or one function's context-free result); whether its grade went up."""
        if isinstance(item, _Returns):
            current = self.returns.get(item.function, NO_GRADE)
            if current[0] == HIGH:
                return False
            self._active.append(item.function)
            grade = self.grade(self.program.functions[item.function].returns)
            self._active.pop()
            if grade[0] > current[0]:
                self.returns[item.function] = grade
                return True
            return False
        current = self.solution.get(item, NO_GRADE)
        best = current
        for sym in self.lower_bounds[item]:
            if best[0] == HIGH and best[1]:
                break
            grade = self.grade(sym)
            # At an equal grade, a bound that says where the value came from explains better than one that does not
            # (a parameter's annotation against the argument of a call).
            if grade[0] > best[0] or (grade[0] == best[0] and grade[1] and not best[1]):
                best = grade
        self.solution[item] = best
        return best[0] > current[0]

    def _inner(self, ref: Clamped) -> Sym:
        """The grade a clamp applies to, one object per clamp: grades are memoised by identity, and a clamp is
        shared by every grade joined from it (in a loop, again and again)."""
        inner = self._clamped.get(ref)
        if inner is None:
            inner = self._clamped[ref] = Sym(NONE, ref.refs)
        return inner

    # ---------------------------------------------------------------------------------- dependencies
    def _item_dependencies(self, item: object) -> set:
        if isinstance(item, _Returns):
            return self._sym_dependencies(self.program.functions[item.function].returns)
        found: set = set()
        for sym in self.lower_bounds[item]:
            found |= self._sym_dependencies(sym)
        return found

    def _sym_dependencies(self, sym: Sym) -> set:
        """The variables and function results whose grades ``sym``'s grade is computed from."""
        known = self._dependency_memo.get(id(sym))
        if known is not None and known[0] is sym:
            return known[1]
        found: set = set()
        for ref in sym.refs:
            if isinstance(ref, Clamped):
                found |= self._sym_dependencies(self._inner(ref))
            elif isinstance(ref, Via):
                found |= self._sym_dependencies(ref.sym)
            elif isinstance(ref, CallRef):
                for arg in ref.args:
                    found |= self._sym_dependencies(arg)
                for _, arg in ref.kwargs:
                    found |= self._sym_dependencies(arg)
                found |= self._callee_dependencies(ref.function)
            else:
                found |= self._variable_dependencies(self._canonical(ref))
        self._dependency_memo[id(sym)] = (sym, found)
        return found

    def _variable_dependencies(self, ref: object) -> set:
        if not isinstance(ref, AttrRef):
            return {ref}
        found = {AttrRef(owner, ref.name) for owner in self.program.mro(ref.cls)}
        getter = self.program.method(ref.cls, ref.name)
        if getter is not None:
            found |= self._callee_dependencies(getter)
        return found

    def _callee_dependencies(self, function: str) -> set:
        """What a call's result depends on besides its arguments: the callee's result and all it reads."""
        program = self.program
        target = program.resolve(function)
        member = program.split_method(target)
        if target not in program.functions and member is not None:
            target = program.method(*member) or program.method(member[0], "forward") or target
            if target not in program.functions:
                return {AttrRef(owner, member[1]) for owner in program.mro(member[0])}
        if target not in program.functions:
            return set()
        found = self._free_dependencies.get(target)
        if found is None:
            self._free_dependencies[target] = found = {_Returns(target)}  # a recursive call sees this much
            facts = program.functions[target]
            found |= {
                dependency
                for sym in (facts.returns, facts.decides, *(sym for _, sym in facts.fields))
                for dependency in self._sym_dependencies(sym)
                if not (isinstance(dependency, ParamRef) and dependency.function == target)
            }
        return found

    # ---------------------------------------------------------------------------------- evaluation
    def grade(self, sym: Sym, env: Optional["_Env"] = None) -> Grade:
        env = env or self._context
        known = env.memo.get(id(sym))
        if known is not None and known[0] is sym:
            return known[1]
        best: Grade = (sym.grade, sym.chain)
        for ref in self._ref_order.ordered(sym.refs):
            if best[0] == HIGH:
                break
            grade = self._ref_grade(ref, env)
            if grade[0] > best[0]:
                best = (grade[0], clipped(sym.chain + grade[1]))
        env.memo[id(sym)] = (sym, best)  # the sym stays referenced, so its id is not reused
        return best

    def _ref_grade(self, ref: object, env: "_Env") -> Grade:
        if isinstance(ref, ParamRef):
            key = self._canonical_refs.get(ref)
            if key is None:
                key = self._canonical_refs[ref] = self._canonical(ref)
            bound = env.bindings.get(key)
            return bound if bound is not None else self.solution.get(key, NO_GRADE)
        if isinstance(ref, Clamped):
            grade = self.grade(self._inner(ref), env)
            return (ref.apply(grade[0]), grade[1] if ref.explains else ())
        if isinstance(ref, Via):
            return self.grade(ref.sym, env)
        if isinstance(ref, CallRef):
            return self._call_grade(ref, env)
        canonical = self._canonical_refs.get(ref)
        if canonical is None:
            canonical = self._canonical_refs[ref] = self._canonical(ref)
        if isinstance(canonical, AttrRef):
            return self._attribute_grade(canonical)
        if isinstance(canonical, GlobalRef) and canonical.module not in self.program.modules:
            return (LOW, ())
        return self.solution.get(canonical, NO_GRADE)

    def _attribute_grade(self, ref: AttrRef) -> Grade:
        program = self.program
        if ref.cls not in program.classes:
            return (LOW, ())
        getter = program.method(ref.cls, ref.name)
        if getter is not None and program.functions[getter].is_property:
            return self._summary_grade(getter, (), ())
        best, known = NO_GRADE, False
        for owner in program.mro(ref.cls):
            if ref.name in program.attributes.get(owner, ()):
                known = True
                grade = self.solution.get(AttrRef(owner, ref.name), NO_GRADE)
                if grade[0] > best[0]:
                    best = grade
        return best if known else (LOW, ())

    def _call_grade(self, ref: CallRef, env: "_Env") -> Grade:
        program = self.program
        args = tuple(self.grade(sym, env) for sym in ref.args)
        kwargs = tuple((name, self.grade(sym, env)) for name, sym in ref.kwargs)
        target = program.resolve(ref.function)
        if target in program.classes:
            return NO_GRADE
        if target not in program.functions:
            member = program.split_method(target)
            if member is not None:
                cls, name = member
                method = program.method(cls, name) or (program.method(cls, "forward") if name == "__call__" else None)
                if method is None:
                    held = self._attribute_grade(AttrRef(cls, name))
                    held_cls = program.attribute_class(cls, name)
                    if held_cls is not None and held_cls in program.classes:
                        # ``self.encoder(x)``: a call of the instance the attribute holds.
                        return self._call_grade(
                            CallRef(f"{held_cls}.__call__", ref.args, ref.kwargs, ref.decides, ref.field), env
                        )
                    return _strongest([held, *args[1:], *(g for _, g in kwargs)])
                target = method
            else:
                joined = _strongest([*args, *(g for _, g in kwargs)])
                return (min(joined[0], MEDIUM), joined[1])
        return self._summary_grade(target, args, kwargs, ref.decides, ref.field)

    def _summary_grade(
        self,
        function: str,
        args: Tuple[Grade, ...],
        kwargs: Tuple[Tuple[str, Grade], ...],
        decides: bool = False,
        field: Optional[str] = None,
    ) -> Grade:
        """The grade of ``function``'s result (or, with ``decides``, of what its truth values were decided on; with
        ``field``, of what the dict it returns holds under that key) when its parameters have the given grades
        (others: solved).

        Summaries are shared by the calls whose arguments have the same grades; the chain of each ends with
        the argument of its own call.
        """
        key = (
            function,
            tuple(grade[0] for grade in args),
            tuple((name, grade[0]) for name, grade in kwargs),
            decides,
            field,
        )
        summary = self._memo.get(key)
        if summary is None:
            if function in self._active or len(self._active) >= MAX_CALL_DEPTH:
                return NO_GRADE if decides else self.returns.get(function, NO_GRADE)
            arguments = self._arguments(function, args, kwargs)
            placeholders: Dict[object, Grade] = {
                ref: (grade[0], (_ArgumentOf(ref),)) for ref, grade in arguments.items()
            }
            self._active.append(function)
            try:
                facts = self.program.functions[function]
                summary = self._memo[key] = self.grade(facts.result(decides, field), _Env(placeholders))
            finally:
                self._active.pop()
        level, chain = summary
        if chain and isinstance(chain[-1], _ArgumentOf):
            chain = clipped(chain[:-1] + self._arguments(function, args, kwargs)[chain[-1].param][1])
        return level, chain

    def _arguments(
        self, function: str, args: Tuple[Grade, ...], kwargs: Tuple[Tuple[str, Grade], ...]
    ) -> Dict[ParamRef, Grade]:
        params = self.program.functions[function].params
        arguments = {ParamRef(function, index): grade for index, grade in enumerate(args)}
        for name, grade in kwargs:
            arguments[ParamRef(function, params.index(name) if name in params else name)] = grade
        return arguments


@dataclass(frozen=True)
class _ArgumentOf:
    """In a shared call summary, the place of the chain of the argument bound to ``param`` (always last)."""

    param: ParamRef


@dataclass(frozen=True)
class _Returns:
    """The context-free result grade of a function, a variable of the solve like the references."""

    function: str


class _Env:
    """The grades of one function's parameters at one call, and what was evaluated under them."""

    __slots__ = ("bindings", "memo")

    def __init__(self, bindings: Dict[object, Grade]) -> None:
        self.bindings = bindings
        self.memo: Dict[int, Tuple[Sym, Grade]] = {}


def _strongest(grades: Iterable[Grade]) -> Grade:
    best = NO_GRADE
    for grade in grades:
        if grade[0] > best[0]:
            best = grade
    return best


class UseSolver:
    """How the values carrying each mark are used, across the program."""

    def __init__(self, program: Program, solver: Solver) -> None:
        self.program = program
        self.solver = solver
        self._canonical_marks: Dict[object, object] = {}
        self.facts: Dict[object, UseFact] = {}
        self.called: set = set()
        for module in program.modules.values():
            for mark, fact in module.uses.items():
                merged = self.facts.setdefault(self._canonical(mark), UseFact())
                merged.level = max(merged.level, fact.level)
                merged.via = merged.via | {self._canonical(via) for via in fact.via}
                if fact.combined_with is not None:
                    merged.combined_with = (
                        fact.combined_with
                        if merged.combined_with is None
                        else grade_of((merged.combined_with, fact.combined_with))
                    )
            for call in module.calls:
                self.called.add(self.program.callee(call.function))
        self.levels: Dict[object, int] = {}
        self._solve()

    def _canonical(self, mark):
        canonical = self._canonical_marks.get(mark)
        if canonical is None:
            canonical = self._canonical_marks[mark] = self._canonicalise(mark)
        return canonical

    def _canonicalise(self, mark):
        program = self.program
        if isinstance(mark, ReturnUseMark):
            return ReturnUseMark(self.program.callee(mark.function))
        if isinstance(mark, AttrUseMark):
            return AttrUseMark(program.resolve(mark.cls), mark.name)
        if isinstance(mark, ParamUseMark):
            target = program.resolve(mark.function)
            cls = program.classes.get(target)
            if cls is not None:
                if cls.is_dataclass:
                    name = (
                        mark.index
                        if isinstance(mark.index, str)
                        else (cls.fields[mark.index] if mark.index < len(cls.fields) else None)
                    )
                    return AttrUseMark(target, name) if name is not None else mark
                init = program.method(target, "__init__")
                if init is None:  # a constructor we cannot see keeps its arguments in the instance
                    return ReturnUseMark(target)
                index = mark.index + 1 if isinstance(mark.index, int) else mark.index
                return self._param_mark(init, index)
            function = self.program.callee(target)
            if function not in program.functions:
                # Code we cannot see: what it returns carries its arguments on, so their use is the result's.
                return ReturnUseMark(function)
            return self._param_mark(function, mark.index)
        return mark

    def _param_mark(self, function: str, index: Union[int, str]) -> ParamUseMark:
        facts = self.program.functions.get(function)
        if facts is not None and isinstance(index, str) and index in facts.params:
            index = facts.params.index(index)
        return ParamUseMark(function, index)

    def _default(self, mark: object) -> int:
        """The use of a mark no file said anything about."""
        if isinstance(mark, (ParamUseMark, MixMark, RecordMark)):
            return UNUSED
        if isinstance(mark, ReturnUseMark):
            return UNUSED if mark.function in self.called else self._escape(mark)
        return self._escape(mark)

    def _returns_number(self, function: str) -> bool:
        facts = self.program.functions.get(function)
        return facts is not None and facts.returns_number

    def _escape(self, mark: object) -> int:
        """Leaving for code we cannot see: benign when declared a plain number (``-> float``, ``x: float``)."""
        program = self.program
        if isinstance(mark, ReturnUseMark):
            return BENIGN if self._returns_number(mark.function) else ESCAPES
        if isinstance(mark, AttrUseMark):
            declared = any(
                mark.name in program.classes[owner].number_fields
                for owner in program.mro(mark.cls)
                if owner in program.classes
            )
            if declared:
                return BENIGN
            cls = program.classes.get(mark.cls)
            # A field of a record nobody reads here goes where its instances go (returned, say).
            return max(STORED, self.level(ReturnUseMark(mark.cls))) if cls is not None and cls.is_dataclass else STORED
        return ESCAPES

    def _solve(self) -> None:
        """Raise each mark's level to its uses' levels, revisiting a mark's dependents when it rises."""
        dependents: Dict[object, List[object]] = {}
        for mark, fact in self.facts.items():
            for via in fact.via:
                dependents.setdefault(via, []).append(mark)
        pending = list(self.facts)
        while pending:
            mark = pending.pop()
            fact = self.facts[mark]
            level = max([fact.level, *(self.level(via) for via in fact.via)])
            if isinstance(mark, ReturnUseMark) and mark.function not in self.called:
                level = max(level, self._escape(mark))
            elif isinstance(mark, ReturnUseMark) and level < COMPUTATION and self._returns_number(mark.function):
                level = min(level, BENIGN)  # numbers by contract, handed on or kept: only computing with them counts
            if isinstance(mark, MixMark) and level >= STORED and self._carries_gradient(fact):
                level = COMPUTATION
            elif isinstance(mark, RecordMark):
                level = min(level, STORED)
            if level > self.levels.get(mark, -1):
                self.levels[mark] = level
                pending.extend(dependents.get(mark, ()))

    def level(self, mark: object) -> int:
        if mark in self.levels:
            return self.levels[mark]
        if mark in self.facts:
            return self.facts[mark].level
        return self._default(mark)

    def _carries_gradient(self, fact: UseFact) -> bool:
        """Whether what a combination's marked values were combined with carries a gradient."""
        return fact.combined_with is not None and self.solver.grade(fact.combined_with)[0] > NONE

    def of(self, fact: UseFact) -> int:
        return max([fact.level, *(self.level(self._canonical(via)) for via in fact.via)])

    def handed_on(self, fact: UseFact) -> bool:
        """Whether a cut value was handed as it is to code we cannot see (which keeps it, and may differentiate
        it: a loss function that takes gradients of its inputs)."""
        return any(
            isinstance(mark, ReturnUseMark) and mark.function not in self.program.functions
            for mark in (self._canonical(via) for via in fact.via)
        )


def findings(facts: Sequence[ModuleFacts], files: Sequence[Tuple[str, str]] = ()) -> List[Finding]:
    """Solve the program and return every candidate whose confidence is above none."""
    program = Program.build(facts, files)
    solver = Solver(program)
    solver.solve()
    uses = UseSolver(program, solver)
    result: List[Finding] = []
    for module in program.modules.values():
        for candidate in module.candidates:
            finding = _finding(candidate, solver, uses)
            if finding is not None:
                result.append(finding)
    return result


def _finding(candidate: Candidate, solver: Solver, uses: UseSolver) -> Optional[Finding]:
    grade, chain = solver.grade(candidate.receiver)
    if candidate.gate is not None:
        grade = min(grade, solver.grade(candidate.gate)[0])
    use = uses.of(candidate.use)
    if use < STORED and candidate.stored_cap > LOW and uses.handed_on(candidate.use):
        use = STORED  # a tensor handed to unknown code is kept there; a number there is only a record
    caps = {ESCAPES: candidate.escape_cap, STORED: candidate.stored_cap}
    confidence = min(grade, caps.get(use, USE_CAP[use]))
    if confidence == NONE:
        return None
    return Finding(
        code=candidate.code,
        rule=candidate.rule,
        message=candidate.message,
        location=candidate.location,
        confidence=Confidence(confidence),
        chain=chain,
        fix=candidate.kept_fix if candidate.kept_fix and use in (UNUSED, BENIGN, STORED) else candidate.fix,
        source_line=candidate.source_line,
        use=USE_LABELS[use],
        autofix=for_use(candidate.autofix, candidate.autofix_outside_computation, use == COMPUTATION),
    )
