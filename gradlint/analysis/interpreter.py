"""One pass over a file: an abstract interpreter that knows which values carry gradients, and calls the rules.

Each function is interpreted once (loops twice, so that loop-carried values settle), statement by statement,
with an environment from names to :class:`~gradlint.analysis.values.Value`. Branches are interpreted on copies
of the environment and joined. Rules are called on the nodes they hook, after the node's children were
evaluated, through a :class:`~gradlint.analysis.context.Context` that answers what they need to know. What
calls do lives in :mod:`gradlint.analysis.calls`, what the file declares in
:mod:`gradlint.analysis.declarations`.

The result is a :class:`~gradlint.analysis.facts.ModuleFacts`: the candidates the rules reported and the facts
the whole-program solve needs to decide their confidence.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from gradlint.analysis import torch_api as api
from gradlint.analysis.calls import CallSemantics, is_false, is_true
from gradlint.analysis.context import Context
from gradlint.analysis.declarations import Block, Declarations, FunctionInfo, small_statements, target_names
from gradlint.analysis.docstrings import documented_tensors
from gradlint.analysis.facts import CallFact, ClassFacts, FunctionFacts, ModuleFacts, UseFact
from gradlint.analysis.imports import dotted, top_level
from gradlint.analysis.liveness import Reads
from gradlint.analysis.narrowing import NOT_TENSOR, TENSOR, Narrowing, narrowings
from gradlint.analysis.nodes import children, constant_key
from gradlint.analysis.values import (
    BENIGN,
    CONSTANT,
    CONSTANT_VALUE,
    ESCAPES,
    HIGH,
    LOW,
    MEDIUM,
    NONE,
    STORED,
    AttrRef,
    AttrUseMark,
    CallRef,
    CandidateMark,
    Clamped,
    GlobalRef,
    MixMark,
    ParamRef,
    ParamUseMark,
    RecordMark,
    ReturnUseMark,
    Sym,
    Value,
    cap,
    clipped,
    grade_of,
    join,
    merged_fields,
    plain_refs,
    strongest,
    tensor_like,
)

if TYPE_CHECKING:
    from gradlint.fixes.base import Offer
    from gradlint.rules.base import Rule

# Return annotations that promise a value with no gradient.
_PLAIN_RETURNS = frozenset({"bool", "int", "str", "bytes", "None"})
# Annotations of plain Python values: a cut value that goes there is kept as a number, not computed with.
_NUMBER_ANNOTATIONS = frozenset(
    {"float", "int", "bool", "str", "bytes", "None", "Optional", "Union", "typing.Optional", "typing.Union"}
)
_ORDER_COMPARISONS = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)


class _MutableCandidate:
    __slots__ = ("rule", "node", "subject", "message", "fix", "receiver", "use", "gate")

    def __init__(
        self,
        rule: Rule,
        node: cst.CSTNode,
        subject: Optional[cst.CSTNode],
        message: str,
        fix: str,
        receiver: Sym,
        use: UseFact,
        gate: Optional[Sym],
    ) -> None:
        self.rule = rule
        self.node = node
        self.subject = subject
        self.message = message
        self.fix = fix
        self.receiver = receiver
        self.use = use
        self.gate = gate


class WorkLimitExceeded(Exception):
    """The file needs more interpreting than it was given (``FileAnalyzer.steps_left``)."""


class FileAnalyzer:
    """Interprets one parsed file and collects its facts."""

    steps_left: float = math.inf  # statements it may still interpret (the engine bounds the work per file)

    def __init__(self, tree: cst.Module, *, path: str, module: str, is_package: bool, rules: Sequence) -> None:
        self.tree = tree
        self.path = path
        self.module = module
        self.declared = Declarations(tree, module, is_package)
        self.rules = rules
        self.call_rules = [rule for rule in rules if hasattr(rule, "on_call")]
        self.attribute_rules = [rule for rule in rules if hasattr(rule, "on_attribute")]
        self.store_rules = [rule for rule in rules if hasattr(rule, "on_store")]
        self.branch_rules = [rule for rule in rules if hasattr(rule, "on_branch")]
        self.region_rules = [rule for rule in rules if hasattr(rule, "on_grad_disabled")]
        self.function_rules = [rule for rule in rules if hasattr(rule, "on_function")]
        self.facts = ModuleFacts(path=path, module=module)
        self.candidates: List[_MutableCandidate] = []
        self._candidate_index: Dict[Tuple[str, cst.CSTNode], int] = {}
        self.offers: Dict[int, Optional[Offer]] = {}  # candidate index -> the fix offered, or None
        self.equations: Dict[Tuple[object, Sym], None] = {}
        self.calls: Dict[CallFact, None] = {}
        self.final_envs: Dict[str, Dict[str, Value]] = {}
        self.node_marks: Dict[Tuple[type, Optional[cst.CSTNode]], object] = {}

    def run(self) -> ModuleFacts:
        declared = self.declared
        self.facts.aliases = dict(declared.imports.aliases)
        for qualname, info in declared.classes.items():
            self.facts.classes[qualname] = ClassFacts(bases=info.bases, is_dataclass=info.is_dataclass)
        module_info = FunctionInfo(node=None, qualname=f"{self.module}.<module>", cls=None, parent=None)
        module_interpreter = FunctionInterpreter(self, module_info, at_module=True)
        module_interpreter.reads = Reads(self.tree.body, self.declared.callee_name_static)
        module_interpreter.run_block(self.tree.body)
        self.module_env = module_interpreter.env
        for function in declared.functions:
            FunctionInterpreter(self, function).run_function()
        for qualname, class_info in declared.classes.items():
            self.facts.classes[qualname].attribute_classes = tuple(sorted(class_info.attribute_classes.items()))
        return self.facts

    # ----------------------------------------------------------------------------------------- candidates
    def add_candidate(
        self,
        rule: Rule,
        node: cst.CSTNode,
        subject: Optional[cst.CSTNode],
        message: str,
        fix: str,
        receiver: Sym,
        use: Optional[int],
        gate: Optional[Sym],
    ) -> CandidateMark:
        key = (rule.code, node)
        index = self._candidate_index.get(key)
        if index is None:
            index = len(self.candidates)
            self._candidate_index[key] = index
            fact = UseFact(level=use if use is not None else 0)
            self.candidates.append(_MutableCandidate(rule, node, subject, message, fix, receiver, fact, gate))
        else:
            candidate = self.candidates[index]
            candidate.receiver = strongest((candidate.receiver, receiver))
            if gate is not None:
                candidate.gate = gate if candidate.gate is None else strongest((candidate.gate, gate))
        return CandidateMark(index)

    def use_fact(self, mark: object) -> UseFact:
        if isinstance(mark, CandidateMark):
            return self.candidates[mark.index].use
        fact = self.facts.uses.get(mark)
        if fact is None:
            fact = self.facts.uses[mark] = UseFact()
        return fact

    def node_mark(self, kind: type, node: Optional[cst.CSTNode]) -> object:
        """The mark of kind ``kind`` (a :class:`MixMark` or :class:`RecordMark`) of the values made at ``node``: one
        per node, however often a loop runs it."""
        mark = self.node_marks.get((kind, node))
        if mark is None:
            mark = self.node_marks[(kind, node)] = kind(self.path, len(self.node_marks))
        return mark

    def precut(self, value: Value) -> Sym:
        cut = [
            self.candidates[index].receiver
            for index in sorted(mark.index for mark in value.marks if isinstance(mark, CandidateMark))
        ]
        return strongest([value.sym, *cut]) if cut else value.sym

    def equation(self, ref: object, sym: Sym) -> None:
        if not sym.is_constant():
            self.equations[(ref, sym)] = None

    def call_fact(self, function: str, args: Sequence[Value], kwargs: Dict[str, Value]) -> CallRef:
        arg_syms = tuple(value.sym for value in args)
        kwarg_syms = tuple((name, value.sym) for name, value in kwargs.items())
        self.calls[CallFact(function, arg_syms, kwarg_syms)] = None
        return CallRef(function, arg_syms, kwarg_syms)


class FunctionInterpreter(CallSemantics):
    """Interprets one function body (or the module's top level) over abstract values."""

    def __init__(self, analyzer: FileAnalyzer, info: FunctionInfo, at_module: bool = False) -> None:
        self.analyzer = analyzer
        self.info = info
        self.at_module = at_module
        self.env: Dict[str, Value] = {}
        self.values: Dict[cst.CSTNode, Value] = {}
        self.ctx = Context(self)
        self.grad_enabled = True
        self.region: Optional[CandidateMark] = None  # the no-grad region whose bindings are being cut
        self.region_is_function = False  # the region is the whole function (a decorator): only what leaves is cut
        # In a branch whose condition shows the cuts in it are meant: taken for debugging, tracing or verbose
        # output (what is computed there is a report), or on a switch for the cut itself (``if self.detach:``).
        self.cuts_meant = False
        self.returns: List[Sym] = []
        self.returned_integers: List[bool] = []
        self.returned_fields: List[Optional[Tuple[Tuple[Optional[str], Value], ...]]] = []
        self.decisions: List[Sym] = []  # what the returned truth values were decided on
        # The differentiable work done so far: (the name bound, or None for a store or a return; its grade).
        self.effects: List[Tuple[Optional[str], Sym]] = []
        # What the body reads, in order (which bound names are read later), and which names it uses as tensors.
        self.reads: Optional[Reads] = None
        self.statement: Optional[cst.BaseSmallStatement] = None  # the simple statement being run

    # ------------------------------------------------------------------------------------------ functions
    def run_function(self) -> None:
        info = self.info
        node = info.node
        assert node is not None  # a declared function has its definition (only the module's top level has none)
        positional = list(node.params.posonly_params) + list(node.params.params)
        self.reads = Reads(node.body.body, self.analyzer.declared.callee_name_static)
        names = []
        for index, param in enumerate(positional):
            names.append(param.name.value)
            self.env[param.name.value] = self._param_value(param, index)
        for param in node.params.kwonly_params:
            self.env[param.name.value] = self._param_value(param, None)
        for star in (node.params.star_arg, node.params.star_kwarg):
            if isinstance(star, cst.Param):
                self.env[star.name.value] = Value(Sym(LOW, chain=(star,)))
        for decorator in node.decorators:
            if self._disables_grad(decorator.decorator):
                self.open_region(decorator.decorator, decorator=True)
        if self._defines_gradient():
            self.grad_enabled = False
        self.run_block(node.body.body)
        annotation = node.returns.annotation if node.returns is not None else None
        plain = isinstance(annotation, cst.Name) and annotation.value in _PLAIN_RETURNS
        returns = CONSTANT if plain else strongest(self.returns)
        cls_info = self.analyzer.declared.classes.get(info.cls or "")
        is_property = cls_info is not None and node.name.value in cls_info.properties
        self.analyzer.facts.functions[info.qualname] = FunctionFacts(
            tuple(names),
            returns,
            is_property,
            returns_number=self._is_number_annotation(annotation)
            or (bool(self.returned_integers) and all(self.returned_integers)),
            decides=strongest(self.decisions),
            fields=() if plain else _returned_fields(self.returned_fields),
        )
        for rule in self.analyzer.function_rules:
            rule.on_function(node, returns, self.ctx)
        self.analyzer.final_envs[info.qualname] = self.env

    def open_region(self, node: cst.BaseExpression, decorator: bool = False) -> None:
        """Grad mode is off from here: differentiable values bound or returned from now on are cut."""
        self.grad_enabled = False
        self.region_is_function = decorator
        for rule in self.analyzer.region_rules:
            mark = rule.on_grad_disabled(node, self.ctx, decorator=decorator)
            if mark is not None:
                self.region = mark

    def _defines_gradient(self) -> bool:
        """A method of a ``torch.autograd.Function``: PyTorch runs its ``forward`` and ``backward`` without grad,
        and the gradient is what its ``backward`` says."""
        cls_info = self.analyzer.declared.classes.get(self.info.cls or "")
        return cls_info is not None and any(base in api.CUSTOM_FUNCTION_BASES for base in cls_info.bases)

    @functools.cached_property
    def docstring_tensors(self) -> FrozenSet[str]:
        """The parameters the function's docstring documents as tensors (read only when one's type is unknown)."""
        node = self.info.node
        return documented_tensors(node.get_docstring() or "", _parameter_names(node.params)) if node else frozenset()

    def _param_value(self, param: cst.Param, index: Optional[int]) -> Value:
        info = self.info
        if index == 0 and info.is_method and "classmethod" not in info.decorators:
            return Value(cls=info.cls)
        annotation = param.annotation.annotation if param.annotation else None
        grade, cls = self._annotation(annotation)
        module_instance = cls is None and annotation is not None and self._is_module_type(annotation)
        if module_instance:
            grade = HIGH
        if param.annotation is None or (cls is not None and cls not in self.analyzer.declared.classes):
            # Unknown (no annotation, or a class this file does not define, which may well alias a tensor type),
            # unless the body uses it as only a tensor can be used, or the docstring says it is a tensor.
            name = param.name.value
            grade = (
                MEDIUM
                if (self.reads is not None and name in self.reads.tensors or name in self.docstring_tensors)
                else LOW
            )
        default = self.eval(param.default) if param.default is not None else CONSTANT_VALUE
        key = index if index is not None else param.name.value
        ref = ParamRef(info.qualname, key)
        own = Sym(grade) if grade else CONSTANT  # the parameter's value below shows the step to ``param``
        self.analyzer.equation(ref, strongest((own, default.sym)))
        marks = frozenset({ParamUseMark(info.qualname, key)})
        return Value(Sym(NONE, frozenset({ref}), (param,)), marks, cls=cls, module_instance=module_instance)

    def _is_module_type(self, annotation: cst.BaseExpression) -> bool:
        name = self.analyzer.declared.callee_name_static(annotation)
        return bool(
            name
            and name.startswith("torch.nn.")
            and name.rpartition(".")[2][:1].isupper()
            and name not in api.PARAMETER_CLASSES
        )

    def _is_number_annotation(self, node: Optional[cst.BaseExpression]) -> bool:
        """``float``, ``Optional[int]``, ``bool | None``...: a slot declared to hold a plain Python value."""
        if node is None:
            return False
        names = [
            self.analyzer.declared.callee_name_static(name)
            for name in _annotation_names(node, self.analyzer.declared.type_aliases)
        ]
        return bool(names) and all(name in _NUMBER_ANNOTATIONS for name in names)

    def _annotation(self, node: Optional[cst.BaseExpression]) -> Tuple[int, Optional[str]]:
        """(grade, class) an annotation promises: MEDIUM for anything mentioning a tensor type."""
        if node is None:
            return NONE, None
        if isinstance(node, cst.SimpleString):
            written = _written_annotation(node.evaluated_value if isinstance(node.evaluated_value, str) else "")
            if written is None:
                return NONE, None
            node = written
        names = list(_annotation_names(node, self.analyzer.declared.type_aliases))
        qualnames = [self.analyzer.declared.callee_name_static(name) for name in names]
        if any(q in api.TENSOR_TYPES or (q and q.rpartition(".")[2] in api.TENSOR_TYPE_NAMES) for q in qualnames):
            return MEDIUM, None
        classes = [q for q in qualnames if q and q not in _TYPING_NAMES and top_level(q) not in api.LIBRARY_ROOTS]
        return NONE, (classes[0] if len(classes) == 1 else None)

    # ------------------------------------------------------------------------------------------ blocks
    def run_block(self, body: Block) -> None:
        for statement in body:
            self.run_statement(statement)

    def run_statement(self, statement: Union[cst.BaseStatement, cst.BaseSmallStatement]) -> None:
        analyzer = self.analyzer
        analyzer.steps_left -= 1
        if analyzer.steps_left < 0:
            raise WorkLimitExceeded()
        if isinstance(statement, (cst.SimpleStatementLine, cst.BaseSmallStatement)):
            for small in small_statements(statement):
                self.run_small(small)
        elif isinstance(statement, cst.If):
            self.run_if(statement)
        elif isinstance(statement, (cst.For, cst.While)):
            self.run_loop(statement)
        elif isinstance(statement, cst.With):
            self.run_with(statement)
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            self.run_try(statement)
        elif isinstance(statement, cst.ClassDef):
            if self.at_module or self.info.cls is None:
                self.run_class_body(statement)
        elif isinstance(statement, cst.FunctionDef):
            for decorator in statement.decorators:
                self.eval(decorator.decorator)
        elif isinstance(statement, cst.Match):
            self.run_match(statement)

    def run_small(self, small: cst.BaseSmallStatement) -> None:
        self.statement = small
        if isinstance(small, cst.Assign):
            value = self.eval(small.value)
            for target in small.targets:
                self.bind(target.target, value, small.value)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.bind(small.target, self.eval(small.value), small.value)
        elif isinstance(small, cst.AugAssign):
            current = self.eval(small.target)
            value = self.combine([current, self.eval(small.value)], at=small)
            self.bind(small.target, value, small)
        elif isinstance(small, cst.Expr):
            self.eval(small.value)
        elif isinstance(small, cst.Return):
            if small.value is not None:
                self.return_value(self.eval(small.value), small.value)
        elif isinstance(small, cst.Assert):
            self.use(self.eval(small.test), BENIGN)
            if small.msg is not None:
                self.use(self.eval(small.msg), BENIGN)
            self.narrow(narrowings(small.test, self.callee_name)[0])
        elif isinstance(small, cst.Raise):
            if small.exc is not None:
                self.use(self.eval(small.exc), BENIGN)
        elif isinstance(small, cst.Del):
            return

    def return_value(self, value: Value, source: cst.CSTNode) -> None:
        value = self._cut_in_region(self._step(value, source), source, leaving=True)
        self.returns.append(value.sym)
        self.returned_integers.append(value.integer)
        self.returned_fields.append(value.fields)
        self.decisions.append(value.decides)
        self.effects.append((None, value.sym))
        self.flow(value, ReturnUseMark(self.info.qualname))

    def run_if(self, node: cst.If) -> None:
        self.use(self.eval(node.test), BENIGN)
        when_true, when_false = narrowings(node.test, self.callee_name)
        # A branch that always leaves (return, raise, continue, break) does not flow on past the ``if``.
        body_leaves = _always_leaves(node.body.body)
        else_leaves = node.orelse is not None and _always_leaves([node.orelse])
        before = dict(self.env)
        narrowed = self.narrow(when_true)
        meant = self.cuts_meant
        self.cuts_meant = meant or _means_cuts(node.test)
        body_effects = self._run_branch(node.body.body)
        self.cuts_meant = meant
        if not else_leaves:
            self._forget(narrowed, before)
        after_body = self.env
        self.env = dict(before)
        narrowed = self.narrow(when_false)
        if isinstance(node.orelse, cst.If):
            else_effects = self._run_branch([node.orelse])
        elif isinstance(node.orelse, cst.Else):
            else_effects = self._run_branch(node.orelse.body.body)
        else:
            else_effects = []
        if not body_leaves:
            self._forget(narrowed, before)
        if body_leaves and not else_leaves:
            pass
        elif else_leaves and not body_leaves:
            self.env = after_body
        else:
            self.env = _join_envs(after_body, self.env)
        self._branch(node, node.test, body_effects, else_effects, before)

    def narrow(self, narrowing: Narrowing) -> Dict[str, Value]:
        """Bind what a condition tells about values: not a tensor (no gradient to cut), or a tensor."""
        narrowed: Dict[str, Value] = {}
        for path, (kind, node) in narrowing.items():
            value = self.values.get(node, CONSTANT_VALUE)
            if kind == NOT_TENSOR:
                narrowed[path] = Value(cap(value.sym, LOW), value.marks, value.cls, value.items, integer=value.integer)
            elif kind == TENSOR:
                narrowed[path] = value.with_sym(tensor_like(value.sym))
            else:
                narrowed[path] = Value(value.sym, value.marks, cls=kind, derived=value.derived)
        self.env.update(narrowed)
        return narrowed

    def _forget(self, narrowed: Dict[str, Value], before: Dict[str, Value]) -> None:
        """Where both sides of an ``if`` flow on, what its condition told holds no more after it: the values it
        narrowed and the branch left alone are what they were (joining them again and again would pile up)."""
        for path, value in narrowed.items():
            if self.env.get(path) is value:
                if path in before:
                    self.env[path] = before[path]
                else:
                    del self.env[path]

    def _run_branch(self, body: Block) -> List[Tuple[Optional[str], Sym]]:
        start = len(self.effects)
        self.run_block(body)
        return self.effects[start:]

    def _branch(
        self,
        node: cst.CSTNode,
        test: cst.BaseExpression,
        body: List[Tuple[Optional[str], Sym]],
        orelse: List[Tuple[Optional[str], Sym]],
        before: Optional[Dict[str, Value]] = None,
    ) -> None:
        """Tell the branch rules what differentiable work the branch decides on (see ``_skipped_work``): what it
        stores, returns, or binds to a name read after it. A name one side rebinds keeps, on the other side, the
        value it had before (``if b < m: b = m`` chooses between two values; it skips no work)."""
        if not self.analyzer.branch_rules:
            return
        live = self.reads.after(node) if self.reads is not None else None

        def lasting(effects: List[Tuple[Optional[str], Sym]], other: List[Tuple[Optional[str], Sym]]) -> Sym:
            kept = [sym for name, sym in effects if name is None or live is None or name in live]
            bound_here = {name for name, _ in effects}
            kept += [
                before[name].sym
                for name, _ in other
                if before is not None and name in before and name not in bound_here and (live is None or name in live)
            ]
            return strongest(kept)

        work = _skipped_work(lasting(body, orelse), lasting(orelse, body))
        for rule in self.analyzer.branch_rules:
            rule.on_branch(node, test, work, self.ctx)

    def run_loop(self, node: Union[cst.For, cst.While]) -> None:
        before = dict(self.env)
        start = len(self.effects)
        for _ in range(2):
            if isinstance(node, cst.For):
                iterable = self.eval(node.iter)
                self.bind(node.target, self.element(iterable), node.iter, fresh=False)
            else:
                self.use(self.eval(node.test), BENIGN)
            self.run_block(node.body.body)
            self.env = _join_envs(before, self.env)
        if isinstance(node, cst.While):
            self._branch(node, node.test, self.effects[start:], [], before)
        if node.orelse is not None:
            self.run_block(node.orelse.body.body)

    def run_with(self, node: cst.With) -> None:
        region = None
        for item in node.items:
            value = self.eval(item.item)
            if self._disables_grad(item.item):
                region = item
            elif self._enables_grad(item.item):
                region = None
            if item.asname is not None:
                self.bind(item.asname.name, value, item.item)
        saved = self.grad_enabled, self.region
        if region is not None and self.grad_enabled:
            self.open_region(region.item)
        elif any(self._enables_grad(item.item) for item in node.items):
            self.grad_enabled, self.region = True, None
        self.run_block(node.body.body)
        self.grad_enabled, self.region = saved

    def _disables_grad(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Call):
            return self.callee_name(node) in api.GRAD_DISABLING
        callee = self.callee_name(node.func)
        if callee in api.GRAD_DISABLING:
            first = node.args[0].value if node.args else None
            return not is_false(first) if callee.endswith("inference_mode") else True
        if callee in api.GRAD_SWITCH:
            return bool(node.args) and is_false(node.args[0].value)
        return False

    def _enables_grad(self, node: cst.BaseExpression) -> bool:
        callee = self.callee_name(node.func if isinstance(node, cst.Call) else node)
        if callee in api.GRAD_ENABLING:
            return True
        return (
            callee in api.GRAD_SWITCH and isinstance(node, cst.Call) and bool(node.args) and is_true(node.args[0].value)
        )

    def run_try(self, node: Union[cst.Try, cst.TryStar]) -> None:
        before = dict(self.env)
        self.run_block(node.body.body)
        merged = _join_envs(before, self.env)
        outcomes = [self.env]
        for handler in node.handlers:
            self.env = dict(merged)
            self.run_block(handler.body.body)
            outcomes.append(self.env)
        self.env = outcomes[0]
        if node.orelse is not None:
            self.run_block(node.orelse.body.body)
            outcomes[0] = self.env
        env = outcomes[0]
        for other in outcomes[1:]:
            env = _join_envs(env, other)
        self.env = env
        if node.finalbody is not None:
            self.run_block(node.finalbody.body.body)

    def run_match(self, node: cst.Match) -> None:
        self.use(self.eval(node.subject), BENIGN)
        before = dict(self.env)
        env = dict(before)
        for case in node.cases:
            self.env = dict(before)
            self.run_block(case.body.body)
            env = _join_envs(env, self.env)
        self.env = env

    def run_class_body(self, node: cst.ClassDef) -> None:
        qualname = self._class_qualname(node)
        info = self.analyzer.declared.classes.get(qualname)
        if info is None:
            return
        real_fields: Dict[str, cst.AnnAssign] = {}
        for statement in node.body.body:
            if not isinstance(statement, (cst.SimpleStatementLine, cst.BaseSmallStatement)):
                continue
            for small in small_statements(statement):
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    name = small.target.value
                    info.fields.append(name)
                    if self._holds_reals(small):
                        real_fields[name] = small
                    if self._is_number_annotation(small.annotation.annotation):
                        info.number_fields.append(name)
                    grade, cls = self._annotation(small.annotation.annotation)
                    if cls is not None:
                        info.attribute_classes[name] = cls
                    own = Sym(grade, chain=(small,)) if grade else CONSTANT
                    default = self.eval(small.value) if small.value is not None else CONSTANT_VALUE
                    self.analyzer.equation(AttrRef(qualname, name), strongest((own, default.sym)))
                elif isinstance(small, cst.Assign):
                    value = self.eval(small.value)
                    for target in small.targets:
                        for name in target_names(target.target):
                            self.analyzer.equation(AttrRef(qualname, name), self._step(value, small.value).sym)
        facts = self.analyzer.facts.classes[qualname]
        facts.number_fields = tuple(info.number_fields)
        if info.is_dataclass:
            facts.fields = tuple(info.fields)
            self._carry_parameters(qualname, real_fields)

    def _carry_parameters(self, qualname: str, real_fields: Dict[str, cst.AnnAssign]) -> None:
        """A configuration dataclass any of whose real-valued fields receives a tensor somewhere is a carrier of
        parameters: its other real-valued fields (``cell_a: float = 100.0``) may hold one too. Each such field is
        at least medium when another one carries anything above none."""
        for name, declaration in real_fields.items():
            others = frozenset(AttrRef(qualname, other) for other in real_fields if other != name)
            if others:
                # The chain ends at the field itself: its siblings' tensors are why it counts, not where it came from.
                carried = Sym(
                    NONE,
                    frozenset({Clamped(others, ceiling=MEDIUM, floor=MEDIUM, least=MEDIUM, explains=False)}),
                    (declaration,),
                )
                self.analyzer.equation(AttrRef(qualname, name), carried)

    def _holds_reals(self, field: cst.AnnAssign) -> bool:
        """A field declared or defaulted as a real number, a vector of them or a tensor (``float``,
        ``Tuple[float, float, float]``, ``Union[float, Tensor]``, ``= 0.5``), as opposed to a count, a flag, a name,
        an object or a table (``Dict[..., float]``)."""
        annotation = field.annotation.annotation
        if not _is_table(annotation, self.analyzer.declared.callee_name_static):
            names = {
                self.analyzer.declared.callee_name_static(name)
                for name in _annotation_names(annotation, self.analyzer.declared.type_aliases)
            }
            if "float" in names or any(name in api.TENSOR_TYPES for name in names):
                return True
        default = field.value
        if isinstance(default, cst.UnaryOperation):
            default = default.expression
        return isinstance(default, cst.Float)

    def _class_qualname(self, node: cst.ClassDef) -> str:
        for qualname, info in self.analyzer.declared.classes.items():
            if info.node is node:
                return qualname
        return ""

    # ------------------------------------------------------------------------------------------ binding
    def _step(self, value: Value, node: cst.CSTNode) -> Value:
        """``value`` with ``node`` (where it was bound or returned) as the newest step of its chain."""
        if value.is_constant() or (value.sym.chain and value.sym.chain[0] is node):
            return value
        return value.with_sym(Sym(value.sym.grade, value.sym.refs, clipped((node,) + value.sym.chain)))

    def _cut_in_region(self, value: Value, source: Optional[cst.CSTNode], leaving: bool = False) -> Value:
        """Inside a no-grad region, a differentiable value computed there is cut where it is bound or returned.

        Names and attributes were computed elsewhere, and in-place updates (``w -= ...``, ``w.add_(...)``)
        keep the tensor they update: none of these is cut. When the region is a whole function (a decorator),
        what stays inside it is never differentiated anyway: only what ``leaving`` it (returned, stored on an
        object) and was computed in it is cut.
        """
        if self.region is None or value.is_constant():
            return value
        if self.region_is_function:
            if not leaving or not (value.derived or _computes(source)):
                return value
        elif not _computes(source):
            return value
        candidate = self.analyzer.candidates[self.region.index]
        candidate.receiver = strongest((candidate.receiver, value.sym))
        return Value(CONSTANT, value.marks | {self.region}, value.cls)

    def bind(self, target: cst.BaseExpression, value: Value, source: cst.CSTNode, fresh: bool = True) -> None:
        """Bind ``value``, computed by ``source``, to ``target``. A loop variable is not ``fresh``: iterating
        hands out values that exist already (``for p in model.parameters()``), which no region cuts."""
        if isinstance(target, cst.Name):
            value = self._cut_in_region(self._step(value, source), source if fresh else None)
            if not value.is_constant() and fresh and not _names(source):
                self.effects.append((target.value, value.sym))
            self.env[target.value] = value
            if self.at_module:
                self.analyzer.equation(GlobalRef(self.analyzer.module, target.value), value.sym)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [element.value for element in target.elements]
            items = value.items if value.items is not None and len(value.items) == len(elements) else None
            for position, element in enumerate(elements):
                part = items[position] if items is not None else self.element(value)
                self.bind(element.value if isinstance(element, cst.StarredElement) else element, part, source, fresh)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, self.element(value), source, fresh)
        elif isinstance(target, cst.Attribute):
            self.store_attribute(target, value, source)
        elif isinstance(target, cst.Subscript):
            self.store_item(target, value, source)

    def store_attribute(self, target: cst.Attribute, value: Value, source: cst.CSTNode) -> None:
        self.env.pop(dotted(target) or "", None)  # what a condition told about the old value is void
        owner = self.eval(target.value)
        marks = frozenset(
            filter(None, (rule.on_store(target, owner, value, source, self.ctx) for rule in self.analyzer.store_rules))
        )
        name = target.attr.value
        if name == "requires_grad" and isinstance(target.value, cst.Name) and isinstance(source, cst.BaseExpression):
            if is_true(source):
                self.env[target.value.value] = owner.with_sym(Sym(HIGH, owner.sym.refs, (target,)))
            elif marks:  # switched off, as the rules said: the later uses of the tensor decide
                self.env[target.value.value] = Value(CONSTANT, owner.marks | marks, owner.cls)
            return
        value = self._cut_in_region(self._step(value, source), source, leaving=True)
        if not value.is_constant() and not _names(source):
            self.effects.append((None, value.sym))
        if owner.cls is not None:
            self.analyzer.equation(AttrRef(owner.cls, name), value.sym)
            self.flow(value, AttrUseMark(owner.cls, name))
            if value.cls is not None:
                info = self.analyzer.declared.classes.get(owner.cls)
                if info is not None:
                    info.attribute_classes.setdefault(name, value.cls)
            elif value.module_instance:
                info = self.analyzer.declared.classes.get(owner.cls)
                if info is not None:
                    info.attribute_classes.setdefault(name, "torch.nn.Module")
        else:
            self.use(value, STORED)

    def store_item(self, target: cst.Subscript, value: Value, source: cst.CSTNode) -> None:
        for element in target.slice:
            if isinstance(element.slice, cst.Index):
                self.use(self.eval(element.slice.value), BENIGN)
        container = target.value
        local = None  # the name of a local list or dict being filled
        if isinstance(container, cst.Name) and container.value in self.env and not self.at_module:
            local = container.value
        owner = self.env[local] if local is not None else self.eval(container)
        if owner.keyed or any(
            isinstance(element.slice, cst.Index) and isinstance(element.slice.value, cst.SimpleString)
            for element in target.slice
        ):
            value = self.recorded(value, target)
        if local is None:  # a local list or dict being filled is no store worth a rule
            for rule in self.analyzer.store_rules:
                rule.on_store(target, owner, value, source, self.ctx)
        if local is not None and not value.is_constant() and not _names(source):
            self.effects.append((local, value.sym))  # work filed into a local container lasts with it
        keys = [
            constant_key(element.slice.value) if isinstance(element.slice, cst.Index) else None
            for element in target.slice
        ]
        self._store_into(container, owner, value, keys[0] if len(keys) == 1 else None)

    # ------------------------------------------------------------------------------------------ uses
    def use(self, value: Value, level: int) -> None:
        for mark in value.marks:
            fact = self.analyzer.use_fact(mark)
            if level > fact.level:
                fact.level = level

    def flow(self, value: Value, mark: object) -> None:
        for own in value.marks:
            fact = self.analyzer.use_fact(own)
            fact.via = fact.via | {mark}

    def combine(
        self,
        values: Sequence[Value],
        use: bool = True,
        integers_are_shapes: bool = False,
        at: Optional[cst.CSTNode] = None,
    ) -> Value:
        """A computation on ``values`` (at the node ``at``, else the statement being run).

        A marked operand combined with a non-constant one goes into that computation: its uses go through a
        :class:`MixMark` of the result, which the solve turns into a computation when the result matters and
        the other operands carry a gradient. With ``integers_are_shapes`` (arguments of torch functions and
        tensor methods), integer values count as sizes, dimensions or indices: looked at, not computed with.
        """
        if integers_are_shapes:
            for value in values:
                if value.integer:
                    self.use(value, BENIGN)
            values = [value for value in values if not value.integer]
        joined = join(values)
        if not use:
            return joined
        live = [value for value in values if not value.is_constant()]
        mixed = [(value, [other.sym for other in live if other is not value]) for value in values if value.marks]
        mixed = [(value, others) for value, others in mixed if others]
        if not mixed:
            return joined
        mark = self.analyzer.node_mark(MixMark, at if at is not None else self.statement)
        fact = self.analyzer.use_fact(mark)
        linked: set = set()
        for value, others in mixed:
            fact.combined_with = grade_of([*others, *([fact.combined_with] if fact.combined_with else [])])
            self.flow(value, mark)
            linked |= value.marks
        # The marks of earlier combinations reach their uses through this one: the result need not carry them.
        kept = frozenset(own for own in joined.marks if not (isinstance(own, MixMark) and own in linked))
        return Value(joined.sym, kept | {mark}, derived=True)

    def element(self, value: Value) -> Value:
        """A value taken out of ``value`` (an item of a container, a row of a tensor)."""
        if value.items:
            return value.items[0] if len(value.items) == 1 else join(value.items)
        return Value(value.sym, value.marks, value.cls if value.items is not None else None)

    def is_module_container(self, node: cst.BaseExpression) -> bool:
        """A module-level dict, list or set, not shadowed by a local name."""
        return (
            isinstance(node, cst.Name)
            and node.value in self.analyzer.declared.module_containers
            and (self.at_module or node.value not in self.env)
        )

    # ------------------------------------------------------------------------------------------ names
    def callee_name(self, node: cst.BaseExpression) -> Optional[str]:
        """Qualified name of a called name: nested and module-level definitions, imports and builtins."""
        head = node
        while isinstance(head, cst.Attribute):
            head = head.value
        if isinstance(head, cst.Name) and head.value in self.env:
            return None
        if isinstance(node, cst.Name):
            nested = self._nested_def(node.value)
            if nested is not None:
                return nested
        return self.analyzer.declared.callee_name_static(node)

    def _nested_def(self, name: str) -> Optional[str]:
        info: Optional[FunctionInfo] = self.info
        while info is not None and info.node is not None:
            qualname = f"{info.qualname}.<locals>.{name}"
            if qualname in self.analyzer.declared.function_by_qualname or qualname in self.analyzer.declared.classes:
                return qualname
            info = info.parent
        return None

    def lookup(self, name: str, node: cst.Name) -> Value:
        value = self.env.get(name)
        if value is not None:
            return value
        info = self.info.parent
        while info is not None:
            outer = self.analyzer.final_envs.get(info.qualname)
            if outer is not None and name in outer:
                return outer[name]
            info = info.parent
        if name in self.analyzer.declared.module_names:
            module_value = getattr(self.analyzer, "module_env", {}).get(name)
            cls = module_value.cls if module_value is not None else None
            ref = GlobalRef(self.analyzer.module, name)
            return Value(
                Sym(NONE, frozenset({ref}), (node,)),
                cls=cls,
                module_instance=bool(module_value and module_value.module_instance),
            )
        imported = self.analyzer.declared.imports.aliases.get(name)
        if imported is not None and "." in imported and top_level(imported) not in api.LIBRARY_ROOTS:
            module, _, attr = imported.rpartition(".")
            return Value(Sym(NONE, frozenset({GlobalRef(module, attr)}), (node,)))
        return CONSTANT_VALUE

    # ------------------------------------------------------------------------------------------ expressions
    def eval(self, node: cst.BaseExpression) -> Value:
        method = getattr(self, "eval_" + type(node).__name__, None)
        value = method(node) if method is not None else self.eval_children(node)
        self.values[node] = value
        return value

    def eval_children(self, node: cst.CSTNode) -> Value:
        """Unknown expression kinds: the join of their sub-expressions."""
        values = [self.eval(child) for child in children(node) if isinstance(child, cst.BaseExpression)]
        return self.combine(values)

    def eval_Name(self, node: cst.Name) -> Value:
        if node.value in ("True", "False", "None"):
            return CONSTANT_VALUE
        return self.lookup(node.value, node)

    def _constant(self, node: cst.BaseExpression) -> Value:
        return CONSTANT_VALUE

    eval_Integer = eval_Float = eval_Imaginary = eval_SimpleString = eval_Ellipsis = _constant
    eval_ConcatenatedString = _constant

    def eval_Lambda(self, node: cst.Lambda) -> Value:
        """A function written inline: its body is evaluated with its parameters unknown, and what it returns is
        handed to whoever calls it (code we cannot follow)."""
        saved = dict(self.env)
        for param in [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]:
            self.env[param.name.value] = Value(Sym(LOW, chain=(param,)))
        self.use(self.eval(node.body), ESCAPES)
        self.env = saved
        return CONSTANT_VALUE

    def eval_FormattedString(self, node: cst.FormattedString) -> Value:
        for part in node.parts:
            if isinstance(part, cst.FormattedStringExpression):
                self.use(self.eval(part.expression), BENIGN)
        return CONSTANT_VALUE

    def eval_Attribute(self, node: cst.Attribute) -> Value:
        narrowed = self.env.get(dotted(node) or "")  # a path a condition told about (``self.x``)
        if narrowed is not None:
            return narrowed
        callee = self.callee_name(node)
        if callee is not None and top_level(callee) in api.LIBRARY_ROOTS:
            return CONSTANT_VALUE
        if callee is not None and "." in callee:
            owner, _, name = callee.rpartition(".")
            ref = AttrRef(owner, name) if owner in self.analyzer.declared.classes else GlobalRef(owner, name)
            return Value(Sym(NONE, frozenset({ref}), (node,)))
        base = self.eval(node.value)
        name = node.attr.value
        for rule in self.analyzer.attribute_rules:
            mark = rule.on_attribute(node, base, self.ctx)
            if mark is not None:
                return Value(CONSTANT, base.marks | {mark})
        if name in api.NON_DIFFERENTIABLE_ATTRIBUTES:
            self.use(base, BENIGN)
            return CONSTANT_VALUE
        if base.cls is not None and not base.module_instance:
            return self._instance_attribute(base.cls, name, node)
        if name in api.TENSOR_ATTRIBUTES or (base.module_instance and _is_parameter_name(name)):
            return Value(base.sym, base.marks, derived=base.derived)
        return Value(cap(base.sym, LOW), base.marks, derived=base.derived)

    def _instance_attribute(self, cls: str, name: str, node: cst.CSTNode) -> Value:
        info = self.analyzer.declared.classes.get(cls)
        attr_cls = info.attribute_classes.get(name) if info is not None else None
        ref = AttrRef(cls, name)
        mark = AttrUseMark(cls, name)
        if attr_cls == "torch.nn.Module":
            return Value(Sym(NONE, frozenset({ref}), (node,)), frozenset({mark}), module_instance=True)
        return Value(Sym(NONE, frozenset({ref}), (node,)), frozenset({mark}), cls=attr_cls)

    def eval_Subscript(self, node: cst.Subscript) -> Value:
        base = self.eval(node.value)
        index_value = None
        for element in node.slice:
            inner = element.slice
            if isinstance(inner, cst.Index):
                index_value = inner.value
                self.use(self.eval(inner.value), BENIGN)
            elif isinstance(inner, cst.Slice):
                for part in (inner.lower, inner.upper, inner.step):
                    if part is not None:
                        self.use(self.eval(part), BENIGN)
        key = constant_key(index_value) if len(node.slice) == 1 else None
        filed = base.field(key) if key is not None else None
        if filed is not None:
            return filed
        if base.items is not None and isinstance(index_value, cst.Integer) and len(node.slice) == 1:
            position = int(index_value.value, 0)
            if -len(base.items) <= position < len(base.items):
                return base.items[position]
        if base.items is not None:
            return self.element(base)
        return Value(base.sym, base.marks, derived=True)

    def eval_BinaryOperation(self, node: cst.BinaryOperation) -> Value:
        left = self.eval(node.left)
        right = self.eval(node.right)
        if isinstance(node.operator, cst.Modulo) and isinstance(node.left, (cst.SimpleString, cst.ConcatenatedString)):
            self.use(right, BENIGN)
            return CONSTANT_VALUE
        return self.combine([left, right], at=node)

    def eval_UnaryOperation(self, node: cst.UnaryOperation) -> Value:
        value = self.eval(node.expression)
        if isinstance(node.operator, cst.Not):
            self.use(value, BENIGN)
            return CONSTANT_VALUE.deciding(value.decides)
        return Value(value.sym, value.marks, derived=True)

    def eval_BooleanOperation(self, node: cst.BooleanOperation) -> Value:
        left, right = self.eval(node.left), self.eval(node.right)
        return _choice(left, right).deciding(grade_of((left.decides, right.decides)))

    def eval_Comparison(self, node: cst.Comparison) -> Value:
        """A truth value, decided on the values it compares (an identity or membership test decides nothing); an
        order comparison is also a step in them (see ``Value.stepped``)."""
        operands = [self.eval(node.left), *(self.eval(target.comparator) for target in node.comparisons)]
        for value in operands:
            self.use(value, BENIGN)
        if any(isinstance(target.operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn)) for target in node.comparisons):
            return CONSTANT_VALUE
        ordered = all(isinstance(target.operator, _ORDER_COMPARISONS) for target in node.comparisons)
        stepped = Value(stepped=strongest(value.sym for value in operands)) if ordered else CONSTANT_VALUE
        return stepped.deciding(
            grade_of([self.analyzer.precut(value) for value in operands] + [value.decides for value in operands])
        )

    def eval_IfExp(self, node: cst.IfExp) -> Value:
        self.use(self.eval(node.test), BENIGN)
        when_true, when_false = narrowings(node.test, self.callee_name)
        before = dict(self.env)
        self.narrow(when_true)
        body = self.eval(node.body)
        self.env = dict(before)
        self.narrow(when_false)
        orelse = self.eval(node.orelse)
        self.env = before
        self._branch(node, node.test, [(None, body.sym)], [(None, orelse.sym)])
        return _choice(body, orelse)

    def eval_NamedExpr(self, node: cst.NamedExpr) -> Value:
        value = self.eval(node.value)
        self.bind(node.target, value, node.value)
        return value

    def eval_Await(self, node: cst.Await) -> Value:
        return self.eval(node.expression)

    def eval_Yield(self, node: cst.Yield) -> Value:
        if isinstance(node.value, cst.BaseExpression):
            self.return_value(self.eval(node.value), node.value)
        elif isinstance(node.value, cst.From):
            self.return_value(self.eval(node.value.item), node.value.item)
        return CONSTANT_VALUE

    def eval_StarredElement(self, node: cst.StarredElement) -> Value:
        return self.element(self.eval(node.value))

    def _display(self, node: Union[cst.Tuple, cst.List, cst.Set]) -> Value:
        items = tuple(self.eval(element.value) for element in node.elements)
        joined = join(items) if items else CONSTANT_VALUE
        return Value(joined.sym, joined.marks, items=items, integer=bool(items) and all(i.integer for i in items))

    eval_Tuple = eval_List = eval_Set = _display

    def eval_Dict(self, node: cst.Dict) -> Value:
        values = []
        fields: Optional[Dict[Optional[str], Value]] = {}
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                self.use(self.eval(element.key), BENIGN)
                value = self.recorded(self.eval(element.value), element)
                key = constant_key(element.key)
                if fields is not None and key is not None:
                    fields[key] = value
                elif fields is not None:
                    fields = None
            else:
                value = self.eval(element.value)
                if fields is not None and value.fields is not None:
                    fields.update(value.fields)
                else:
                    fields = None
            values.append(value)
        joined = join(values) if values else CONSTANT_VALUE
        return Value(
            joined.sym,
            joined.marks,
            derived=joined.derived,
            keyed=True,
            fields=tuple(fields.items()) if fields is not None else None,
        )

    def recorded(self, value: Value, node: cst.CSTNode) -> Value:
        """A value filed under a key at ``node`` (``{"loss": loss.item()}``, ``logs["error"] = err``): what it came
        from is used as the record is, but never more than a stored value (see :class:`RecordMark`)."""
        if not value.marks:
            return value
        mark = self.analyzer.node_mark(RecordMark, node)
        self.flow(value, mark)
        return value.with_marks(frozenset({mark}))

    def _comprehension(self, node: Union[cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp]) -> Value:
        saved = dict(self.env)
        clause: Optional[cst.CompFor] = node.for_in
        while clause is not None:
            iterable = self.eval(clause.iter)
            self.bind(clause.target, self.element(iterable), clause.iter)
            for condition in clause.ifs:
                self.use(self.eval(condition.test), BENIGN)
            clause = clause.inner_for_in
        if isinstance(node, cst.DictComp):
            self.use(self.eval(node.key), BENIGN)
            result = self.eval(node.value)
        else:
            result = self.eval(node.elt)
        self.env = saved
        return Value(result.sym, result.marks, derived=True)

    eval_ListComp = eval_SetComp = eval_GeneratorExp = eval_DictComp = _comprehension

    # ------------------------------------------------------------------------------------------ calls


