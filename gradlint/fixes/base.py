"""What every fix kind shares: the offer a rule makes at a node, and how an offer becomes text edits.

A fix kind is a small transformer of the node a rule reports: it builds the replacement from the node's own
children (``with_changes``), so the code inside keeps its spacing and comments. It runs while the analysis is
at the node, where it knows which values are tensors and which were already cut, and it offers nothing when
it is not sure the result runs and computes the same values. Finishing the file turns the offer into an
:class:`~gradlint.findings.Autofix`, text edits at the node's position.
"""

from __future__ import annotations

import functools
import inspect
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, ClassVar, Dict, Iterator, List, Optional, Sequence, Tuple

from gradlint import lazy_cst as cst
from gradlint.analysis.values import MEDIUM, CandidateMark, Value
from gradlint.findings import Autofix, Edit, Location

if TYPE_CHECKING:
    from gradlint.analysis.context import Context

# What an offer becomes where the solve finds that the cut value does not feed computation.
KEEP, DROP, UNSAFE = "", "drop", "unsafe"


@dataclass(frozen=True)
class Offer:
    """A fix a rule offers for the node it reported: replace the node with ``replacement``."""

    node: cst.CSTNode
    replacement: cst.BaseExpression
    title: str
    safe: bool
    outside_computation: str = KEEP  # KEEP, DROP or UNSAFE


class FixKind:
    """One kind of repair; subclasses build the replacement in ``offer`` (which returns None when unsure).

    A subclass's docstring is its documentation: a first line saying what it rewrites, then a ``Fix safety:``
    section that the rule pages show.
    """

    title: ClassVar[str]
    safe: ClassVar[bool]
    # ``offer(..., ctx)``: the arguments a rule has for this kind (a call site, a node), then the rule's context.
    offer: Callable[..., Optional[Offer]]

    @classmethod
    def documentation(cls) -> Tuple[str, str]:
        """What the fix rewrites (the docstring's first line), and its safety (the ``Fix safety:`` section)."""
        summary, _, safety = inspect.cleandoc(cls.__doc__ or "").partition("Fix safety:")
        return summary.strip(), inspect.cleandoc(safety)

    def make(
        self,
        node: cst.CSTNode,
        replacement: cst.BaseExpression,
        parent: Optional[cst.CSTNode],
        *,
        title: Optional[str] = None,
        safe: Optional[bool] = None,
        outside_computation: str = KEEP,
    ) -> Offer:
        if getattr(node, "lpar", None) and replacement.lpar == node.lpar:
            replacement = bare(replacement)  # the original's parentheses stay in the text around the edit
        return Offer(
            node,
            parenthesized(replacement, node, parent),
            title or self.title,
            self.safe if safe is None else safe,
            outside_computation,
        )


def autofix(offer: Offer, location: Location, tree: cst.Module, first_line: str) -> Optional[Autofix]:
    """The offer as edits at ``location`` (the reported node's range, parentheses excluded; ``first_line`` is
    the text of its first line), or None when the replacement would drop or repeat a comment of the original."""
    if comments(offer.replacement) != comments(bare(offer.node)):
        return None
    from libcst._nodes.internal import CodegenState

    state = CodegenState(default_indent=tree.default_indent, default_newline=tree.default_newline)
    # Lines the replacement breaks inside brackets are indented like the line it starts on.
    state.indent_tokens = [first_line[: len(first_line) - len(first_line.lstrip())]]
    offer.replacement._codegen(state)
    return Autofix(offer.title, (Edit(location, "".join(state.tokens)),), offer.safe)


def for_use(fix: Optional[Autofix], outside_computation: str, computation: bool) -> Optional[Autofix]:
    """The fix as it holds where the cut value does (``computation``) or does not feed computation."""
    if fix is None or computation or outside_computation == KEEP:
        return fix
    return None if outside_computation == DROP else replace(fix, safe=False)


def bare(node: cst.CSTNode) -> cst.CSTNode:
    """``node`` without its own parentheses (which the reported range leaves out)."""
    return node.with_changes(lpar=[], rpar=[]) if getattr(node, "lpar", None) else node


def comments(node: object) -> Counter:
    """How often each comment occurs in ``node`` (which may be ``MaybeSentinel.DEFAULT``: none)."""
    found: Counter = Counter()
    pending: List[cst.CSTNode] = [node] if isinstance(node, cst.CSTNode) else []
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Comment):
            found[current.value] += 1
        pending.extend(current.children)
    return found


# ------------------------------------------------------------------------------------------- what values are
def is_tensor(value: Value, ctx: Context) -> bool:
    """Known from this file to be a tensor that carries a gradient and was not cut on the way: not a Python
    number, a container, a module or an instance of another class."""
    return (
        ctx.local_grade(value) >= MEDIUM
        and not _cut(value)
        and value.items is None
        and value.cls is None
        and not value.integer
        and not value.module_instance
    )


def is_uncut(value: Value) -> bool:
    """No cut the file reported lies on the way to this value."""
    return not _cut(value)


def _cut(value: Value) -> bool:
    return any(isinstance(mark, CandidateMark) for mark in value.marks)


