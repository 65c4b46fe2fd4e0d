"""``--check-gradients``: each parameter's autograd gradient against central finite differences of the program.

A gradient can be finite and non-zero and still wrong: a value cut on one of two paths from a parameter to the
loss (the ``.item()`` of a term that is also used differentiably) leaves only the other path's share. The check
runs the program again with one parameter moved by +h and by -h along a direction, each time up to its first
backward, and compares ``(L(+h) - L(-h)) / 2h`` with the autograd directional derivative of an unmoved run.

- Precision: the runs make float64 torch's default dtype where the program allows it (a program that fails that
  way is checked in its own dtypes); a parameter created with an explicit dtype keeps it.
- Step: ``h = eps^(1/3) * max(1, max|p|)`` along a unit direction: the parameter itself for a scalar, a few
  seeded random directions for a tensor.
- Verdict: the two agree within a relative tolerance (1e-4 in float64, 1e-2 otherwise) plus the rounding noise
  of the difference quotient. A disagreement is confirmed with half the step: if the finite difference itself
  moves by more than a quarter of the discrepancy, it is unstable there, and the parameter is not called wrong.
- When the parameter is moved: just before the first operation that reads it, so its initialization in place
  (``nn.init``) does not undo the move, and neither a deep copy nor torch's own copies (``state_dict``) see it:
  a target network copied from the parameter keeps its value, as it does for autograd.
- Cost: one run up to the first backward, then two runs that stop before their backward per direction and
  parameter, and two more to confirm a disagreement.
"""

from __future__ import annotations

import dataclasses
import sys
import zlib
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import torch
from torch.overrides import TorchFunctionMode

from gradlint.trace import ops
from gradlint.trace.compiled import EagerCompile
from gradlint.trace.creation import CreationHooks
from gradlint.trace.engine import Backward, EngineHook
from gradlint.trace.frames import CodeMap
from gradlint.trace.recorder import BACKWARD_FILES, ParamRecord, Recorder
from gradlint.trace.results import GradientCheck, Outcome, ParameterReport

Key = tuple[str, int, int]
_TOLERANCE = {torch.float64: 1e-4}
_LOOSE_TOLERANCE = 1e-2


class StopRun(BaseException):
    """Ends a run of the check at its first backward (a BaseException, so that the program's handlers let it by)."""


@dataclass(frozen=True)
class Candidate:
    name: str
    key: Key


@dataclass
class _Move:
    key: Key
    delta: torch.Tensor  # the displacement to add, in any dtype and shape with the parameter's number of elements


class _Mover(TorchFunctionMode):
    """Adds the displacement to the parameter just before the first operation that reads it."""

    def __init__(self, codes: CodeMap, move: _Move):
        super().__init__()
        self.codes = codes
        self.move = move
        self.tensor: Optional[torch.Tensor] = None
        self.moved = False
        self._passive = ops.tables().passive

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.tensor is not None and not self.moved and self._reads(func, args, kwargs):
            with torch.no_grad():
                self.tensor.add_(self.move.delta.to(self.tensor.dtype).reshape(self.tensor.shape))
            self.moved = True
        return func(*args, **kwargs)

    def _reads(self, func: Any, args: tuple, kwargs: dict) -> bool:
        tensor = self.tensor
        if not any(value is tensor for value in _flat((*args, *kwargs.values()))) or func in self._passive:
            return False
        name = getattr(func, "__name__", "")
        if name.endswith("_") and not name.endswith("__") and args and args[0] is tensor:
            return False  # written in place: its initialization
        # torch's own detached copies (state_dict) are copies, not reads
        return not (name == "detach" and self.codes.entry(sys._getframe()) is None)


