"""What a function's docstring says its parameters are: scientific code often documents types instead of
annotating them (``pos (torch.Tensor): positions``, ``pos : Tensor of shape (N, 3)``, ``:type pos: Tensor``).

A parameter documented as a tensor is evidence like an annotation: a caller may hand it a tensor that
requires grad. Only the parameters the function has are looked up, and only the type part of each entry.
"""

from __future__ import annotations

import re
from typing import AbstractSet, FrozenSet, Iterator, Tuple

# ``name (type): text`` (Google), ``name : type`` (NumPy), ``:type name: type`` and ``:param type name:`` (Sphinx).
_ENTRIES = (
    re.compile(r"^\s*\*{0,2}(?P<name>\w+)\s*\((?P<type>[^()]*(?:\([^()]*\)[^()]*)*)\)\s*:"),
    re.compile(r"^\s*(?P<name>\w+)\s+:\s*(?P<type>\S.*)$"),
    re.compile(r"^\s*:type\s+(?P<name>\w+)\s*:\s*(?P<type>.+)$"),
    re.compile(r"^\s*:param\s+(?P<type>[^:]+?)\s+(?P<name>\w+)\s*:"),
)
_TENSOR_TYPE = re.compile(r"tensor|\bParameter\b", re.IGNORECASE)


def documented_tensors(docstring: str, parameters: AbstractSet[str]) -> FrozenSet[str]:
    """The ``parameters`` that ``docstring`` documents with a tensor type."""
    return frozenset(
        name for name, kind in _entries(docstring) if name in parameters and _TENSOR_TYPE.search(kind) is not None
    )


def _entries(docstring: str) -> Iterator[Tuple[str, str]]:
    for line in docstring.splitlines():
        for pattern in _ENTRIES:
            match = pattern.match(line)
            if match is not None:
                yield match.group("name"), match.group("type")
                break
