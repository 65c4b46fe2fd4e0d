"""What calls do to gradients: torch functions and tensor methods, NumPy and Python, the program's own functions
and classes, and code we cannot see. Mixed into the interpreter, whose values and uses it works with.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import libcst as cst

from gradlint.analysis import torch_api as api
from gradlint.analysis.context import CallSite
from gradlint.analysis.imports import top_level
from gradlint.analysis.nodes import constant_key
from gradlint.analysis.values import (
    BENIGN,
    COMPUTATION,
    CONSTANT,
    CONSTANT_VALUE,
    ESCAPES,
    HIGH,
    MEDIUM,
    NONE,
    STORED,
    CallRef,
    CandidateMark,
    ParamUseMark,
    ReturnUseMark,
    Sym,
    Value,
    cap,
    collected,
    grade_of,
    join,
    strongest,
    tensor_like,
)

if TYPE_CHECKING:
    from gradlint.analysis.context import Context
    from gradlint.analysis.declarations import FunctionInfo
    from gradlint.analysis.interpreter import FileAnalyzer

# Functions named like questions answer with a bool.
_PREDICATE = re.compile(r"_*(is|has)_")
# Calls that compare their operands and answer with truth values.
_COMPARING = frozenset("allclose isclose equal eq ne lt le gt ge greater less greater_equal less_equal".split())
# Functions and modules named like a loss: a cut argument set against a differentiable one is its target.
_LOSS = re.compile(r"loss|criterion|criteria|divergence|kl_div|cross_entropy|nll|mse|bce", re.IGNORECASE)
# Builtins that compute with their arguments, and builtins (and copies) that only hold or hand them on.
_COMPUTING_BUILTINS = frozenset("abs min max sum pow divmod map".split())
_COLLECTING_CALLS = frozenset(
    "list tuple reversed iter next zip dict set frozenset filter sorted enumerate getattr copy.copy "
    "copy.deepcopy dataclasses.replace".split()
)
_DICT_CALLS = frozenset({"dict", "collections.OrderedDict", "collections.defaultdict"})
# Methods of a module that hand out its own leaves, and those that hand out its submodules.
_MODULE_LEAVES = frozenset({"parameters", "named_parameters", "buffers", "named_buffers"})
_MODULE_CHILDREN = frozenset({"modules", "named_modules", "children", "named_children"})


_WHOLE_NUMBER = Value(integer=True)  # a count (``enumerate``'s)


def _last_identifier(node: cst.BaseExpression) -> str:
    """``criterion`` for ``self.criterion``, ``loss_fn`` for ``loss_fn``; "" for other callees."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return node.value if isinstance(node, cst.Name) else ""


def _is_cut(value: Value) -> bool:
    """Whether ``value`` was computed from the result of a cut (it carries a candidate's mark)."""
    return any(isinstance(mark, CandidateMark) for mark in value.marks)


def _without_marks(value: Value) -> Value:
    """A cut value, set apart: it no longer reports its uses to the cuts it came from."""
    return Value(value.sym, cls=value.cls, items=value.items, integer=value.integer) if _is_cut(value) else value


def _thresholded(name: str, inputs: List[Value]) -> Value:
    """The result of an index or order comparison of ``inputs``: a constant, stepped in them (see ``Value``)."""
    if name not in api.THRESHOLDS:
        return CONSTANT_VALUE
    return Value(stepped=strongest(value.sym for value in inputs))


def is_true(node: Optional[cst.BaseExpression]) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def is_false(node: Optional[cst.BaseExpression]) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