_TYPING_NAMES = frozenset(
    "Optional Union List Dict Tuple Sequence Mapping Iterable Iterator Callable Any Type Set FrozenSet Literal "
    "ClassVar Final Annotated int float str bool bytes complex None list dict tuple set frozenset object type".split()
) | frozenset(
    "typing." + name
    for name in "Optional Union List Dict Tuple Sequence Mapping Iterable Iterator "
    "Callable Any Type Set FrozenSet Literal ClassVar Final Annotated".split()
)


def _choice(first: Value, second: Value) -> Value:
    """One of two values (``a if c else b``, ``a or b``): derived only if the chosen ones are, an instance of a
    class when both are."""
    joined = join([first, second])
    return Value(
        joined.sym,
        joined.marks,
        cls=first.cls if first.cls == second.cls else None,
        module_instance=first.module_instance and second.module_instance,
        derived=first.derived or second.derived,
    )


def _skipped_work(body: Sym, orelse: Sym) -> Sym:
    """The grade of the work one side of a branch does and the other skips.

    When only one side computes, that side's work. When both do and one depends on strictly more than the
    other (``a + k * b if k != 0 else a``), the extra dependencies: that term is dropped with its gradient.
    Otherwise both sides compute the same kind of thing differently (a piecewise definition): low.
    """
    if orelse.is_constant():
        return body
    if body.is_constant():
        return orelse
    body_refs, orelse_refs = plain_refs(body.refs), plain_refs(orelse.refs)
    if orelse_refs < body_refs:
        return Sym(NONE, body_refs - orelse_refs)
    if body_refs < orelse_refs:
        return Sym(NONE, orelse_refs - body_refs)
    return cap(strongest((body, orelse)), LOW)


