"""gradlint: find where a differentiable PyTorch program cuts its gradients."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "watch"]


def __getattr__(name: str) -> Any:
    # ``watch`` needs torch; importing it lazily keeps the static checker free of torch.
    if name == "watch":
        from gradlint.trace.watch import watch

        return watch
    raise AttributeError(name)
