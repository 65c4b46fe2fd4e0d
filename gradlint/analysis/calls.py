"""What calls do to gradients: torch functions and tensor methods, NumPy and Python, the program's own functions
and classes, and code we cannot see. Mixed into the interpreter, whose values and uses it works with.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional

import libcst as cst

from gradlint.analysis import torch_api as api
from gradlint.analysis.context import CallSite
from gradlint.analysis.imports import top_level
from gradlint.analysis.values import (
    BENIGN,
    CONSTANT,
    CONSTANT_VALUE,
    ESCAPES,
    HIGH,
    MEDIUM,
    NONE,
    ParamUseMark,
    ReturnUseMark,
    Sym,
    Value,
    cap,
    collected,
    join,
    strongest,
)

# Functions named like questions answer with a bool.
_PREDICATE = re.compile(r"_*(is|has)_")
# Builtins that compute with their arguments, and builtins (and copies) that only hold or hand them on.
_COMPUTING_BUILTINS = frozenset("abs min max sum pow divmod map".split())
_COLLECTING_CALLS = frozenset(
    "list tuple reversed iter next zip dict set frozenset filter sorted enumerate getattr copy.copy "
    "copy.deepcopy dataclasses.replace".split()
)
# Methods of a module that hand out its own leaves, and those that hand out its submodules.
_MODULE_LEAVES = frozenset({"parameters", "named_parameters", "buffers", "named_buffers"})
_MODULE_CHILDREN = frozenset({"modules", "named_modules", "children", "named_children"})


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
        marks = frozenset()
        for rule in self.analyzer.call_rules:
            mark = rule.on_call(site, self.ctx)
            if mark is not None:
                marks = marks | {mark}
        result = self.call_result(site)
        if marks:
            # The cut value is a constant, unless the call makes a new leaf that requires grad.
            fresh = any(arg.keyword is not None and arg.keyword.value == "requires_grad" and is_true(arg.value)
                        for arg in node.args)
            result = Value(result.sym if fresh else CONSTANT, result.marks | marks, derived=True,
                           integer=result.integer)
            # What the rules said of a call that changes a tensor in place is said of that tensor: its later uses
            # decide.
            if callee in api.FILLS_FIRST_ARGUMENT and site.args:
                filled = site.args[0]
                self._rebind(node.args[0].value, Value(filled.sym, filled.marks | marks, derived=filled.derived))
            elif method in ("requires_grad_", "detach_"):
                self._rebind(func.value, Value(CONSTANT, result.marks, receiver.cls))  # type: ignore[union-attr]
        return result

    def call_result(self, site: CallSite) -> Value:
        name = (site.callee or site.method or "").rpartition(".")[2]
        if _PREDICATE.match(name):
            for value in self._all_args(site):
                self.use(value, BENIGN)
            return CONSTANT_VALUE
        if site.callee is not None:
            return self.call_function(site, site.callee)
        if site.method is not None:
            return self.call_method(site)
        return self.call_value(site)

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
            return Value(CONSTANT, frozenset().union(*(a.marks for a in args)) if args else frozenset())
        if callee in api.PYTHON_SCALARS or callee in ("bool", "round"):
            marks = frozenset().union(*(a.marks for a in args)) if args else frozenset()
            return Value(CONSTANT, marks, integer=callee in ("int", "round", "bool"))
        if callee in api.BENIGN_FUNCTIONS or top_level(callee) in ("logging",) or callee.startswith("warnings."):
            for value in args:
                self.use(value, BENIGN)
            return CONSTANT_VALUE
        if callee in _COMPUTING_BUILTINS:
            return self.combine(args)
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

    def call_program(self, site: CallSite, function: str, args: List[Value], self_value: Optional[Value] = None
                     ) -> Value:
        """A call of a function or class that may be defined in the scanned program."""
        positional = ([self_value] if self_value is not None else []) + args
        for index, value in enumerate(positional):
            self.flow(value, ParamUseMark(function, index))
        for name, value in site.kwargs.items():
            self.flow(value, ParamUseMark(function, name))
        ref = self.analyzer.call_fact(function, positional, site.kwargs)
        info = self.analyzer.declared.classes.get(function)
        is_class = info is not None or (function.rpartition(".")[2][:1].isupper() and function not in (
            self.analyzer.declared.module_defs.values()))
        if is_class:
            return Value(cls=function, derived=False)
        returns = self._return_class(function)
        mark = frozenset({ReturnUseMark(function)})
        sym = Sym(NONE, frozenset({ref}), (site.node,))
        return Value(sym, mark, cls=returns, derived=True)

    def _return_class(self, function: str) -> Optional[str]:
        info = self.analyzer.declared.function_by_qualname.get(function)
        if info is None or info.node.returns is None:
            return None
        return self._annotation(info.node.returns.annotation)[1]

    def call_torch(self, site: CallSite, callee: str) -> Value:
        args = self._all_args(site)
        if callee in api.PARAMETER_CLASSES:
            return Value(Sym(HIGH, chain=(site.node,)), frozenset().union(*(a.marks for a in args)) if args else
                         frozenset())
        last = callee.rpartition(".")[2]
        if callee.startswith("torch.nn.") and last[:1].isupper() and "functional" not in callee:
            if callee in api.PARAMETER_FREE_MODULES:
                return Value(module_instance=True)
            return Value(Sym(HIGH, chain=(site.node,)), module_instance=True)
        if last[:1].isupper() and callee not in api.FACTORIES:
            # An object built from its arguments (``torch.distributions.Normal(loc, scale)``): not a tensor
            # derived from them, though it carries their gradient on.
            joined = self.combine(args)
            return Value(joined.sym, joined.marks)
        requires_grad = site.node.args and any(
            arg.keyword is not None and arg.keyword.value == "requires_grad" and is_true(arg.value)
            for arg in site.node.args)
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
        if last.endswith("_") and not last.startswith("_"):
            # In place (``torch.nn.init.uniform_(w, ...)``): the first argument is updated, nothing is computed.
            return self.combine(args, use=False)
        return self.combine(args, integers_are_shapes=True)

    def call_method(self, site: CallSite) -> Value:
        receiver = site.receiver
        assert receiver is not None and site.method is not None
        method = site.method
        args = self._all_args(site)
        if receiver.cls is not None and not receiver.module_instance:
            return self.call_program(site, f"{receiver.cls}.{method}", site.args, self_value=receiver)
        if method in api.BENIGN_METHODS:
            for value in args:
                self.use(value, BENIGN)
            return CONSTANT_VALUE
        if method in api.CONTAINER_STORES:
            stored = collected(args)
            self._store_into(site.node.func.value, receiver, stored)  # type: ignore[union-attr]
            return CONSTANT_VALUE
        if method in ("detach", "item", "tolist", "numpy", "new_tensor", "new_full", "new_zeros", "new_ones",
                      "new_empty"):
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
        if method == "requires_grad_":
            first = site.node.args[0].value if site.node.args else None
            turned_on = Sym(HIGH, chain=(site.node,)) if first is None or is_true(first) else CONSTANT
            result = Value(turned_on, receiver.marks, derived=receiver.derived)
            self._rebind(site.node.func.value, result)  # type: ignore[union-attr]
            return result
        if method in ("detach_",):
            result = Value(CONSTANT, receiver.marks)
            self._rebind(site.node.func.value, result)  # type: ignore[union-attr]
            return result
        if method.endswith("_") and not method.startswith("_"):
            # In place: the receiver now also depends on the arguments; its uses are not a computation.
            result = self.combine([receiver, *args], use=False)
            self._rebind(site.node.func.value, result)  # type: ignore[union-attr]
            return result
        if method in ("get", "pop", "copy", "values", "items", "keys"):
            return Value(receiver.sym, receiver.marks, derived=receiver.derived)
        if receiver.module_instance and method in _MODULE_LEAVES:
            return Value(receiver.sym, receiver.marks, items=None)
        if receiver.module_instance and method in _MODULE_CHILDREN:
            return Value(receiver.sym, receiver.marks, module_instance=True)
        integers = [value for value in args if value.integer]
        for value in integers:
            self.use(value, BENIGN)
        return self.combine([receiver, *(value for value in args if not value.integer)])

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

    def _store_into(self, container: cst.BaseExpression, current: Value, stored: Value) -> None:
        if isinstance(container, cst.Name) and container.value in self.env and not self.at_module:
            self.env[container.value] = collected([current, stored])
        elif isinstance(container, cst.Attribute):
            self.bind(container, collected([current, stored]), container)
        else:
            self.use(stored, ESCAPES)

    def call_value(self, site: CallSite) -> Value:
        callee = site.receiver
        assert callee is not None
        if callee.cls is not None and not callee.module_instance:
            return self.call_program(site, f"{callee.cls}.__call__", site.args, self_value=callee)
        if callee.module_instance:
            return self.combine([callee, *self._all_args(site)])
        for value in self._all_args(site):
            self.use(value, ESCAPES)
        return Value(cap(join([callee, *self._all_args(site)]).sym, MEDIUM), derived=True)