def _flat(values: Sequence[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from value
        else:
            yield value


class _Run:
    """One run of the program for the check: parameters known by creation site, stopped at the first backward."""

    def __init__(
        self, codes: CodeMap, keys: set[Key], *, float64: bool, move: Optional[_Move] = None, gradients: bool = False
    ):
        self.recorder = Recorder(codes)  # identifies parameters by creation, as the traced run did
        self.recorder.on_created = self._created
        self.codes = codes
        self.keys = keys
        self.float64 = float64
        self.gradients_wanted = gradients
        self.mover = _Mover(codes, move) if move is not None else None
        self.tensors: dict[Key, torch.Tensor] = {}
        self.loss: Optional[float] = None
        self.gradients: dict[Key, torch.Tensor] = {}
        self.values: dict[Key, torch.Tensor] = {}
        self._stack = ExitStack()

    def _created(self, record: ParamRecord) -> None:
        key = record.key
        if key in self.keys:
            self.tensors[key] = record.tensor
            if self.mover is not None and key == self.mover.move.key:
                self.mover.tensor = record.tensor

    def __enter__(self) -> _Run:
        stack = self._stack
        stack.callback(torch.set_default_dtype, torch.get_default_dtype())
        if self.float64:
            torch.set_default_dtype(torch.float64)
        for hook in (EagerCompile(self.codes), CreationHooks(self.recorder, factories=True), EngineHook(self)):
            stack.enter_context(hook)
        if self.mover is not None:
            stack.enter_context(self.mover)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    # ---- the engine's observer: the first backward of the user's code ends the run ----------------

    def before_backward(self, backward: Backward, start: Any) -> Optional[Backward]:
        if self.codes.entry(start, BACKWARD_FILES) is None:
            return None
        self.loss = backward.value()
        if not self.gradients_wanted:
            raise StopRun
        return backward

    def after_backward(
        self, call: Backward, backward: Backward, returned: Optional[dict[int, Optional[torch.Tensor]]]
    ) -> None:
        for key, tensor in self.tensors.items():
            gradient = tensor.grad if returned is None else returned.get(id(tensor))
            if gradient is not None:
                self.gradients[key] = gradient.detach().double().clone()
                self.values[key] = tensor.detach().double().clone()
        raise StopRun

    def backward_failed(self, call: Backward, error: BaseException) -> None:
        """The program's own error ends the run without a loss."""

    def internal_gradients(self, returned: dict[int, Optional[torch.Tensor]]) -> None:
        """torch's own backward passes (gradcheck) are not the program's loss."""


Runner = Callable[[_Run], None]  # runs the program once under the given run (StopRun may escape it)


@dataclass
class Checker:
    codes: CodeMap
    runner: Runner
    directions: int = 3
    runs: int = 0
    notes: list[str] = field(default_factory=list)

    def _run(self, run: _Run) -> _Run:
        self.runs += 1
        try:
            self.runner(run)
        except StopRun:
            pass
        return run

    def check(self, candidates: Sequence[Candidate]) -> dict[str, GradientCheck]:
        """The check of each candidate that could be checked, by name."""
        keys = {candidate.key for candidate in candidates}
        base, float64 = None, True
        for float64 in (True, False):
            base = self._run(_Run(self.codes, keys, float64=float64, gradients=True))
            if base.loss is not None and base.gradients:
                break
        if base is None or base.loss is None:
            self.notes.append("the gradient check found no backward of the program's to compare with")
            return {}
        found = {}
        for candidate in candidates:
            if candidate.key not in base.gradients:
                self.notes.append(f"{candidate.name} was not checked: it got no gradient in the check's first run")
                continue
            found[candidate.name] = self._check_one(candidate.key, base, float64)
        return found

    def _check_one(self, key: Key, base: _Run, float64: bool) -> GradientCheck:
        first = self.runs
        found = compare(
            base.gradients[key],
            base.values[key],
            base.tensors[key].dtype,
            _directions(key, base.gradients[key].shape, self.directions),
            lambda direction, step: self._difference(key, direction, step, base, float64),
        )
        return dataclasses.replace(found, runs=self.runs - first)

    def _difference(
        self, key: Key, direction: torch.Tensor, step: float, base: _Run, float64: bool
    ) -> Optional[tuple[float, float]]:
        """The central difference quotient along ``direction`` and its rounding noise; None if a run failed."""
        losses = []
        for sign in (1.0, -1.0):
            run = self._run(_Run(self.codes, {key}, float64=float64, move=_Move(key, sign * step * direction)))
            if run.loss is None or run.mover is None or not run.mover.moved:
                return None
            losses.append(run.loss)
        return (losses[0] - losses[1]) / (2 * step), noise_of(base.tensors[key].dtype, losses, step)


Difference = Callable[[torch.Tensor, float], Optional[tuple[float, float]]]


def compare(
    gradient: torch.Tensor,
    value: torch.Tensor,
    dtype: torch.dtype,
    directions: Sequence[torch.Tensor],
    difference: Difference,
) -> GradientCheck:
    """The check of one parameter (its gradient and value in float64, its own dtype): along each direction,
    the autograd directional derivative against ``difference(direction, step)``, the central difference
    quotient and its rounding noise (None when the program could not be run)."""
    step = torch.finfo(dtype).eps ** (1 / 3) * max(1.0, float(value.abs().max()))
    tolerance = _TOLERANCE.get(dtype, _LOOSE_TOLERANCE)
    worst: Optional[tuple[float, float, float]] = None
    verdict, checked = "agrees", 0
    for direction in directions:
        checked += 1
        autograd = float((gradient * direction).sum())
        quotient = difference(direction, step)
        if quotient is None:
            verdict = "unchecked"
            break
        numeric, noise = quotient
        error = _relative(autograd, numeric)
        if worst is None or error > worst[2]:
            worst = (autograd, numeric, error)
        if abs(autograd - numeric) <= tolerance * max(abs(autograd), abs(numeric)) + noise:
            continue
        halved = difference(direction, step / 2)
        if halved is not None and abs(halved[0] - numeric) <= abs(autograd - numeric) / 4:
            verdict, worst = "disagrees", (autograd, numeric, error)
            break
        verdict = "unstable"
    autograd, numeric, error = worst or (0.0, 0.0, 0.0)
    return GradientCheck(autograd, numeric, error, checked, step, str(dtype).removeprefix("torch."), 0, verdict)


def noise_of(dtype: torch.dtype, losses: Sequence[float], step: float) -> float:
    """The rounding noise of a central difference quotient of losses of about these sizes."""
    return 8 * torch.finfo(dtype).eps * sum(abs(loss) for loss in losses) / (2 * step)


def checked(report: ParameterReport, check: Optional[GradientCheck]) -> ParameterReport:
    """``report`` with the check's verdict: ``wrong`` when the finite differences disagree with a real gradient."""
    if check is None:
        return report
    wrong = check.verdict == "disagrees" and report.outcome is Outcome.OK
    return dataclasses.replace(report, check=check, outcome=Outcome.WRONG if wrong else report.outcome)


@dataclass
class _InPlaceDifference:
    """The central difference quotient of ``loss()`` along a direction of ``tensor``, which is moved in place and
    put back, and its rounding noise; ``runs`` counts the evaluations of the loss."""

    loss: Callable[[], torch.Tensor]
    tensor: torch.Tensor
    runs: int = 0

    def __call__(self, direction: torch.Tensor, step: float) -> tuple[float, float]:
        tensor = self.tensor
        losses = []
        original = tensor.detach().clone()
        for sign in (1.0, -1.0):
            with torch.no_grad():
                tensor.add_((sign * step * direction).to(tensor.dtype).reshape(tensor.shape))
                losses.append(float(self.loss().double().sum()))
                tensor.copy_(original)
            self.runs += 1
        return (losses[0] - losses[1]) / (2 * step), noise_of(tensor.dtype, losses, step)


def check_function(
    loss: Callable[[], torch.Tensor], tensors: Mapping[str, torch.Tensor], directions: int = 3
) -> dict[str, GradientCheck]:
    """The check of ``tensors`` (leaves that require grad) for ``loss()``, a closure that recomputes the loss
    from their current values: they are moved in place and put back."""
    names = list(tensors)
    gradients = torch.autograd.grad(loss().sum(), [tensors[name] for name in names], allow_unused=True)
    found = {}
    for name, gradient in zip(names, gradients):
        tensor = tensors[name]
        if gradient is None:
            continue
        key = (name, 0, 0)
        difference = _InPlaceDifference(loss, tensor)
        check = compare(
            gradient.detach().double(),
            tensor.detach().double(),
            tensor.dtype,
            _directions(key, gradient.shape, directions),
            difference,
        )
        found[name] = dataclasses.replace(check, runs=difference.runs)
    return found


def _relative(first: float, second: float) -> float:
    scale = max(abs(first), abs(second))
    return abs(first - second) / scale if scale else 0.0


def _directions(key: Key, shape: torch.Size, count: int) -> list[torch.Tensor]:
    """The parameter itself for a scalar; else ``count`` unit directions from a generator seeded by the key."""
    if shape.numel() == 1:
        return [torch.ones(shape, dtype=torch.float64)]
    generator = torch.Generator().manual_seed(zlib.crc32(repr(key).encode()))
    found = []
    for _ in range(count):
        direction = torch.randn(shape, generator=generator, dtype=torch.float64)
        found.append(direction / direction.norm())
    return found
