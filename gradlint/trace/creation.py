"""See parameters being made, frozen and copied, without a function mode: a few patched entry points.

A function mode sees every torch call, which costs on every operation; these wrappers cost only when the
program calls them, which it does a handful of times. Always installed (no mode sees them): ``nn.Parameter``
creation, its deep copy (a target network's copy of the online network) and ``Module.register_parameter``
(the attribute a module keeps it under). Without a mode (``factories=True``) also: the factories called with
``requires_grad=True``, ``Tensor.requires_grad_`` and the ``requires_grad`` setter.

Every patch is undone on exit, in reverse order.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import torch

from gradlint.trace.ops import FACTORY_NAMES, NEW_METHODS
from gradlint.trace.recorder import Recorder

_TensorBase = torch._C.TensorBase
_REQUIRES_GRAD = _TensorBase.__dict__["requires_grad"]


class CreationHooks:
    def __init__(self, recorder: Recorder, *, factories: bool):
        self.recorder = recorder
        self.factories = factories
        self._undo: list[Callable[[], None]] = []

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        had = name in vars(owner)
        saved = vars(owner).get(name)
        setattr(owner, name, replacement)
        self._undo.append(lambda: setattr(owner, name, saved) if had else delattr(owner, name))

    def __enter__(self) -> CreationHooks:
        recorder = self.recorder
        parameter = torch.nn.Parameter
        make_parameter = parameter.__new__
        copy_parameter = parameter.__deepcopy__
        register = torch.nn.Module.register_parameter

        def new_parameter(cls: type, data: Any = None, requires_grad: bool = True) -> Any:
            made: torch.nn.Parameter = make_parameter(cls, data, requires_grad)
            recorder.created_parameter(made, "Parameter", sys._getframe())
            return made

        def deepcopy_parameter(original: torch.Tensor, memo: dict) -> Any:
            copy = copy_parameter(original, memo)
            recorder.copied(copy, original)
            return copy

        def register_parameter(module: torch.nn.Module, name: str, param: Any) -> None:
            register(module, name, param)
            if isinstance(param, torch.Tensor):
                recorder.registered_parameter(module, name, param, sys._getframe())

        self._patch(parameter, "__new__", staticmethod(new_parameter))
        self._patch(parameter, "__deepcopy__", deepcopy_parameter)
        self._patch(torch.nn.Module, "register_parameter", register_parameter)
        if self.factories:
            self._patch_factories()
        return self

    def _patch_factories(self) -> None:
        recorder = self.recorder
        for name in FACTORY_NAMES:
            if hasattr(torch, name):
                self._patch(torch, name, _factory(getattr(torch, name), name, recorder))
        for name in NEW_METHODS:
            if hasattr(torch.Tensor, name):
                self._patch(torch.Tensor, name, _factory(getattr(torch.Tensor, name), name, recorder))
        switch = _TensorBase.requires_grad_

        def requires_grad_(tensor: torch.Tensor, requires_grad: bool = True) -> torch.Tensor:
            _set_requires_grad(
                recorder, tensor, requires_grad, "Tensor.requires_grad_", lambda: switch(tensor, requires_grad)
            )
            return tensor

        def set_requires_grad(tensor: torch.Tensor, value: bool) -> None:
            _set_requires_grad(
                recorder, tensor, value, "Tensor.requires_grad", lambda: _REQUIRES_GRAD.__set__(tensor, value)
            )

        self._patch(torch.Tensor, "requires_grad_", requires_grad_)
        self._patch(torch.Tensor, "requires_grad", property(_REQUIRES_GRAD.__get__, set_requires_grad))

    def __exit__(self, *exc_info: object) -> None:
        while self._undo:
            self._undo.pop()()


def _factory(original: Callable[..., Any], name: str, recorder: Recorder) -> Callable[..., Any]:
    def factory(*args: Any, **kwargs: Any) -> Any:
        made = original(*args, **kwargs)
        if kwargs.get("requires_grad") and isinstance(made, torch.Tensor):
            recorder.created_parameter(made, name, sys._getframe())
        return made

    # What gradlint.trace.ops unwraps (functools.wraps would cost more than the whole patching).
    factory.__wrapped__ = original  # type: ignore[attr-defined]
    factory.__name__ = factory.__qualname__ = name
    factory.gradlint_hook = True  # type: ignore[attr-defined]
    return factory


def _set_requires_grad(recorder: Recorder, tensor: torch.Tensor, flag: Any, op: str, call: Callable[[], Any]) -> None:
    start = sys._getframe(1)
    if not flag:
        recorder.switching_off(tensor, op, start)
    call()
    if flag:
        recorder.created_parameter(tensor, op.rsplit(".", 1)[-1], start)
