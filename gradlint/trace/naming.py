"""Readable names for parameters: the variable, attribute, keyword or key they were bound to.

Two sources, tried in order: the statement that created the tensor (following ``return`` into the
caller), and a scan of live frames' locals (attributes, module parameters, dict keys), used at
backward time for parameters created before the trace or in ways the statement does not name.
"""

from __future__ import annotations

import dataclasses
from types import FrameType, FunctionType, ModuleType
from typing import Any, Callable, Iterable, Optional

import torch

from gradlint.trace import source

_MAX_RETURN_HOPS = 4
_MAX_VISITS = 5000
_ATOMS = (int, float, complex, str, bytes, type(None))


def name_at_creation(
    frame: FrameType, op: str, next_user: Callable[[FrameType], Optional[FrameType]]
) -> tuple[Optional[str], FrameType]:
    """The name the tensor created by the call running in ``frame`` is bound to, and the frame binding it.

    A value returned from a helper is followed into the caller; without a name, the outermost frame the
    value was followed to is its creation site.
    """
    current, last = frame, frame
    for _ in range(_MAX_RETURN_HOPS):
        name, returned, receiver = source.binding_at(current, op)
        if op == "requires_grad" and receiver:  # x.requires_grad = True names x
            return receiver, current
        if name:
            return name, current
        if op == "requires_grad_" and not returned and receiver:
            return receiver, current
        caller = next_user(current) if returned else None
        if caller is None:
            break
        current, last, op = caller, caller, ""
    return None, last


# What the scan does with a value, decided once per type.
_SKIP, _TENSOR, _MODULE, _DICT, _SEQUENCE, _DATACLASS, _OBJECT = range(7)
_KINDS: dict[type, int] = {}
_KINDS_LIMIT = 10_000  # types made at run time come and go: forget them all past this many
_MAX_DEPTH = 3
_MAX_MEMBERS = 200


def _classify(cls: type) -> int:
    if issubclass(cls, torch.Tensor):
        return _TENSOR
    if issubclass(cls, torch.nn.Module):
        return _MODULE
    if issubclass(cls, dict):
        return _DICT
    if issubclass(cls, (list, tuple)):
        return _SEQUENCE
    if issubclass(cls, (type, ModuleType, FunctionType)):
        return _SKIP
    if dataclasses.is_dataclass(cls):
        return _DATACLASS
    return _OBJECT  # attributes, if the instance has a ``__dict__``


class _Scan:
    def __init__(self, wanted: Callable[[torch.Tensor], bool]):
        self.wanted = wanted
        self.found: dict[int, tuple[str, torch.Tensor]] = {}
        self.seen: set[int] = set()

    def visit(self, value: Any, name: str, depth: int) -> None:
        """``value`` (not an atom: callers leave those out) at ``depth``, then what it holds, depth first."""
        seen = self.seen
        key = id(value)
        if key in seen or len(seen) > _MAX_VISITS:
            return
        seen.add(key)
        kind = _KINDS.get(type(value))
        if kind is None:
            if len(_KINDS) > _KINDS_LIMIT:
                _KINDS.clear()
            kind = _KINDS[type(value)] = _classify(type(value))
        if kind == _TENSOR:
            if self.wanted(value):
                self.found[key] = (name, value)
            return
        if depth >= _MAX_DEPTH or kind == _SKIP:
            return
        prefix = "" if name == "self" else name + "."
        if kind == _MODULE:
            for child_name, parameter in value.named_parameters():
                self.visit(parameter, prefix + child_name, depth + 1)
        elif kind == _DICT:
            for child_name, item in list(value.items())[:_MAX_MEMBERS]:
                if isinstance(child_name, str) and not isinstance(item, _ATOMS):
                    self.visit(
                        item,
                        child_name if name == "self" or child_name.isidentifier() else f"{name}[{child_name!r}]",
                        depth + 1,
                    )
        elif kind == _SEQUENCE:
            for index, item in enumerate(value[:_MAX_MEMBERS]):
                if not isinstance(item, _ATOMS):
                    self.visit(item, f"{name}[{index}]", depth + 1)
        elif kind == _DATACLASS:
            for field in dataclasses.fields(value):
                item = getattr(value, field.name, None)
                if not isinstance(item, _ATOMS):
                    self.visit(item, prefix + field.name, depth + 1)
        elif hasattr(value, "__dict__"):
            for child_name, item in list(vars(value).items())[:_MAX_MEMBERS]:
                if not child_name.startswith("__") and not isinstance(item, _ATOMS):
                    self.visit(item, prefix + child_name, depth + 1)


def tensors_in_frames(
    frames: Iterable[FrameType], wanted: Callable[[torch.Tensor], bool]
) -> dict[int, tuple[str, torch.Tensor]]:
    """The ``wanted`` tensors reachable from the frames' locals (innermost frame first), by id, with a name.

    Looks through module parameters, dataclass fields, object attributes, dicts and sequences, three
    levels deep; the first name found wins.
    """
    scan = _Scan(wanted)
    for frame in frames:
        for name, value in list(frame.f_locals.items()):
            if isinstance(value, _ATOMS):
                continue
            try:
                scan.visit(value, name, 0)
            except Exception:  # noqa: BLE001 - user objects may fail introspection; names are best effort
                continue
    return scan.found
