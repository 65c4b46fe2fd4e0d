"""Walking syntax trees quickly: libcst's ``node.children`` builds its list with a visitor, which costs about ten
times reading the node's fields, and the analysis walks every function body more than once. Whitespace, comments
and punctuation are left out of the walk: they are most of a tree's nodes (about 60% in real code) and no
analysis looks at them."""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterator, Optional, Tuple

from gradlint import lazy_cst as cst

_FIELDS: Dict[type, Tuple[str, ...]] = {}
_IS_NODE: Dict[type, bool] = {}  # isinstance against libcst's abstract base class is slow; a type's answer is not
_LAYOUT_NAMES = (
    "BaseParenthesizableWhitespace",
    "TrailingWhitespace",
    "EmptyLine",
    "Newline",
    "Comment",
    "Comma",
    "Dot",
    "Semicolon",
    "Colon",
    "AssignEqual",
    "LeftParen",
    "RightParen",
    "LeftSquareBracket",
    "RightSquareBracket",
    "LeftCurlyBrace",
    "RightCurlyBrace",
)


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The child nodes of ``node`` that carry meaning (libcst's, without whitespace, comments and punctuation)."""
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(field.name for field in dataclasses.fields(node))
    for name in names:
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            for item in value:
                if _is_node(type(item)):
                    yield item
        elif _is_node(kind):
            yield value


def _is_node(kind: type) -> bool:
    answer = _IS_NODE.get(kind)
    if answer is None:
        layout = tuple(getattr(cst, name) for name in _LAYOUT_NAMES)
        answer = _IS_NODE[kind] = issubclass(kind, cst.CSTNode) and not issubclass(kind, layout)
    return answer


def constant_key(node: Optional[cst.CSTNode]) -> Optional[str]:
    """The string a key written as a literal (``"adc"``) stands for, else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None
