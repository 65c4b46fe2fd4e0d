"""Classify gradients: missing, exactly zero, non-finite, or finite with a norm and max-abs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

import torch

from gradlint.trace.results import Outcome


@dataclass(frozen=True)
class GradSnapshot:
    outcome: Outcome
    norm: Optional[float] = None
    max_abs: Optional[float] = None


MISSING = GradSnapshot(Outcome.MISSING)


def _classify(norm: float, max_abs: float) -> GradSnapshot:
    if not (math.isfinite(norm) and math.isfinite(max_abs)):
        return GradSnapshot(Outcome.NONFINITE, norm, max_abs)
    if max_abs == 0.0:
        return GradSnapshot(Outcome.ZERO, 0.0, 0.0)
    return GradSnapshot(Outcome.OK, norm, max_abs)


def snapshot(gradients: Sequence[Optional[torch.Tensor]]) -> list[GradSnapshot]:
    """One snapshot per gradient, computed with two batched reductions where the layout allows."""
    present = [g.detach() for g in gradients if g is not None]  # with create_graph, gradients require grad
    try:
        dense = [g.to_dense() if g.layout != torch.strided else g for g in present]
        dense = [g.abs() if g.is_complex() else g for g in dense]
        values = [*torch._foreach_norm(dense), *torch._foreach_norm(dense, ord=math.inf)] if dense else []
        numbers = torch.stack([v.double() for v in values]).tolist() if values else []  # one copy out, not 2n
        stats: Iterator[tuple[float, float]] = iter(zip(numbers[: len(dense)], numbers[len(dense) :]))
    except (RuntimeError, TypeError):
        stats = iter(
            [(float(g.detach().double().norm()), float(g.detach().abs().max()) if g.numel() else 0.0) for g in present]
        )
    return [MISSING if g is None else _classify(*next(stats)) for g in gradients]


_PRECEDENCE = (Outcome.NONFINITE, Outcome.OK, Outcome.ZERO, Outcome.MISSING)


def combine(earlier: Optional[GradSnapshot], later: GradSnapshot) -> GradSnapshot:
    """The outcome of a gradient computed in slices: non-finite if any slice is, real if any slice is, ..."""
    if earlier is None:
        return later
    first, second = sorted((earlier, later), key=lambda snap: _PRECEDENCE.index(snap.outcome))
    if first.outcome is not second.outcome or first.norm is None:
        return first
    return GradSnapshot(
        first.outcome, max(first.norm, second.norm or 0.0), max(first.max_abs or 0.0, second.max_abs or 0.0)
    )
