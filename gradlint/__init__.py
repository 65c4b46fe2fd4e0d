"""gradlint: find where a differentiable PyTorch program cuts its gradients."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "watch"]


def __getattr__(name: str):
    # ``watch`` needs torch; importing it lazily keeps the static checker free of torch.
    if name == "watch":
        from gradlint.trace.watch import watch

        return watch
    raise AttributeError(name)
