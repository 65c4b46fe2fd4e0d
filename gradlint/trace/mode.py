"""The TorchFunctionMode that watches a program for operations that cut gradients.

Per operation the mode does one dict lookup on the function; operations without a handler only get a
``requires_grad`` check on their tensor result, and their arguments are looked at only when that
result carries no gradient. Everything that records goes to ``gradlint.trace.recorder``.
"""

from __future__ import annotations

import functools
import sys
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional

import torch
from torch.overrides import TorchFunctionMode

from gradlint.trace.marks import Marks
from gradlint.trace.ops import OpTables, event_kind, op_name, short_name
from gradlint.trace.recorder import Recorder, Taint
from gradlint.trace.results import EventKind

Tensor = torch.Tensor
Handler = Callable[["TraceMode", Any, tuple, Mapping[str, Any]], Any]
_NO_KWARGS: Mapping[str, Any] = MappingProxyType({})
_SEQUENCES = (list, tuple)


def _tensors(values: Any, depth: int = 0) -> list[Tensor]:
    """Tensors among ``values``, looking into nested lists and tuples (data of ``torch.tensor``)."""
    found = []
    for value in values:
        if isinstance(value, Tensor):
            found.append(value)
        elif depth < 3 and isinstance(value, _SEQUENCES):
            found.extend(_tensors(value, depth + 1))
    return found


def _any_grad(values: Any) -> bool:
    """Whether a tensor among ``values`` (or one level into lists and tuples) requires grad."""
    for value in values:
        if isinstance(value, Tensor):
            if value.requires_grad:
                return True
        elif isinstance(value, _SEQUENCES):
            for item in value:
                if isinstance(item, Tensor) and item.requires_grad:
                    return True
    return False


def _any_marked(values: Any, taints: Marks[Taint], depth: int) -> bool:
    """Whether a tensor among ``values`` (as deep as ``_tensors`` looks) requires grad or may be tainted."""
    for value in values:
        if isinstance(value, Tensor):
            if value.requires_grad or id(value) in taints:
                return True
        elif depth < 3 and isinstance(value, _SEQUENCES) and _any_marked(value, taints, depth + 1):
            return True
    return False


def _is_float(tensor: Tensor) -> bool:
    return tensor.is_floating_point() or tensor.is_complex()


@functools.cache
def _handler_table(mode_class: type[TraceMode], tables: OpTables) -> dict[Any, Handler]:
    """The handler of each specially treated function, built once per mode class and tables."""
    handlers: dict[Any, Handler] = {}
    groups: list[tuple[Any, Handler]] = [
        (tables.factories, mode_class._factory),
        (tables.construct, mode_class._construct),
        (tables.ranges, mode_class._range),
        (tables.scalar, mode_class._scalar),
        (tables.numpy, mode_class._numpy),
        (tables.truth, mode_class._truth),
        (tables.bool_result, mode_class._bool_result),
        (tables.grad_resets, mode_class._grad_reset),
    ]
    for functions, handler in groups:
        handlers.update(dict.fromkeys(functions, handler))
    handlers[tables.data_get] = mode_class._data_get
    handlers[tables.data_set] = mode_class._data_set
    handlers[tables.requires_grad_set] = mode_class._requires_grad_set
    handlers[tables.requires_grad_method] = mode_class._requires_grad_method
    handlers[tables.detach_inplace] = mode_class._detach_inplace
    handlers[tables.set_grad_enabled] = mode_class._set_grad_enabled
    return handlers


