"""Questions about the syntax around a node that several rules ask: what a statement reads, its sums, bindings."""

from __future__ import annotations

from typing import Callable, Iterator, Optional

from gradlint import lazy_cst as cst
from gradlint.analysis.nodes import children


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and everything under it."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(children(current))


def contains(node: cst.CSTNode, target: cst.CSTNode) -> bool:
    return any(current is target for current in walk(node))


def is_method_call(node: cst.CSTNode, *names: str) -> bool:
    """``node`` is a call of a method named one of ``names`` (``x.detach()``)."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in names


def binding(name: str, root: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """The value of the last simple assignment ``name = ...`` under ``root`` (None when there is none)."""
    found = None
    for node in walk(root):
        if isinstance(node, cst.Assign) and any(
            isinstance(target.target, cst.Name) and target.target.value == name for target in node.targets
        ):
            found = node.value
    return found


def sums(node: cst.CSTNode) -> Iterator[list]:
    """The terms of every outermost chain of ``+`` and ``-`` in ``node``, parentheses looked through."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.BinaryOperation) and isinstance(current.operator, (cst.Add, cst.Subtract)):
            terms = list(terms_of(current))
            yield terms
            stack.extend(terms)
        else:
            stack.extend(children(current))


def terms_of(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
        yield from terms_of(node.left)
        yield from terms_of(node.right)
    else:
        yield node


def variables_read(node: cst.CSTNode, qualname: Callable[[cst.BaseExpression], Optional[str]]) -> set:
    """The names of the values ``node`` reads (not functions, modules or attribute names)."""
    found = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.add(current.value)
        elif isinstance(current, cst.Attribute):
            if qualname(current) is None:  # ``self.scale``, ``x.mT``; not ``torch.pi``
                dotted = dotted_name(current)
                if dotted is not None:
                    found.add(dotted)  # ``self.bias`` and ``self.weight`` are different values
                else:
                    stack.append(current.value)
        elif isinstance(current, cst.Call):
            stack.extend(arg.value for arg in current.args)
            if isinstance(current.func, cst.Attribute) and qualname(current.func) is None:
                stack.append(current.func.value)  # a method's receiver
        else:
            stack.extend(children(current))
    return found


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """``self.scale`` for a chain of attributes on a name, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base is not None else None
    return None
