"""Rebuilding nested facts without recursion: syms refer to references that hold syms, as deeply as code nests."""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple, TypeVar, cast

_Item = TypeVar("_Item")


def rebuilt(
    root: _Item,
    parts: Callable[[object], Sequence[object]],
    rebuild: Callable[[object], object],
    done: Dict[int, Tuple[object, object]],
) -> _Item:
    """``rebuild(root)``, after ``rebuild`` of everything ``root`` is made of (``parts``), however deeply nested.

    ``done`` maps the id of each item rebuilt so far to (the item, its rebuilt form); ``rebuild`` finds the
    rebuilt parts of an item there. An item shared by several others is rebuilt once; the originals stay in
    ``done``, so their ids are not reused.
    """
    pending: List[Tuple[object, bool]] = [(root, False)]
    while pending:
        item, expanded = pending.pop()
        if id(item) in done:
            continue
        below = parts(item)
        if below and not expanded:
            pending.append((item, True))
            pending.extend((part, False) for part in below if id(part) not in done)
        else:
            done[id(item)] = (item, rebuild(item))
    return cast(_Item, done[id(root)][1])  # ``rebuild`` keeps each item's type