# Words of flags under which cuts are meant: flags that switch on output for people (what is computed under them
# is a report, not the program's result), and switches for a cut itself (the author made it optional).
_OUTPUT_WORDS = frozenset(
    "debug debugging verbose verbosity trace tracing printout print show plot plotting display "
    "diagnostic diagnostics dump visualize visualise visualization visualisation vis viz "
    "inspect logging".split()
)
_CUT_WORDS = frozenset("detach detached stopgrad stop freeze frozen nograd".split())


def _means_cuts(test: cst.BaseExpression) -> bool:
    """Whether a condition tests a flag for debugging, tracing or verbose output (``if self.trace_pixel:``,
    ``elif args.verbose > 1:``, ``if logger.isEnabledFor(logging.DEBUG):``) or a switch for the cut in its branch
    (``if self.detach_inputs:``, ``if settings.detach_test_caches.on():``, ``if stop_gradient:``)."""
    stack: List[cst.CSTNode] = [test]
    while stack:
        node = stack.pop()
        name = (
            node.value if isinstance(node, cst.Name) else node.attr.value if isinstance(node, cst.Attribute) else None
        )
        if name is not None:
            words = set(name.lower().strip("_").split("_"))
            if words & (_OUTPUT_WORDS | _CUT_WORDS) or name == "isEnabledFor":
                return True
        stack.extend(children(node))
    return False