# --------------------------------------------------------------------------------------------- call shapes
def keyword_arguments(call: cst.Call, allowed: Sequence[str]) -> Optional[List[cst.Arg]]:
    """The keyword arguments of ``call`` when every one is in ``allowed`` and none is starred, else None."""
    found = [arg for arg in call.args if arg.keyword is not None or arg.star]
    if any(arg.star or arg.keyword.value not in allowed for arg in found):
        return None
    return found


def positional(call: cst.Call) -> List[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


def argument(call: cst.Call, position: int, keyword: str) -> Optional[cst.Arg]:
    plain = positional(call)
    if position < len(plain):
        return plain[position]
    return next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value == keyword), None)


def arguments_list(args: Sequence[cst.Arg]) -> List[cst.Arg]:
    """``args`` with commas between them; the last one's own comma is dropped unless a comment follows it."""
    result = []
    for position, arg in enumerate(args):
        if position == len(args) - 1:
            result.append(arg if comments(arg.comma) else arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        elif arg.comma is cst.MaybeSentinel.DEFAULT:
            result.append(arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
        else:
            result.append(arg)
    return result


def keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    """``name=value``, spaced as keyword arguments are."""
    no_space = cst.SimpleWhitespace("")
    return cst.Arg(value=value, keyword=cst.Name(name), equal=cst.AssignEqual(no_space, no_space))


# ------------------------------------------------------------------------------------------- parentheses
_UNARY_PRECEDENCE = 10


@functools.lru_cache(maxsize=None)
def _binary_precedence() -> Dict[type, int]:
    """Binding strength of binary operators, as in the language reference (higher binds tighter)."""
    return {
        cst.BitOr: 4,
        cst.BitXor: 5,
        cst.BitAnd: 6,
        cst.LeftShift: 7,
        cst.RightShift: 7,
        cst.Add: 8,
        cst.Subtract: 8,
        cst.Multiply: 9,
        cst.Divide: 9,
        cst.FloorDivide: 9,
        cst.Modulo: 9,
        cst.MatrixMultiply: 9,
        cst.Power: 11,
    }


@functools.lru_cache(maxsize=None)
def _atoms() -> Tuple[type, ...]:
    return (
        cst.Name,
        cst.Attribute,
        cst.Call,
        cst.Subscript,
        cst.Integer,
        cst.Float,
        cst.Imaginary,
        cst.SimpleString,
        cst.ConcatenatedString,
        cst.FormattedString,
        cst.List,
        cst.Tuple,
        cst.Dict,
        cst.Set,
        cst.ListComp,
        cst.SetComp,
        cst.DictComp,
        cst.GeneratorExp,
        cst.Ellipsis,
    )


@functools.lru_cache(maxsize=None)
def _open_places() -> Tuple[type, ...]:
    """Places where any expression stands without parentheses."""
    return (
        cst.Arg,
        cst.Element,
        cst.DictElement,
        cst.Assign,
        cst.AnnAssign,
        cst.AugAssign,
        cst.Return,
        cst.Expr,
        cst.Index,
        cst.SubscriptElement,
    )


def precedence(node: cst.BaseExpression) -> int:
    if isinstance(node, _atoms()) or node.lpar:
        return 20
    if isinstance(node, cst.BinaryOperation):
        return _binary_precedence()[type(node.operator)]
    if isinstance(node, cst.UnaryOperation):
        return 3 if isinstance(node.operator, cst.Not) else _UNARY_PRECEDENCE
    if isinstance(node, cst.Await):
        return 12
    if isinstance(node, cst.Comparison):
        return 3
    return 0  # boolean operations, conditional expressions, lambdas, named expressions


def parenthesized(
    replacement: cst.BaseExpression, original: cst.CSTNode, parent: Optional[cst.CSTNode]
) -> cst.BaseExpression:
    """``replacement`` wrapped in parentheses when it would not bind as ``original`` did in ``parent``."""
    if getattr(original, "lpar", None) or precedence(replacement) == 20:
        return replacement  # the original's own parentheses stay in the text around the edit
    if isinstance(parent, _open_places()) and not isinstance(replacement, cst.NamedExpr):
        return replacement
    if isinstance(parent, cst.BinaryOperation):
        outer = _binary_precedence()[type(parent.operator)]
        inner = precedence(replacement)
        left = parent.left is original
        power = isinstance(parent.operator, cst.Power)
        if inner > outer or (inner == outer and (left != power)):
            return replacement
    elif isinstance(parent, cst.UnaryOperation) and precedence(replacement) > _UNARY_PRECEDENCE:
        return replacement
    return wrap(replacement)


def wrap(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def operand(node: cst.BaseExpression, outer: type, left: bool) -> cst.BaseExpression:
    """``node`` as the ``left`` or right operand of a new binary operation with operator ``outer``."""
    inner = precedence(node)
    strength = _binary_precedence()[outer]
    if inner > strength or (inner == strength and left and outer is not cst.Power):
        return node
    return wrap(node)


def parent_of(root: Optional[cst.CSTNode], node: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The node whose child ``node`` is, searching the tree under ``root`` (a statement: small and cheap)."""
    if root is None:
        return None
    for parent, child in _edges(root):
        if child is node:
            return parent
    return None


def _edges(root: cst.CSTNode) -> Iterator[tuple]:
    pending = [root]
    while pending:
        current = pending.pop()
        for child in current.children:
            yield current, child
            pending.append(child)
