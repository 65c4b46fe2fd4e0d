"""The source expression a running frame is evaluating, found through its syntax tree.

Used only when something is recorded (a parameter is created, a zero factor is found), never per
operation. On Python 3.11+ the exact call is located from the instruction's source position; on older
versions the first call on the line whose name matches is used.
"""

from __future__ import annotations

import ast
import itertools
import linecache
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Optional, Union

_EXPRESSIONS = (ast.Call, ast.BinOp, ast.Compare, ast.UnaryOp, ast.Subscript, ast.Attribute)
_Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]
_Condition = Union[ast.If, ast.Assert]


@dataclass
class _Parsed:
    tree: ast.Module
    parents: dict[ast.AST, ast.AST]
    spans: dict[tuple[int, int, int, int], ast.expr]  # exact source span -> expression
    calls_by_line: dict[int, list[ast.Call]]
    functions: list[_Function]
    conditions: list[_Condition]


_CACHE: dict[str, Optional[_Parsed]] = {}


def parse(filename: str) -> Optional[_Parsed]:
    if filename not in _CACHE:
        text = "".join(linecache.getlines(filename))
        try:
            tree = ast.parse(text, filename)
        except (SyntaxError, ValueError):
            _CACHE[filename] = None
        else:
            parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
            spans: dict[tuple[int, int, int, int], ast.expr] = {}
            calls_by_line: dict[int, list[ast.Call]] = {}
            functions: list[_Function] = []
            conditions: list[_Condition] = []
            for node in ast.walk(tree):
                if isinstance(node, _EXPRESSIONS):
                    spans.setdefault(_span(node), node)
                    if isinstance(node, ast.Call):
                        calls_by_line.setdefault(node.lineno, []).append(node)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    functions.append(node)
                elif isinstance(node, (ast.If, ast.Assert)):
                    conditions.append(node)
            _CACHE[filename] = _Parsed(tree, parents, spans, calls_by_line, functions, conditions)
    return _CACHE[filename]


def forget(filename: str) -> None:
    """Drop a file from the caches (its text may have changed on disk)."""
    _CACHE.pop(filename, None)
    linecache.checkcache(filename)