_TABLES = frozenset("Dict dict Mapping List list Sequence Set set FrozenSet frozenset Iterable Callable".split())


def _is_table(annotation: cst.BaseExpression, qualname: Callable[[cst.BaseExpression], Optional[str]]) -> bool:
    """Whether an annotation declares a container of many values (``Dict[Tuple[int, int, int], float]``,
    ``List[float]``), possibly optional, rather than one real number or a short vector of them."""
    if isinstance(annotation, cst.BinaryOperation):  # ``Mapping[...] | None``
        return _is_table(annotation.left, qualname) or _is_table(annotation.right, qualname)
    if isinstance(annotation, cst.Subscript):
        head = (qualname(annotation.value) or "").rpartition(".")[2]
        if head in _TABLES:
            return True
        if head in ("Optional", "Union"):
            return any(
                isinstance(element.slice, cst.Index) and _is_table(element.slice.value, qualname)
                for element in annotation.slice
            )
    return False


def _always_leaves(body: Sequence[cst.CSTNode]) -> bool:
    """Whether running ``body`` (a block, or an ``elif`` or ``else``) always ends in a ``return``, ``raise``,
    ``continue`` or ``break``."""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, (cst.SimpleStatementLine, cst.BaseSmallStatement)):
        return isinstance(small_statements(last)[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))
    if isinstance(last, cst.If):
        if last.orelse is None:
            return False
        rest = [last.orelse] if isinstance(last.orelse, cst.If) else last.orelse.body.body
        return _always_leaves(last.body.body) and _always_leaves(rest)
    if isinstance(last, cst.Else):
        return _always_leaves(last.body.body)
    return False


