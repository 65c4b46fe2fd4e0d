"""Every backward pass, seen where torch hands it to its autograd engine.

``loss.backward()``, ``torch.autograd.backward`` and ``torch.autograd.grad`` all end in one call of the engine's
``run_backward``. For the length of a trace the engine is behind a proxy that tells an observer before and after
each call (and when one raises); anything else is passed to the engine untouched. This costs nothing per
operation, so it serves the cheap pass (no function mode) and the recording pass alike.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import FrameType
from typing import Any, Optional, Protocol

import torch
from torch.autograd.variable import Variable


@dataclass(frozen=True)
class Backward:
    """One request to the engine: the tensors to differentiate and the gradients they start from."""

    roots: list[torch.Tensor]
    gradients: tuple[Optional[torch.Tensor], ...]  # one per root; None for a scalar root (a gradient of one)

    def value(self) -> Optional[float]:
        """The scalar backward differentiates, sum(root * gradient), in float64; None if a root is no tensor."""
        if len(self.gradients) != len(self.roots):
            return None
        total = 0.0
        for root, gradient in zip(self.roots, self.gradients):
            product = root.detach().double() * (1.0 if gradient is None else gradient.detach().double())
            total += float(product.sum())
        return total


class Observer(Protocol):
    def before_backward(self, backward: Backward, start: FrameType) -> Optional[Any]:
        """A token for ``after_backward``, or None when torch itself runs this backward."""

    def after_backward(
        self, call: Any, backward: Backward, returned: Optional[dict[int, Optional[torch.Tensor]]]
    ) -> None: ...

    def backward_failed(self, call: Any, error: BaseException) -> None: ...

    def internal_gradients(self, returned: dict[int, Optional[torch.Tensor]]) -> None: ...


def _argument(args: tuple, kwargs: dict, position: int, name: str, default: Any) -> Any:
    return args[position] if len(args) > position else kwargs.get(name, default)


class _Engine:
    """Stands in for ``Variable._execution_engine``."""

    def __init__(self, engine: Any, observer: Observer):
        self._engine = engine
        self._observer = observer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def run_backward(self, *args: Any, **kwargs: Any) -> Any:
        observer = self._observer
        outputs = list(_argument(args, kwargs, 0, "tensors", ()))
        roots = [root for root in outputs if isinstance(root, torch.Tensor)]
        gradients = tuple(_argument(args, kwargs, 1, "grad_tensors", ()) or ())
        backward = Backward(roots, gradients if len(roots) == len(outputs) else ())
        inputs = list(_argument(args, kwargs, 4, "inputs", ()) or ())
        accumulate = _argument(args, kwargs, 6, "accumulate_grad", True)
        call = observer.before_backward(backward, sys._getframe())
        if call is None:
            result = self._engine.run_backward(*args, **kwargs)
            if not accumulate and inputs:
                observer.internal_gradients(dict(zip(map(id, inputs), result)))
            return result
        try:
            result = self._engine.run_backward(*args, **kwargs)
        except RuntimeError as error:
            observer.backward_failed(call, error)
            raise
        returned = None if accumulate else {id(tensor): grad for tensor, grad in zip(inputs, result)}
        observer.after_backward(call, backward, returned)
        return result


class EngineHook:
    def __init__(self, observer: Observer):
        self.observer = observer
        self._saved: Any = None

    def __enter__(self) -> EngineHook:
        self._saved = Variable._execution_engine
        Variable._execution_engine = _Engine(self._saved, self.observer)  # type: ignore[assignment]  # a stand-in
        return self

    def __exit__(self, *exc_info: object) -> None:
        Variable._execution_engine = self._saved
