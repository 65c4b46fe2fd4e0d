"""The torch functions the trace treats specially, grouped by what it does with them.

Keys are the exact objects ``__torch_function__`` receives (method descriptors of ``TensorBase``,
``torch`` builtins, and ``__get__``/``__set__`` method wrappers of tensor attributes), so the mode's
per-operation work is one dict lookup.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from gradlint.trace.results import EventKind

_TensorBase = torch._C.TensorBase


# Factories that make a parameter when called with ``requires_grad=True``.
FACTORY_NAMES = (
    "zeros",
    "ones",
    "full",
    "empty",
    "rand",
    "randn",
    "randint",
    "eye",
    "arange",
    "linspace",
    "logspace",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand_like",
    "randn_like",
    "randint_like",
    "tensor",
    "as_tensor",
    "asarray",
    "scalar_tensor",
    "empty_strided",
    "normal",
)
NEW_METHODS = ("new_zeros", "new_ones", "new_full", "new_empty", "new_tensor", "new")


def _original(function: Any) -> Any:
    """What a gradlint hook (``gradlint.trace.creation``) wraps: the object torch passes to function modes."""
    return getattr(function, "__wrapped__", function) if getattr(function, "gradlint_hook", False) else function


def _methods(*names: str) -> list[Any]:
    return [
        _original(getattr(_TensorBase, name, None) or getattr(torch.Tensor, name))
        for name in names
        if hasattr(_TensorBase, name) or hasattr(torch.Tensor, name)
    ]


def _functions(*names: str) -> list[Any]:
    return [_original(getattr(torch, name)) for name in names if hasattr(torch, name)]


def _getset(name: str, accessor: str) -> Any:
    return getattr(_TensorBase.__dict__[name], accessor)


@dataclass(frozen=True, eq=False)  # hashed by identity: mode handler tables are cached per instance
class OpTables:
    scalar: frozenset = field(default_factory=frozenset)  # tensor -> Python number(s)
    numpy: frozenset = field(default_factory=frozenset)  # tensor -> ndarray
    truth: frozenset = field(default_factory=frozenset)  # tensor -> Python bool (a branch)
    bool_result: frozenset = field(default_factory=frozenset)  # tensors -> Python bool (allclose, equal)
    construct: dict = field(default_factory=dict)  # constructor -> index of its data argument
    ranges: frozenset = field(default_factory=frozenset)  # linspace, logspace, arange
    factories: frozenset = field(default_factory=frozenset)  # may create parameters (requires_grad=True)
    casts: frozenset = field(default_factory=frozenset)  # may turn floats into integers
    indexing: frozenset = field(default_factory=frozenset)  # integer tensors used as indices here
    passive: frozenset = field(default_factory=frozenset)  # never a cut (metadata, fresh tensors)
    # Arguments read only for their shape, dtype or device: the position of the first one (and ``other=``).
    metadata_args: dict = field(default_factory=dict)
    data_get: Any = None
    data_set: Any = None
    requires_grad_set: Any = None
    requires_grad_method: Any = None
    grad_resets: frozenset = field(default_factory=frozenset)  # in-place zeroing (of gradients, maybe)
    detach_inplace: Any = None
    set_grad_enabled: Any = None


def build() -> OpTables:
    getsets = [value for value in vars(_TensorBase).values() if type(value).__name__ == "getset_descriptor"]
    accessors = [getattr(value, name) for value in getsets for name in ("__get__", "__set__")]
    return OpTables(
        scalar=frozenset(_methods("item", "tolist", "__float__", "__int__", "__index__", "__complex__")),
        numpy=frozenset(_methods("numpy", "__array__")),
        truth=frozenset(_methods("__bool__", "is_nonzero")),
        bool_result=frozenset(_functions("allclose", "equal") + _methods("allclose", "equal")),
        construct={
            **{f: 0 for f in _functions("tensor", "as_tensor", "asarray")},
            **{m: 1 for m in _methods("new_tensor")},
        },
        ranges=frozenset(_functions("linspace", "logspace", "arange")),
        factories=frozenset(_functions(*FACTORY_NAMES) + _methods(*NEW_METHODS)),
        casts=frozenset(_methods("long", "int", "short", "char", "byte", "to", "type")),
        indexing=frozenset(
            _methods(
                "__getitem__",
                "index_select",
                "gather",
                "take",
                "take_along_dim",
                "index_put_",
                "index_put",
                "scatter",
                "scatter_add",
                "index_add",
            )
            + _functions("index_select", "gather", "take", "take_along_dim")
        ),
        passive=frozenset(
            accessors
            + _functions(*FACTORY_NAMES)
            + _methods(*NEW_METHODS)
            + _methods(
                "__repr__", "__format__", "__str__", "__deepcopy__", "__reduce_ex__", "__setstate__", "register_hook"
            )
        ),
        metadata_args=dict.fromkeys(_methods("expand_as", "view_as", "reshape_as", "type_as", "resize_as_", "to"), 1),
        data_get=_getset("data", "__get__"),
        data_set=_getset("data", "__set__"),
        requires_grad_set=_getset("requires_grad", "__set__"),
        requires_grad_method=_TensorBase.requires_grad_,
        grad_resets=frozenset(_methods("zero_") + _functions("_foreach_zero_")),
        detach_inplace=_TensorBase.detach_,
        set_grad_enabled=torch._C._set_grad_enabled,
    )


@functools.cache
def tables() -> OpTables:
    """The tables, built once (after the first trace imported torch)."""
    return build()


_NAMES: dict[Any, str] = {}


def op_name(func: Callable[..., Any]) -> str:
    """A readable name: ``Tensor.detach``, ``torch.linspace``, ``Tensor.data`` ..."""
    found = _NAMES.get(func)
    if found is None:
        owner: Any = getattr(func, "__self__", None)
        name = getattr(func, "__name__", repr(func))
        if type(owner).__name__ == "getset_descriptor":
            found = f"Tensor.{owner.__name__}"
        elif getattr(func, "__qualname__", "").startswith(("TensorBase.", "Tensor.")):
            found = f"Tensor.{name}"
        elif getattr(func, "__module__", None) in ("torch", None) or owner is not None:
            found = f"torch.{name}"
        else:
            found = f"{func.__module__}.{getattr(func, '__qualname__', name)}"
        _NAMES[func] = found
    return found


_SHORT_NAMES: dict[Any, str] = {}


def short_name(func: Callable[..., Any]) -> str:
    """``op_name`` without its owner: ``detach``, ``linspace`` ..."""
    found = _SHORT_NAMES.get(func)
    if found is None:
        found = _SHORT_NAMES[func] = op_name(func).rsplit(".", 1)[-1]
    return found


_KINDS = {
    "detach": EventKind.DETACH,
    "detach_": EventKind.DETACH,
    "item": EventKind.SCALAR,
    "tolist": EventKind.SCALAR,
    "__float__": EventKind.SCALAR,
    "__int__": EventKind.SCALAR,
    "__index__": EventKind.SCALAR,
    "__complex__": EventKind.SCALAR,
    "numpy": EventKind.NUMPY,
    "__array__": EventKind.NUMPY,
    "data": EventKind.DATA,
    "tensor": EventKind.CONSTRUCT,
    "as_tensor": EventKind.CONSTRUCT,
    "asarray": EventKind.CONSTRUCT,
    "new_tensor": EventKind.CONSTRUCT,
    "linspace": EventKind.RANGE,
    "logspace": EventKind.RANGE,
    "arange": EventKind.RANGE,
    "__bool__": EventKind.BRANCH,
    "is_nonzero": EventKind.BRANCH,
    "allclose": EventKind.BRANCH,
    "equal": EventKind.BRANCH,
    "requires_grad": EventKind.REQUIRES_GRAD,
    "requires_grad_": EventKind.REQUIRES_GRAD,
}


def event_kind(func: Callable[..., Any]) -> EventKind:
    return _KINDS.get(short_name(func), EventKind.NON_DIFFERENTIABLE)
