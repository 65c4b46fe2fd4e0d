"""What a condition says about whether a value is a tensor: ``isinstance(x, torch.Tensor)``, ``torch.is_tensor(x)``,
``x is None``, ``isinstance(x, (int, float))``, through ``not``, ``and`` and ``or``.

A branch taken only when a value is not a tensor cannot cut its gradient (``if not isinstance(x, Tensor): x =
torch.tensor(x)`` converts numbers a caller passed, not a caller's tensor), and a branch taken only when it is one
knows that it holds a tensor, whose ``requires_grad`` is unknown. Values are named by their dotted path (``x``,
``self.distance``, ``config.cell_a``), the way the interpreter keeps them in its environment.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import libcst as cst

from gradlint.analysis import torch_api as api
from gradlint.analysis.imports import dotted, top_level

TENSOR, NOT_TENSOR = "tensor", "not-tensor"
# dotted path -> (TENSOR, NOT_TENSOR or the qualified name of the one class the value is an instance of, the
# tested node)
Narrowing = Dict[str, Tuple[str, cst.BaseExpression]]
# Types whose instances are never tensors.
_PLAIN_TYPES = frozenset(
    {
        "int",
        "float",
        "bool",
        "complex",
        "str",
        "bytes",
        "list",
        "tuple",
        "dict",
        "set",
        "numbers.Number",
        "numbers.Real",
        "numbers.Integral",
        "numpy.ndarray",
        "numpy.number",
        "numpy.floating",
        "numpy.integer",
    }
)
_TENSOR_PREDICATES = frozenset({"torch.is_tensor", "torch.overrides.is_tensor_like"})


def narrowings(
    test: cst.BaseExpression, qualname: Callable[[cst.BaseExpression], Optional[str]]
) -> Tuple[Narrowing, Narrowing]:
    """What ``test`` tells about values when it is true, and when it is false."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        when_true, when_false = narrowings(test.expression, qualname)
        return when_false, when_true
    if isinstance(test, cst.BooleanOperation):
        left_true, left_false = narrowings(test.left, qualname)
        right_true, right_false = narrowings(test.right, qualname)
        if isinstance(test.operator, cst.And):
            return {**left_true, **right_true}, _common(left_false, right_false)
        return _common(left_true, right_true), {**left_false, **right_false}
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        path = dotted(test.left)
        if path is not None and isinstance(target.comparator, cst.Name) and target.comparator.value == "None":
            if isinstance(target.operator, cst.Is):
                return {path: (NOT_TENSOR, test.left)}, {}
            if isinstance(target.operator, cst.IsNot):
                return {}, {path: (NOT_TENSOR, test.left)}
        return {}, {}
    if isinstance(test, cst.Call) and test.args:
        tested = test.args[0].value
        path = dotted(tested)
        callee = qualname(test.func)
        if path is None:
            return {}, {}
        if callee in _TENSOR_PREDICATES:
            return {path: (TENSOR, tested)}, {path: (NOT_TENSOR, tested)}
        if callee == "isinstance" and len(test.args) == 2:
            return _isinstance(path, tested, test.args[1].value, qualname)
    return {}, {}


def _isinstance(
    path: str,
    tested: cst.BaseExpression,
    types: cst.BaseExpression,
    qualname: Callable[[cst.BaseExpression], Optional[str]],
) -> Tuple[Narrowing, Narrowing]:
    names = (
        [qualname(element.value) for element in types.elements] if isinstance(types, cst.Tuple) else [qualname(types)]
    )
    tensors = [name in api.TENSOR_TYPES or bool(name and name.endswith(".Tensor")) for name in names]
    plain = [name in _PLAIN_TYPES for name in names]
    if all(tensors):
        return {path: (TENSOR, tested)}, {path: (NOT_TENSOR, tested)}
    if any(tensors):
        return {}, {path: (NOT_TENSOR, tested)}
    if all(plain):
        return {path: (NOT_TENSOR, tested)}, {}
    if len(names) == 1 and names[0] is not None and top_level(names[0]) not in api.LIBRARY_ROOTS:
        return {path: (names[0], tested)}, {}  # an instance of a class of the program
    return {}, {}


def _common(first: Narrowing, second: Narrowing) -> Narrowing:
    """What both narrowings say (one of two conditions held)."""
    return {path: told for path, told in first.items() if path in second and second[path][0] == told[0]}