class CallSemantics:
    """The interpreter's calls (see ``FunctionInterpreter``, which provides ``eval``, ``use``, ``combine``...)."""

    if TYPE_CHECKING:  # what the interpreter provides
        analyzer: FileAnalyzer
        ctx: Context
        info: FunctionInfo
        env: Dict[str, Value]
        at_module: bool

        def eval(self, node: cst.BaseExpression) -> Value: ...
        def use(self, value: Value, level: int) -> None: ...
        def flow(self, value: Value, mark: object) -> None: ...
        def element(self, value: Value) -> Value: ...
        def recorded(self, value: Value, node: cst.CSTNode) -> Value: ...
        def callee_name(self, node: cst.BaseExpression) -> Optional[str]: ...
        def _annotation(self, node: Optional[cst.BaseExpression]) -> Tuple[int, Optional[str]]: ...

        def combine(
            self,
            values: Sequence[Value],
            use: bool = True,
            integers_are_shapes: bool = False,
            at: Optional[cst.CSTNode] = None,
        ) -> Value: ...

        def bind(self, target: cst.BaseExpression, value: Value, source: cst.CSTNode, fresh: bool = True) -> None: ...

    def eval_Call(self, node: cst.Call) -> Value:
        func = node.func
        callee = self.callee_name(func)
        receiver = None
        method = None
        if callee is None:
            if isinstance(func, cst.Attribute):
                receiver = self.eval(func.value)
                method = func.attr.value
            else:
                receiver = self.eval(func)
        args: List[Value] = []
        kwargs: Dict[str, Value] = {}
        for arg in node.args:
            value = self.eval(arg.value)
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            elif arg.star == "*":
                args.append(self.element(value))
            elif arg.star == "**":
                kwargs["**"] = value
            else:
                args.append(value)
        site = CallSite(node, callee, method, receiver, args, kwargs)
        site.casts_to_integer = method is not None and (method in api.INTEGER_CAST_METHODS or self._integer_cast(site))
        marks: frozenset = frozenset()
        for rule in self.analyzer.call_rules:
            mark = rule.on_call(site, self.ctx)
            if mark is not None:
                marks = marks | {mark}
        name = callee or _last_identifier(func)
        if _LOSS.search(name) and not name.rpartition(".")[2][:1].isupper():  # a call, not a class built
            self._set_targets_apart(site)
        result = self.call_result(site)
        if site.stepped is not None:
            # Piecewise constant: no gradient leaves the result, whatever is cast or cut after it.
            result = Value(CONSTANT, result.marks, derived=True, integer=result.integer)
        if result.is_constant():
            result = self._decided(site, result)
        elif "loss" in name.rpartition(".")[2].lower() and not name.rpartition(".")[2][:1].isupper():
            result = result.with_sym(tensor_like(result.sym))  # a loss is computed to be differentiated
        if marks:
            # The cut value is a constant, unless the call makes a new leaf that requires grad.
            fresh = any(
                arg.keyword is not None and arg.keyword.value == "requires_grad" and is_true(arg.value)
                for arg in node.args
            )
            result = Value(
                result.sym if fresh else CONSTANT, result.marks | marks, derived=True, integer=result.integer
            )
            # What the rules said of a call that changes a tensor in place is said of that tensor: its later uses
            # decide.
            if callee in api.FILLS_FIRST_ARGUMENT and site.args:
                filled = site.args[0]
                self._rebind(node.args[0].value, Value(filled.sym, filled.marks | marks, derived=filled.derived))
            elif method in ("requires_grad_", "detach_"):
                self._rebind(site.receiver_node, Value(CONSTANT, result.marks, receiver.cls if receiver else None))
        return result

    def _decided(self, site: CallSite, result: Value) -> Value:
        """A truth value computed by a call (``torch.any(mask)``, ``torch.allclose(a, b)``, ``bool(flag)``) is
        decided on what its arguments were decided on, and a comparing call also on the values it compares."""
        if site.callee in api.TYPE_AND_SIZE_TESTS:
            return result
        operands = ([site.receiver] if site.receiver is not None else []) + self._all_args(site)
        name = (site.callee or site.method or "").rpartition(".")[2]
        decided = [value.decides for value in operands if not value.decides.is_constant()]
        if name in _COMPARING:
            decided += [self.analyzer.precut(value) for value in operands]
        return result.deciding(grade_of(decided)) if decided else result

    def _set_targets_apart(self, site: CallSite) -> None:
        """In a loss, a cut argument set against a differentiable one is the target the prediction is fitted to (a
        bootstrap computed under ``no_grad``, a teacher's detached logits): looked at, not differentiated."""
        values = site.args + [value for name, value in site.kwargs.items() if name != "**"]
        targets = [value for value in values if _is_cut(value)]
        if not targets or all(_is_cut(value) or value.is_constant() for value in values):
            return
        for value in targets:
            self.use(value, BENIGN)
        site.args = [_without_marks(value) for value in site.args]
        site.kwargs = {name: _without_marks(value) for name, value in site.kwargs.items()}

    def call_result(self, site: CallSite) -> Value:
        name = (site.callee or site.method or "").rpartition(".")[2]
        if _PREDICATE.match(name):
            for value in self._all_args(site):
                self.use(value, BENIGN)
            program = self.call_result_in_program(site)
            return CONSTANT_VALUE.deciding(program.decides) if program is not None else CONSTANT_VALUE
        if site.callee is not None:
            return self.call_function(site, site.callee)
        if site.method is not None:
            return self.call_method(site)
        return self.call_value(site)

    def call_result_in_program(self, site: CallSite) -> Optional[Value]:
        """The result of a call of a function of the program (a predicate named ``is_...``), else None."""
        if site.callee is not None and (
            site.callee in self.analyzer.declared.function_by_qualname
            or ("." in site.callee and top_level(site.callee) not in api.LIBRARY_ROOTS)
        ):
            return self.call_function(site, site.callee)
        if site.method is not None and site.receiver is not None and site.receiver.cls is not None:
            return self.call_method(site)
        return None

    def _all_args(self, site: CallSite) -> List[Value]:
        return site.args + list(site.kwargs.values())

    def call_function(self, site: CallSite, callee: str) -> Value:
        root = top_level(callee)
        args = self._all_args(site)
        if callee in self.analyzer.declared.function_by_qualname or callee in self.analyzer.declared.classes:
            return self.call_program(site, callee, site.args)  # defined here, even when this file is in torch
        if callee.startswith("torch.testing."):
            for value in args:
                self.use(value, BENIGN)
            return CONSTANT_VALUE
        if root == "torch":
            return self.call_torch(site, callee)
        if root in api.NUMPY_MODULES or root in api.MATH_MODULES:
            return Value(
                CONSTANT,
                frozenset().union(*(a.marks for a in args)) if args else frozenset(),
                integer=callee in api.INTEGER_CONVERSIONS,
            )
        if callee in api.PYTHON_SCALARS or callee in ("bool", "round"):
            marks = frozenset().union(*(a.marks for a in args)) if args else frozenset()
            return Value(CONSTANT, marks, integer=callee in ("int", "round", "bool"))
        if callee in api.BENIGN_FUNCTIONS or root in ("logging", *api.DISPLAY_ROOTS) or callee.startswith("warnings."):
            for value in args:
                self.use(value, BENIGN)
            return CONSTANT_VALUE
        if callee in _COMPUTING_BUILTINS:
            return self.combine(args, at=site.node)
        if callee in _DICT_CALLS:
            return collected(args).with_keys()
        if callee in ("zip", "enumerate") and site.args and not site.kwargs and len(site.args) == len(site.node.args):
            # An iterable of tuples whose positions come from the iterables in order: one row stands for them all.
            parts = [self.element(value) for value in site.args]
            row = Value(items=tuple([_WHOLE_NUMBER, *parts] if callee == "enumerate" else parts))
            whole = collected(args)
            return Value(whole.sym, whole.marks, items=(row,))
        if callee in _COLLECTING_CALLS:
            return collected(args)
        if "." not in callee and callee not in self.analyzer.declared.classes:
            if callee == "super":
                return self._super_value()
            # Something we cannot see: what it returns carries its arguments on, and its uses decide.
            joined = join(args)
            return Value(cap(joined.sym, MEDIUM), joined.marks, derived=True)
        return self.call_program(site, callee, site.args)

    def _super_value(self) -> Value:
        info = self.analyzer.declared.classes.get(self.info.cls or "")
        if info is not None and info.bases:
            return Value(cls=info.bases[0])
        return CONSTANT_VALUE

    def call_program(
        self, site: CallSite, function: str, args: List[Value], self_value: Optional[Value] = None
    ) -> Value:
        """A call of a function or class that may be defined in the scanned program."""
        positional = ([self_value] if self_value is not None else []) + args
        for index, value in enumerate(positional):
            self.flow(value, ParamUseMark(function, index))
        for name, value in site.kwargs.items():
            self.flow(value, ParamUseMark(function, name))
        ref = self.analyzer.call_fact(function, positional, site.kwargs)
        info = self.analyzer.declared.classes.get(function)
        is_class = info is not None or (
            function.rpartition(".")[2][:1].isupper() and function not in (self.analyzer.declared.module_defs.values())
        )
        if is_class:
            # An instance: what its constructor keeps (a named tuple's fields) is used as the instance is.
            return Value(marks=frozenset({ReturnUseMark(function)}), cls=function, derived=False)
        returns = self._return_class(function)
        mark = frozenset({ReturnUseMark(function)})
        sym = Sym(NONE, frozenset({ref}), (site.node,))
        decides = Sym(NONE, frozenset({CallRef(ref.function, ref.args, ref.kwargs, decides=True)}), (site.node,))
        return Value(sym, mark, cls=returns, derived=True, decides=decides)

    def _return_class(self, function: str) -> Optional[str]:
        info = self.analyzer.declared.function_by_qualname.get(function)
        if info is None or info.node is None or info.node.returns is None:
            return None
        return self._annotation(info.node.returns.annotation)[1]

    def call_torch(self, site: CallSite, callee: str) -> Value:
        args = self._all_args(site)
        if callee in api.PARAMETER_CLASSES:
            return Value(
                Sym(HIGH, chain=(site.node,)), frozenset().union(*(a.marks for a in args)) if args else frozenset()
            )
        last = callee.rpartition(".")[2]
        if callee.startswith("torch.nn.") and last[:1].isupper() and "functional" not in callee:
            if callee in api.PARAMETER_FREE_MODULES:
                return Value(module_instance=True)
            return Value(Sym(HIGH, chain=(site.node,)), module_instance=True)
        if last[:1].isupper() and callee not in api.FACTORIES:
            # An object built from its arguments (``torch.distributions.Normal(loc, scale)``): not a tensor
            # derived from them, though it carries their gradient on.
            joined = self.combine(args, at=site.node)
            return Value(joined.sym, joined.marks)
        requires_grad = site.node.args and any(
            arg.keyword is not None and arg.keyword.value == "requires_grad" and is_true(arg.value)
            for arg in site.node.args
        )
        if requires_grad:
            return Value(Sym(HIGH, chain=(site.node,)))
        if callee in ("torch.as_tensor", "torch.asarray") and site.args and site.args[0].items is None:
            return Value(site.args[0].sym, site.args[0].marks, derived=site.args[0].derived)
        if callee in api.FACTORIES:
            if callee in api.SIZE_ARGUMENT_FUNCTIONS:
                for value in site.args:
                    self.use(value, BENIGN)
            marks = frozenset().union(*(a.marks for a in args)) if args else frozenset()
            return Value(CONSTANT, marks)
        if callee in api.NON_DIFFERENTIABLE_FUNCTIONS:
            for value in args:
                self.use(value, BENIGN)
            return _thresholded(last, site.args[:1])
        if callee in api.GRAD_DISABLING or callee in api.GRAD_ENABLING or callee in api.GRAD_SWITCH:
            return CONSTANT_VALUE
        if callee in api.DIFFERENTIATING_FUNCTIONS:
            for value in args:
                self.use(value, COMPUTATION)
            return CONSTANT_VALUE
        if last.endswith("_") and not last.startswith("_"):
            # In place (``torch.nn.init.uniform_(w, ...)``): the first argument is updated, nothing is computed.
            return self.combine(args, use=False)
        result = self.combine(args, integers_are_shapes=True, at=site.node)
        return result.with_sym(tensor_like(result.sym))  # torch computes tensors: an unknown input was one

    def call_method(self, site: CallSite) -> Value:
        receiver = site.receiver
        assert receiver is not None and site.method is not None
        method = site.method
        args = self._all_args(site)
        if receiver.cls is not None and not receiver.module_instance:
            return self.call_program(site, f"{receiver.cls}.{method}", site.args, self_value=receiver)
        if method in api.BENIGN_METHODS and args:  # ``logger.log(msg)``, not ``x.log()``
            for value in args:
                self.use(value, BENIGN)
            return CONSTANT_VALUE
        if method in api.CONTAINER_STORES:
            stored = collected([self.recorded(value, site.node) for value in args] if receiver.keyed else args)
            self._store_into(site.receiver_node, receiver, stored)
            return CONSTANT_VALUE
        if method in (
            "detach",
            "_values",
            "item",
            "tolist",
            "numpy",
            "new_tensor",
            "new_full",
            "new_zeros",
            "new_ones",
            "new_empty",
        ):
            for value in args:
                self.use(value, BENIGN)
            return Value(CONSTANT, receiver.marks, derived=True)
        if method in api.NON_DIFFERENTIABLE_METHODS:
            self.use(receiver, BENIGN)
            for value in args:
                self.use(value, BENIGN)
            return _thresholded(method, [receiver])
        if site.casts_to_integer:
            return Value(CONSTANT, receiver.marks, derived=True, integer=True)
        if method in api.VIEW_METHODS or method in api.SHAPE_METHODS:
            for value in args:
                self.use(value, BENIGN)
            return Value(receiver.sym, receiver.marks, derived=receiver.derived or method in api.SHAPE_METHODS)
        if method == "backward":
            return self.backward(site, receiver)
        if method == "requires_grad_":
            first = site.node.args[0].value if site.node.args else None
            turned_on = Sym(HIGH, chain=(site.node,)) if first is None or is_true(first) else CONSTANT
            result = Value(turned_on, receiver.marks, derived=receiver.derived)
            self._rebind(site.receiver_node, result)
            return result
        if method in ("detach_",):
            result = Value(CONSTANT, receiver.marks)
            self._rebind(site.receiver_node, result)
            return result
        if method.endswith("_") and not method.startswith("_"):
            # In place: the receiver now also depends on the arguments; its uses are not a computation.
            result = self.combine([receiver, *args], use=False)
            self._rebind(site.receiver_node, result)
            return result
        if method in ("get", "pop") and site.node.args:
            key = constant_key(site.node.args[0].value)
            filed = receiver.field(key) if key is not None else None
            if filed is not None:
                return collected([filed, *args[1:]])
        if method in ("get", "pop", "copy", "values", "items", "keys"):
            copied = method == "copy"
            return Value(
                receiver.sym,
                receiver.marks,
                derived=receiver.derived,
                fields=receiver.fields if copied else None,
                keyed=copied and receiver.keyed,
            )
        if receiver.module_instance and method in _MODULE_LEAVES:
            return Value(receiver.sym, receiver.marks, items=None)
        if receiver.module_instance and method in _MODULE_CHILDREN:
            return Value(receiver.sym, receiver.marks, module_instance=True)
        integers = [value for value in args if value.integer]
        for value in integers:
            self.use(value, BENIGN)
        return self.combine([receiver, *(value for value in args if not value.integer)], at=site.node)

    def backward(self, site: CallSite, loss: Value) -> Value:
        """``loss.backward()``: the strongest use a value can have. Afterwards the name holds a value whose gradient
        was taken: reading it (logging the loss) cuts nothing, unless the graph is kept for another backward."""
        self.use(loss, COMPUTATION)
        for value in self._all_args(site):
            self.use(value, BENIGN)
        keeps_graph = any(
            arg.keyword is not None
            and arg.keyword.value in ("retain_graph", "create_graph")
            and not is_false(arg.value)
            for arg in site.node.args
        )
        if not keeps_graph:
            self._rebind(site.receiver_node, CONSTANT_VALUE)
        return CONSTANT_VALUE

    def _integer_cast(self, site: CallSite) -> bool:
        if site.method not in ("to", "type"):
            return False
        for arg in site.node.args:
            if arg.keyword is not None and arg.keyword.value != "dtype":
                continue
            if isinstance(arg.value, cst.SimpleString) and arg.value.evaluated_value in api.INTEGER_DTYPE_STRINGS:
                return True
            if self.callee_name(arg.value) in api.INTEGER_DTYPES:
                return True
        return False

    def _rebind(self, node: cst.BaseExpression, value: Value) -> None:
        if isinstance(node, cst.Name) and (node.value in self.env or not self.at_module):
            self.env[node.value] = value

    def _store_into(
        self, container: cst.BaseExpression, current: Value, stored: Value, key: Optional[str] = None
    ) -> None:
        """``stored`` put into ``current`` (under ``key``, when a literal names it)."""
        if isinstance(container, cst.Name) and container.value in self.env and not self.at_module:
            keyed = current.keyed or key is not None
            self.env[container.value] = current.filed(key, stored) if keyed else collected([current, stored])
        elif isinstance(container, cst.Attribute):
            self.bind(container, collected([current, stored]), container)
        else:
            self.use(stored, STORED)

    def call_value(self, site: CallSite) -> Value:
        callee = site.receiver
        assert callee is not None
        if callee.cls is not None and not callee.module_instance:
            return self.call_program(site, f"{callee.cls}.__call__", site.args, self_value=callee)
        if callee.module_instance:
            result = self.combine([callee, *self._all_args(site)], at=site.node)
            return result.with_sym(tensor_like(result.sym))
        for value in self._all_args(site):
            self.use(value, ESCAPES)
        return Value(cap(join([callee, *self._all_args(site)]).sym, MEDIUM), derived=True)
