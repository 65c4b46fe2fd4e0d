"""Values attached to live objects (tensors, arrays) by identity, dropped as soon as the object is freed.

The trace never writes to the user's tensors: a taint, a zero origin or a severed-value key lives in
one of these maps instead of the tensor's ``__dict__``. A ``Marks`` is a dict (id -> (weak reference,
value)) so that testing it for emptiness, on the hot path, costs nothing.
"""

from __future__ import annotations

import weakref
from typing import Generic, Iterator, Optional, TypeVar

Value = TypeVar("Value")


class Marks(dict, Generic[Value]):
    def lookup(self, target: object) -> Optional[Value]:
        entry = dict.get(self, id(target))
        return entry[1] if entry is not None and entry[0]() is target else None

    def mark(self, target: object, value: Value) -> None:
        key, owner = id(target), weakref.ref(self)

        def forget(reference: weakref.ref) -> None:
            marks = owner()
            if marks is not None and dict.get(marks, key, (None,))[0] is reference:
                del marks[key]

        self[key] = (weakref.ref(target, forget), value)

    def unmark(self, target: object) -> None:
        if self.lookup(target) is not None:
            del self[id(target)]

    def live_values(self) -> Iterator[Value]:
        """Values of the objects still alive."""
        return (value for reference, value in list(dict.values(self)) if reference() is not None)