class TraceMode(TorchFunctionMode):
    def __init__(self, recorder: Recorder, tables: OpTables):
        super().__init__()
        self.recorder = recorder
        self.tables = tables
        self._handler = _handler_table(type(self), tables).get  # type: ignore[arg-type]  # mypy: type(self) unhashable

    def __torch_function__(self, func, types, args=(), kwargs=None):
        handler = self._handler(func)
        if handler is not None:
            return handler(self, func, args, kwargs or _NO_KWARGS)
        result = func(*args, **kwargs) if kwargs else func(*args)
        if isinstance(result, Tensor) and not result.requires_grad:
            # Most such results are computed from constants: only look further when an argument is differentiable,
            # tainted, or a no-grad region is open.
            recorder = self.recorder
            taints = recorder.taints
            if taints:
                concerned = _any_marked((*args, *kwargs.values()) if kwargs else args, taints, 0)
            else:
                concerned = _any_grad(args) or bool(kwargs) and _any_grad(kwargs.values())
            if concerned or recorder.region is not None:
                self._without_grad(func, args, kwargs or _NO_KWARGS, result)
        return result

    # ---- results that carry no gradient ----------------------------------------------------------

    def _without_grad(self, func: Any, args: tuple, kwargs: Mapping[str, Any], result: Tensor) -> None:
        """A result without gradient from differentiable (or tainted, or region-computed) arguments."""
        recorder = self.recorder
        taints = recorder.taints
        region = recorder.region
        if func in self.tables.passive:
            return
        sources: list[object] = []  # differentiable tensors, and origins of those behind region values
        taint: Optional[Taint] = None
        taint_is_data = False
        for position, tensor in enumerate(_tensors(self._value_arguments(func, args, kwargs))):
            if tensor.requires_grad:
                sources.append(tensor)
                continue
            if region is not None:
                behind = recorder.region_sources(tensor)
                if behind:
                    sources.extend(behind)
                    continue
            if taint is None and id(tensor) in taints:
                taint = taints.lookup(tensor)
                taint_is_data = position == 0
        if not sources and taint is None:
            return
        # The frame is passed straight on: a local holding it would keep this frame (and its tensors) alive.
        if not torch.is_grad_enabled():
            if sources:
                recorder.region_use(result, sources, sys._getframe())
            return
        if sources:
            if _is_float(result):
                record = recorder.event(event_kind(func), op_name(func), sources, sys._getframe())
                recorder.mark_severed(result, record)
            else:
                kind = "cast" if func in self.tables.casts else "compare"
                recorder.taint(result, kind, sources, op_name(func), sys._getframe())
        elif taint is not None:  # always, after the return above
            if not _is_float(result):
                taints.mark(result, taint)
            elif taint.kind == "cast" and (taint_is_data or func not in self.tables.indexing):
                recorder.cast_reentered(taint, sys._getframe())

    def _value_arguments(self, func: Any, args: tuple, kwargs: Mapping[str, Any]) -> tuple:
        """The arguments whose values ``func`` reads: not those it reads only for shape, dtype or device."""
        first_metadata = self.tables.metadata_args.get(func)
        if first_metadata is not None:
            return (*args[:first_metadata], *(value for key, value in kwargs.items() if key != "other"))
        return (*args, *kwargs.values()) if kwargs else args

    # ---- handlers ---------------------------------------------------------------------------------

    def _created(self, func: Any, result: Any) -> None:
        """A factory called with ``requires_grad=True`` returned ``result``."""
        if isinstance(result, Tensor):
            self.recorder.created_parameter(result, short_name(func), sys._getframe())

    def _factory(self, func, args, kwargs):
        result = func(*args, **kwargs)
        if kwargs.get("requires_grad"):
            self._created(func, result)
        return result

    def _construct(self, func, args, kwargs):
        result = func(*args, **kwargs)
        if not (isinstance(result, Tensor) and result.requires_grad):  # as_tensor(t) keeps t's graph
            position = self.tables.construct[func]
            data = args[position] if len(args) > position else kwargs.get("data")
            sources = [t for t in _tensors((data,)) if t.requires_grad]
            if sources:
                record = self.recorder.event(EventKind.CONSTRUCT, op_name(func), sources, sys._getframe())
                self.recorder.mark_severed(result, record)
        if kwargs.get("requires_grad"):
            self._created(func, result)
        return result

    def _range(self, func, args, kwargs):
        sources = [t for t in _tensors((*args, *kwargs.values())) if t.requires_grad]
        if sources:  # recorded first: arange raises on such endpoints
            self.recorder.event(EventKind.RANGE, op_name(func), sources, sys._getframe())
        result = func(*args, **kwargs)
        if kwargs.get("requires_grad"):
            self._created(func, result)
        return result

    def _scalar(self, func, args, kwargs):
        tensor = args[0] if args else None
        if isinstance(tensor, Tensor) and tensor.requires_grad:
            self.recorder.event(event_kind(func), op_name(func), (tensor,), sys._getframe())
        return func(*args, **kwargs)

    def _numpy(self, func, args, kwargs):
        result = self._scalar(func, args, kwargs)
        if args and isinstance(args[0], Tensor):
            self.recorder.numpy_produced(args[0], result)
        return result

    def _truth(self, func, args, kwargs):
        if args and isinstance(args[0], Tensor):
            self.recorder.branch(args[:1], op_name(func), sys._getframe())
        return func(*args, **kwargs)

    def _bool_result(self, func, args, kwargs):
        self.recorder.branch(_tensors((*args, *kwargs.values())), op_name(func), sys._getframe())
        return func(*args, **kwargs)

    def _data_get(self, func, args, kwargs):
        result = func(*args, **kwargs)
        tensor = args[0]
        if isinstance(tensor, Tensor) and tensor.requires_grad:
            record = self.recorder.event(EventKind.DATA, "Tensor.data", (tensor,), sys._getframe())
            self.recorder.mark_severed(result, record)
        return result

    def _data_set(self, func, args, kwargs):
        sources = [t for t in args[:2] if isinstance(t, Tensor) and t.requires_grad]
        if sources:
            self.recorder.event(EventKind.DATA, "Tensor.data", sources, sys._getframe())
        return func(*args, **kwargs)

    def _set_requires_grad(self, func: Callable[..., Any], tensor: Any, flag: bool, call: Callable[[], Any]) -> Any:
        if not isinstance(tensor, Tensor):
            return call()
        if not flag:
            self.recorder.switching_off(tensor, op_name(func), sys._getframe())
        result = call()
        if flag:
            self.recorder.created_parameter(tensor, short_name(func), sys._getframe())
        return result

    def _requires_grad_set(self, func, args, kwargs):
        return self._set_requires_grad(func, args[0], bool(args[1]), lambda: func(*args, **kwargs))

    def _requires_grad_method(self, func, args, kwargs):
        flag = bool(args[1]) if len(args) > 1 else bool(kwargs.get("requires_grad", True))
        return self._set_requires_grad(func, args[0], flag, lambda: func(*args, **kwargs))

    def _detach_inplace(self, func, args, kwargs):
        if isinstance(args[0], Tensor) and args[0].requires_grad:
            self.recorder.event(EventKind.DETACH, op_name(func), (args[0],), sys._getframe())
        return func(*args, **kwargs)

    def _grad_reset(self, func, args, kwargs):
        target = args[0] if args else kwargs.get("self")
        self.recorder.grads_changing(target if isinstance(target, (list, tuple)) else (target,))
        return func(*args, **kwargs)

    def _set_grad_enabled(self, func, args, kwargs):
        before = torch.is_grad_enabled()
        result = func(*args, **kwargs)
        self.recorder.grad_mode_changed(before, torch.is_grad_enabled(), sys._getframe())
        return result


class DetailMode(TraceMode):
    """Also records, per operation, the forward site of each graph node and identically zero values."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = TraceMode.__torch_function__(self, func, types, args, kwargs)
        detail = self.recorder.detail
        if isinstance(result, Tensor) and detail is not None:
            detail.note_output(func, args, kwargs or _NO_KWARGS, result, sys._getframe())
        return result


def watch_from_numpy(original: Callable[[Any], Tensor], recorder: Recorder) -> Callable[..., Tensor]:
    """``torch.from_numpy`` bypasses ``__torch_function__``; this wrapper lets the trace see it."""

    def from_numpy(array: Any) -> Tensor:
        result = original(array)
        recorder.numpy_reentered(array, sys._getframe())
        if recorder.detail is not None:
            recorder.detail.note_output(original, (array,), {}, result, sys._getframe())
        return result

    from_numpy.__wrapped__ = original  # type: ignore[attr-defined]
    return from_numpy