def _is_parameter_name(name: str) -> bool:
    """``weight``, ``bias``, ``in_proj_weight``...: the attributes of a ``torch.nn`` module that are parameters."""
    return name in ("weight", "bias") or name.endswith(("_weight", "_bias"))


def _names(node: Optional[cst.CSTNode]) -> bool:
    """Whether ``node`` only names a value computed elsewhere (``x = y``, ``self.a = config.a``): no work done."""
    return isinstance(node, (cst.Name, cst.Attribute))


def _computes(node: Optional[cst.CSTNode]) -> bool:
    """Whether evaluating ``node`` computes a new value (as opposed to naming one or updating one in place)."""
    if node is None or isinstance(node, (cst.Name, cst.Attribute, cst.AugAssign)):
        return False
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        method = node.func.attr.value
        return not (method.endswith("_") and not method.startswith("_"))
    return True


def _parameter_names(params: cst.Parameters) -> FrozenSet[str]:
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    return frozenset(param.name.value for param in every)


def _annotation_names(
    node: cst.BaseExpression, aliases: Dict[str, cst.BaseExpression], depth: int = 0
) -> Iterator[cst.BaseExpression]:
    """The names an annotation mentions (``Optional[Tensor]`` -> Optional, Tensor; ``float | Tensor``), through
    the file's type aliases (``T = torch.Tensor``, ``Array = Union[np.ndarray, torch.Tensor]``)."""
    if isinstance(node, cst.Name) and node.value in aliases and depth < 8:
        yield from _annotation_names(aliases[node.value], aliases, depth + 1)
    elif isinstance(node, (cst.Name, cst.Attribute)):
        yield node
    elif isinstance(node, cst.Subscript):
        yield from _annotation_names(node.value, aliases, depth)
        if _last_name(node.value) == "Callable":  # a function of tensors is not a tensor
            return
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                yield from _annotation_names(element.slice.value, aliases, depth)
    elif isinstance(node, cst.BinaryOperation):
        yield from _annotation_names(node.left, aliases, depth)
        yield from _annotation_names(node.right, aliases, depth)
    elif isinstance(node, (cst.Tuple, cst.List)):
        for item in node.elements:
            yield from _annotation_names(item.value, aliases, depth)


