"""Where a constant came from: the field or parameter default an expression like ``cfg.default_F`` read.

The expression is followed through conversions (``float(...)``, ``int(...)``, ``abs(...)``), signs and
arithmetic (into the zero factor of a product) down to an attribute chain of plain names, read with
``inspect.getattr_static`` (no property or ``__getattr__`` code runs); anything else keeps just the expression
text and value.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import inspect
import operator
from types import FrameType
from typing import Any, Callable, Optional

from gradlint.trace import source
from gradlint.trace.results import Frame, ValueOrigin

_MISSING = object()


def _chain(expression: ast.expr) -> Optional[list[str]]:
    names: list[str] = []
    while isinstance(expression, ast.Attribute):
        names.append(expression.attr)
        expression = expression.value
    if not isinstance(expression, ast.Name):
        return None
    names.append(expression.id)
    return names[::-1]


def _lookup(frame: FrameType, name: str) -> Any:
    for scope in (frame.f_locals, frame.f_globals, vars(builtins)):
        if name in scope:
            return scope[name]
    return _MISSING


def _same(a: Any, b: Any) -> bool:
    try:
        return isinstance(a, (int, float)) and not isinstance(a, bool) and float(a) == float(b)
    except (TypeError, ValueError):
        return False


def _class_member_line(cls: type, attribute: str) -> Optional[tuple[str, int]]:
    """File and line where ``attribute`` is assigned in the body of ``cls`` (or a base class)."""
    for klass in cls.__mro__:
        if attribute not in vars(klass) and attribute not in getattr(klass, "__annotations__", {}):
            continue
        try:
            filename = inspect.getsourcefile(klass)
            first_line = inspect.getsourcelines(klass)[1]
        except (OSError, TypeError):
            continue
        parsed = source.parse(filename) if filename else None
        if filename is None or parsed is None:
            continue
        for node in ast.walk(parsed.tree):
            if (
                isinstance(node, ast.ClassDef)
                and node.name == klass.__name__
                and first_line in (node.lineno, *(d.lineno for d in node.decorator_list))
            ):
                for statement in node.body:
                    targets = (
                        statement.targets
                        if isinstance(statement, ast.Assign)
                        else [statement.target]
                        if isinstance(statement, ast.AnnAssign)
                        else []
                    )
                    if any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
                        return filename, statement.lineno
    return None


def _attribute_default(owner: Any, attribute: str, value: Any) -> Optional[tuple[str, int, str, str]]:
    cls = owner if isinstance(owner, type) else type(owner)
    if dataclasses.is_dataclass(cls):
        for item in dataclasses.fields(cls):
            if item.name == attribute and item.default is not dataclasses.MISSING and _same(item.default, value):
                found = _class_member_line(cls, attribute)
                return (*found, "dataclass_default", f"{cls.__name__}.{attribute}") if found else None
    instance_dict = getattr(owner, "__dict__", {}) if not isinstance(owner, type) else {}
    class_value = inspect.getattr_static(cls, attribute, _MISSING)
    if (
        class_value is not _MISSING
        and _same(class_value, value)
        and (attribute not in instance_dict or _same(instance_dict[attribute], class_value))
    ):
        found = _class_member_line(cls, attribute)
        return (*found, "class_attribute", f"{cls.__name__}.{attribute}") if found else None
    return None


def _parameter_default(frame: FrameType, name: str, value: Any) -> Optional[tuple[str, int, str, str]]:
    function = source.enclosing_function(frame.f_code.co_filename, frame.f_lineno)
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    arguments = function.args
    positional = arguments.posonlyargs + arguments.args
    pairs = list(zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults))
    pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
    for argument, default in pairs:
        if argument.arg == name and isinstance(default, ast.Constant) and _same(default.value, value):
            return frame.f_code.co_filename, default.lineno, "parameter_default", function.name
    return None


# Conversions the value goes through unchanged in the sense that matters here (zero stays zero).
_CONVERSIONS: dict[str, Callable[..., Any]] = {"float": float, "int": int, "abs": abs, "complex": complex}
_ARITHMETIC: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_SIGNS: dict[type, Callable[..., Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _conversion(expression: ast.expr) -> Optional[tuple[Callable[..., Any], ast.expr]]:
    """The conversion and its argument, of ``float(x)``, ``int(x)``, ``abs(x)``, ``complex(x)``."""
    if (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Name)
        and expression.func.id in _CONVERSIONS
        and len(expression.args) == 1
        and not expression.keywords
    ):
        return _CONVERSIONS[expression.func.id], expression.args[0]
    return None


def _static_value(frame: FrameType, expression: ast.expr) -> Any:
    """The value of a constant, an attribute chain of names, or conversions and arithmetic of those.

    Attributes are read with ``inspect.getattr_static``: no property or ``__getattr__`` code runs.
    """
    if isinstance(expression, ast.Constant):
        return expression.value
    conversion = _conversion(expression)
    if conversion is not None:
        return _apply(conversion[0], _static_value(frame, conversion[1]))
    if isinstance(expression, ast.UnaryOp) and type(expression.op) in _SIGNS:
        return _apply(_SIGNS[type(expression.op)], _static_value(frame, expression.operand))
    if isinstance(expression, ast.BinOp) and type(expression.op) in _ARITHMETIC:
        return _apply(
            _ARITHMETIC[type(expression.op)],
            _static_value(frame, expression.left),
            _static_value(frame, expression.right),
        )
    names = _chain(expression)
    if names is None:
        return _MISSING
    value = _lookup(frame, names[0])
    for name in names[1:]:
        if value is _MISSING:
            break
        value = inspect.getattr_static(value, name, _MISSING)
    return value


def _apply(function: Callable[..., Any], *values: Any) -> Any:
    """``function`` of plain numbers; anything else (a tensor, a missing value) stays unknown."""
    if not all(isinstance(v, (int, float, complex)) and not isinstance(v, bool) for v in values):
        return _MISSING
    try:
        return function(*values)
    except (ArithmeticError, TypeError, ValueError):
        return _MISSING


def _source(frame: FrameType, expression: ast.expr, value: Any) -> ast.expr:
    """The part of ``expression`` the value comes from: through conversions and signs, into the zero factor of
    a product, into the one operand that is not a literal of other arithmetic."""
    while True:
        conversion = _conversion(expression)
        inner = conversion[1] if conversion else None
        if inner is None and isinstance(expression, ast.UnaryOp) and type(expression.op) in _SIGNS:
            inner = expression.operand
        if inner is None and isinstance(expression, ast.BinOp) and type(expression.op) in _ARITHMETIC:
            operands = [expression.left, expression.right]
            if isinstance(expression.op, ast.Mult) and _same(value, 0):
                zeros = [o for o in operands if _same(_static_value(frame, o), 0)]
                inner = zeros[0] if zeros else None
            else:
                variable = [o for o in operands if not isinstance(o, ast.Constant)]
                inner = variable[0] if len(variable) == 1 else None
        if inner is None:
            return expression
        expression = inner


def operand_with_value(frame: FrameType, expression: Optional[ast.expr], value: Any) -> Optional[ast.expr]:
    """Among the operands or arguments of ``expression``, the one that evaluates to ``value``."""
    if isinstance(expression, ast.BinOp):
        candidates = [expression.left, expression.right]
    elif isinstance(expression, ast.Call):
        candidates = [*expression.args, *(item.value for item in expression.keywords)]
    else:
        return None
    for candidate in candidates:
        if _same(_static_value(frame, candidate), value):
            return candidate
    return None


def _argument_in_caller(frame: FrameType, name: str) -> Optional[tuple[FrameType, ast.expr]]:
    """For a parameter ``name`` of the frame's function: the caller's frame and the argument passed for it."""
    function = source.enclosing_function(frame.f_code.co_filename, frame.f_lineno)
    caller = frame.f_back
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or caller is None:
        return None
    call = source.current_call(caller, frame.f_code.co_name)
    if not isinstance(call, ast.Call) or source.called_name(call) != frame.f_code.co_name:
        return None
    for item in call.keywords:
        if item.arg == name:
            return caller, item.value
    positional = [a.arg for a in function.args.posonlyargs + function.args.args]
    if name not in positional:
        return None
    bound_method = bool(positional) and positional[0] in ("self", "cls") and isinstance(call.func, ast.Attribute)
    index = positional.index(name) - int(bound_method)
    if 0 <= index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return caller, call.args[index]
    return None


def resolve(
    frame: FrameType,
    expression: Optional[ast.expr],
    value: Any,
    to_frame: Callable[[str, int, str], Frame],
    hops: int = 4,
) -> Optional[ValueOrigin]:
    """The origin of ``value``, which the frame's current call received from ``expression``.

    A plain name that is a parameter of the running function is followed to the caller's argument.
    """
    if expression is None:
        return None
    expression = _source(frame, expression, value)
    known = _static_value(frame, expression)
    value = known if known is not _MISSING else value
    number = float(value) if _same(value, value) else None
    names = _chain(expression)
    found: Optional[tuple[str, int, str, str]] = None
    if names is not None and len(names) == 1:
        found = _parameter_default(frame, names[0], value)
        passed = _argument_in_caller(frame, names[0]) if found is None and hops else None
        if passed is not None:
            outer = resolve(passed[0], passed[1], value, to_frame, hops - 1)
            if outer is not None and outer.defined is not None:
                return outer
    elif names is not None:
        owner = _lookup(frame, names[0])
        for name in names[1:-1]:
            if owner is _MISSING:
                break
            owner = inspect.getattr_static(owner, name, _MISSING)
        if owner is not _MISSING:
            found = _attribute_default(owner, names[-1], value)
    if found is None:
        return ValueOrigin(ast.unparse(expression), number, None)
    filename, line, kind, label = found
    return ValueOrigin(ast.unparse(expression), number, to_frame(filename, line, label), kind)