def _position(frame: FrameType) -> Optional[tuple[int, int, int, int]]:
    positions = getattr(frame.f_code, "co_positions", None)
    if positions is None or frame.f_lasti < 0:
        return None
    position = next(itertools.islice(positions(), frame.f_lasti // 2, None), None)
    return position if position is not None and None not in position else None


def current_call(frame: FrameType, name: str = "") -> Optional[ast.expr]:
    """The call (or operator) expression the frame is executing, if it can be found."""
    parsed = parse(frame.f_code.co_filename)
    if parsed is None:
        return None
    position = _position(frame)
    if position is not None:
        return parsed.spans.get(position)
    calls = parsed.calls_by_line.get(frame.f_lineno, [])
    named = [call for call in calls if called_name(call) == name]
    return named[0] if named else calls[0] if calls else None


def called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def parent(frame: FrameType, node: ast.AST) -> Optional[ast.AST]:
    parsed = parse(frame.f_code.co_filename)
    return parsed.parents.get(node) if parsed else None


def binding_name(frame: FrameType, node: ast.AST) -> tuple[Optional[str], bool]:
    """The name the value of ``node`` gets bound to, and whether it is returned to the caller instead.

    Follows wrappers (``nn.Parameter(torch.tensor(...))``, ``.to(device)``) up to an assignment target,
    a keyword argument, a dict key or a return statement.
    """
    child: ast.AST = node
    while True:
        above = parent(frame, child)
        if above is None:
            return None, False
        if isinstance(above, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = above.targets if isinstance(above, ast.Assign) else [above.target]
            return _target_name(targets[-1], child, above.value), False
        if isinstance(above, ast.NamedExpr):
            return above.target.id, False
        if isinstance(above, ast.keyword):
            return above.arg, False
        if isinstance(above, ast.Dict):
            for key, value in zip(above.keys, above.values):
                if value is child and isinstance(key, ast.Constant) and isinstance(key.value, str):
                    return key.value, False
            return None, False
        if isinstance(above, ast.Return):
            return None, True
        if isinstance(above, (ast.Call, ast.Attribute, ast.Tuple, ast.List, ast.Starred)):
            child = above
            continue
        return None, False


def _target_name(target: ast.expr, value_part: ast.AST, value: Optional[ast.expr]) -> Optional[str]:
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
        for element_target, element_value in zip(target.elts, value.elts):
            if element_value is value_part or any(n is value_part for n in ast.walk(element_value)):
                return _target_name(element_target, value_part, element_value)
        return None
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, (ast.Attribute, ast.Subscript)):
        text = ast.unparse(target)
        return text.removeprefix("self.")
    return None


Binding = tuple[Optional[str], bool, Optional[str]]
# (id of the code, instruction offset, op) -> (the code, its binding). Keyed by id because a code object's
# hash is recomputed from its contents each time; the code is held, so its id is not reused.
_BINDINGS: dict[tuple[int, int, str], tuple[CodeType, Binding]] = {}


def binding_at(frame: FrameType, op: str) -> Binding:
    """For the call running in ``frame``: (name bound to its value, whether it is returned, receiver text).

    Cached per code position: a parameter created in a loop is looked up once.
    """
    code = frame.f_code
    key = (id(code), frame.f_lasti, op)
    cached = _BINDINGS.get(key)
    if cached is not None and cached[0] is code:
        return cached[1]
    call = current_call(frame, op)
    if call is None:
        found: Binding = (None, False, None)
    else:
        name, returned = binding_name(frame, call)
        found = (name, returned, receiver_name(call))
    _BINDINGS[key] = (code, found)
    return found


def receiver_name(call: ast.expr) -> Optional[str]:
    """For ``x.requires_grad_()`` (and the attribute stored in ``x.requires_grad = True``): the text of ``x``."""
    if isinstance(call, ast.Call):
        call = call.func
    if isinstance(call, ast.Attribute):
        return ast.unparse(call.value).removeprefix("self.")
    return None


def argument(call: ast.expr, position: int, keyword: str) -> Optional[ast.expr]:
    """The argument expression at ``position`` or named ``keyword`` of a call."""
    if not isinstance(call, ast.Call):
        return None
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return None


_DIAGNOSTIC_CALLS = frozenset({"warn", "print", "debug", "info", "warning", "error", "exception", "critical", "log"})
_CONDITIONS: dict[tuple[int, int], tuple[CodeType, bool]] = {}


def _is_diagnostic(statement: ast.stmt) -> bool:
    """A statement that only reports: raise, a warning, logging or printing (and what they import)."""
    if isinstance(statement, (ast.Raise, ast.Pass, ast.Import, ast.ImportFrom)):
        return True
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and called_name(statement.value) in _DIAGNOSTIC_CALLS
    )


def _only_reports(body: list[ast.stmt], alternative: list[ast.stmt]) -> bool:
    """Whether a branch ``body`` only reports, so that choosing it changes no value the program goes on with.

    A body that raises stops the program whatever the alternative; one that only warns or logs must have no
    alternative.
    """
    if not body or not all(_is_diagnostic(statement) for statement in body):
        return False
    return any(isinstance(statement, ast.Raise) for statement in body) or not alternative


def _span(node: Union[ast.expr, ast.stmt]) -> tuple[int, int, int, int]:
    """(line, end line, column, end column) of a node: a parsed node has its end, which the stubs leave optional."""
    return node.lineno, node.end_lineno, node.col_offset, node.end_col_offset  # type: ignore[return-value]


def _contains(outer: ast.expr, position: tuple[int, int, int, int]) -> bool:
    line, end_line, column, end_column = position
    outer_line, outer_end_line, outer_column, outer_end_column = _span(outer)
    return (outer_line, outer_column) <= (line, column) and (end_line, end_column) <= (outer_end_line, outer_end_column)


def _condition_only_validates(parsed: _Parsed, frame: FrameType) -> bool:
    position = _position(frame)
    for node in parsed.conditions:
        test = node.test
        if position is None:
            inside = test.lineno <= frame.f_lineno <= _span(test)[1]
        else:  # the jump on the condition is positioned at the whole statement
            inside = _contains(test, position) or position == _span(node)
        if inside:
            return isinstance(node, ast.Assert) or (
                _only_reports(node.body, node.orelse) or _only_reports(node.orelse, node.body)
            )
    return False


def only_validates(frame: FrameType) -> bool:
    """Whether the frame is testing the condition of an ``assert``, or of an ``if`` whose one side only raises
    (or, with no other side, only warns): a validation, which changes no value the program goes on with.

    Cached per code position.
    """
    code = frame.f_code
    key = (id(code), frame.f_lasti)
    cached = _CONDITIONS.get(key)
    if cached is not None and cached[0] is code:
        return cached[1]
    parsed = parse(code.co_filename)
    found = parsed is not None and _condition_only_validates(parsed, frame)
    _CONDITIONS[key] = (code, found)
    return found


def enclosing_function(filename: str, line: int) -> Optional[_Function]:
    """The innermost function definition whose body contains ``line``."""
    parsed = parse(filename)
    if parsed is None:
        return None
    enclosing = [node for node in parsed.functions if node.lineno <= line <= _span(node)[1]]
    return max(enclosing, key=lambda node: node.lineno, default=None)
