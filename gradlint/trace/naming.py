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


def name_at_creation(frame: FrameType, op: str,
                     next_user: Callable[[FrameType], Optional[FrameType]]) -> tuple[Optional[str], FrameType]:
    """The name the tensor created by the call running in ``frame`` is bound to, and the frame binding it.

    A value returned from a helper is followed into the caller; without a name, the outermost frame the
    value was followed to is its creation site.
    """
    current, last = frame, frame
    for _ in range(_MAX_RETURN_HOPS):
        name, returned, receiver = source.binding_at(current, op)
        if name:
            return name, current
        if op == "requires_grad_" and not returned and receiver:
            return receiver, current
        caller = next_user(current) if returned else None
        if caller is None:
            break
        current, last, op = caller, caller, ""
    return None, last


def _is_plain_object(value: Any) -> bool:
    return hasattr(value, "__dict__") and not isinstance(value, (type, ModuleType, FunctionType, torch.Tensor))


class _Scan:
    def __init__(self, wanted: Callable[[torch.Tensor], bool]):
        self.wanted = wanted
        self.found: dict[int, tuple[str, torch.Tensor]] = {}
        self.seen: set[int] = set()

    def visit(self, value: Any, name: str, depth: int) -> None:
        if isinstance(value, _ATOMS) or id(value) in self.seen or len(self.seen) > _MAX_VISITS:
            return
        self.seen.add(id(value))
        if isinstance(value, torch.Tensor):
            if self.wanted(value):
                self.found[id(value)] = (name, value)
            return
        if depth >= 3:
            return
        prefix = "" if name == "self" else name + "."
        if isinstance(value, torch.nn.Module):
            for child_name, parameter in value.named_parameters():
                self.visit(parameter, prefix + child_name, depth + 1)
        elif isinstance(value, dict):
            for key, item in list(value.items())[:200]:
                if isinstance(key, str):
                    self.visit(item, key if name == "self" or key.isidentifier() else f"{name}[{key!r}]",
                               depth + 1)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value[:200]):
                self.visit(item, f"{name}[{index}]", depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for item in dataclasses.fields(value):
                self.visit(getattr(value, item.name, None), prefix + item.name, depth + 1)
        elif _is_plain_object(value):
            for key, item in list(vars(value).items())[:200]:
                if not key.startswith("__"):
                    self.visit(item, prefix + key, depth + 1)


def tensors_in_frames(frames: Iterable[FrameType],
                      wanted: Callable[[torch.Tensor], bool]) -> dict[int, tuple[str, torch.Tensor]]:
    """The ``wanted`` tensors reachable from the frames' locals (innermost frame first), by id, with a name.

    Looks through module parameters, dataclass fields, object attributes, dicts and sequences, three
    levels deep; the first name found wins.
    """
    scan = _Scan(wanted)
    for frame in frames:
        for name, value in list(frame.f_locals.items()):
            try:
                scan.visit(value, name, 0)
            except Exception:  # noqa: BLE001 - user objects may fail introspection; names are best effort
                continue
    return scan.found