def _last_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    return node.attr.value if isinstance(node, cst.Attribute) else ""


@functools.lru_cache(maxsize=1024)
def _written_annotation(text: str) -> Optional[cst.BaseExpression]:
    """A forward reference (``"CrystalConfig"``, ``"Optional[torch.Tensor]"``) as the expression it stands for."""
    try:
        return cst.parse_expression(text.strip())
    except Exception:  # not an expression: says nothing
        return None


def _returned_fields(returned: List[Optional[Tuple[Tuple[Optional[str], Value], ...]]]) -> Tuple[Tuple[str, Sym], ...]:
    """What a function returns under each constant key, when every value it returns is a dict of known entries."""
    if not returned or any(fields is None for fields in returned):
        return ()
    keyed: Dict[str, List[Sym]] = {}
    for fields in returned:
        for key, value in fields or ():
            if key is not None:
                keyed.setdefault(key, []).append(value.sym)
    return tuple((key, strongest(syms)) for key, syms in keyed.items())


def _join_envs(first: Dict[str, Value], second: Dict[str, Value]) -> Dict[str, Value]:
    """Names bound on either path; an attribute path narrowed by a condition only if it was on both."""
    if first is second:
        return dict(first)
    merged = {name: value for name, value in first.items() if "." not in name or name in second}
    for name, value in second.items():
        other = merged.get(name)
        if other is None and "." in name:
            continue
        if other is None or other is value:
            merged[name] = value
        else:
            joined = join([other, value])
            merged[name] = Value(
                joined.sym,
                joined.marks,
                cls=other.cls if other.cls == value.cls else None,
                module_instance=other.module_instance and value.module_instance,
                derived=other.derived or value.derived,
                decides=grade_of((other.decides, value.decides)),
                keyed=other.keyed and value.keyed,
                fields=merged_fields(other, value),
            )
    return merged
