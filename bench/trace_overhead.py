"""Overhead of gradlint's trace on the reference simulator's gradient-flow workload.

Times the workload (forward and backward, two fitting iterations) plain, under a do-nothing
TorchFunctionMode (the floor any function-mode tracer pays), under gradlint's trace (the cheap first
pass that ``gradlint trace`` always runs) and under ``torch.autograd.detect_anomaly``, interleaved, and
prints the medians and their ratios; then the same for 10 fitting steps inside one trace, where the
trace's one-time costs (naming parameters, scanning frames at the first backward) are amortized. Last, it
checks that the trace's own state stays bounded: the entries it holds after 1, 10 and 50 fitting steps
in one trace (no per-operation records).

    python bench/trace_overhead.py [--repeat 30] [--threads 1] [--pixels 16 32 64]

CPU time of this process is measured (steadier than wall time on a shared machine). ``--pixels`` sets
the workload's detector sizes (its module constant ``DETECTOR_PIXELS``), by default the gradient tests'
16x16, 32x32 and 64x64 images: the trace costs a fixed amount per operation, and so does any TorchFunctionMode,
so its relative overhead is largest on the smallest workload and shrinks as the tensors grow.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
import warnings
from contextlib import nullcontext
from typing import Callable, ContextManager

import torch
from torch.overrides import TorchFunctionMode

from gradlint.trace.session import TraceSession


class DoNothingMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **kwargs) if kwargs else func(*args)


Step = Callable[[], object]


def _workload(pixels: int) -> tuple[str, Step, Callable[[], Step]]:
    """(name, one full workload run, a factory of fitting steps over parameters created once)."""
    try:
        from braggsim import workloads
    except ImportError:
        return "stand-in loop (braggsim not importable)", lambda: _StandIn().step(), lambda: _StandIn().step
    workloads.DETECTOR_PIXELS = pixels
    name = f"braggsim.workloads:gradient_flow, {pixels}x{pixels} pixels"
    return name, workloads.gradient_flow, lambda: functools.partial(workloads.fit, workloads.gradient_flow_problem())


class _StandIn:
    """A small vectorized fitting loop with the same kind of operations, for when the simulator is absent."""

    def __init__(self) -> None:
        self.scale = torch.tensor(10.0, requires_grad=True, dtype=torch.float64)
        self.angle = torch.tensor(0.3, requires_grad=True, dtype=torch.float64)

    def step(self) -> torch.Tensor:
        grid = torch.stack(torch.meshgrid(*(torch.arange(16.0, dtype=torch.float64),) * 2, indexing="ij"), -1)
        for _ in range(2):
            image = torch.zeros(16, 16, dtype=torch.float64)
            for turn in range(5):
                phi = self.angle + turn * 0.01
                rotation = torch.stack([torch.stack([phi.cos(), -phi.sin()]), torch.stack([phi.sin(), phi.cos()])])
                h = grid @ rotation.T * self.scale / 10
                image = image + (torch.sinc(h - h.round()) ** 2).prod(-1)
            loss = image.sum()
            loss.backward()
            self.scale.grad = self.angle.grad = None
        return loss


def _timed(workload: Callable[[], object], context: Callable[[], ContextManager[object]]) -> float:
    started = time.process_time()
    with context():
        workload()
    return time.process_time() - started


def _long_run(steps: Callable[[], Step], context: Callable[[], ContextManager[object]], count: int) -> float:
    """CPU time of ``count`` fitting steps on parameters made beforehand, all in one context."""
    step = steps()
    started = time.process_time()
    with context():
        for _ in range(count):
            step()
    return time.process_time() - started


def _trace_state(steps: Callable[[], Step], runs: int) -> int:
    """Entries the trace holds (parameters, events, marks, graph roots, memo) after ``runs`` fitting steps."""
    step = steps()
    with TraceSession() as session:
        for _ in range(runs):
            step()
        recorder = session.recorder
        return sum(map(len, (recorder.params, recorder.events, recorder.taints, recorder._roots,
                             recorder._grad_owners, recorder.leaf_index._memo)))


Contexts = dict[str, Callable[[], ContextManager[object]]]


def _interleaved(measure: Callable[[Callable[[], ContextManager[object]]], float], cases: Contexts,
                 rounds: int) -> dict[str, list[float]]:
    """``measure(context)`` of every case, one round after another, so that a drift of the machine hits all alike."""
    times: dict[str, list[float]] = {case: [] for case in cases}
    for _ in range(rounds):
        for case, context in cases.items():
            times[case].append(measure(context))
    return times


def _measure(pixels: int, repeat: int, threads: int) -> None:
    name, workload, steps = _workload(pixels)
    cases = {"plain": nullcontext, "do-nothing mode": DoNothingMode, "gradlint trace": TraceSession,
             "detect_anomaly": torch.autograd.detect_anomaly}
    for context in cases.values():  # warm up imports, caches and allocators
        _timed(workload, context)
    times = _interleaved(lambda context: _timed(workload, context), cases, repeat)
    medians = {case: statistics.median(values) for case, values in times.items()}
    minima = {case: min(values) for case, values in times.items()}
    print(f"workload: {name}, {repeat} runs per case, torch {torch.__version__}, {threads} thread(s)")
    print(f"{'case':<16}{'median ms':>11}{'x plain':>9}{'min ms':>9}{'x plain':>9}")
    for case in cases:
        print(f"{case:<16}{medians[case] * 1e3:>11.2f}{medians[case] / medians['plain']:>9.2f}"
              f"{minima[case] * 1e3:>9.2f}{minima[case] / minima['plain']:>9.2f}")
    overhead = medians["gradlint trace"] / medians["plain"]
    cheaper = medians["detect_anomaly"] / medians["gradlint trace"]
    print(f"trace {overhead:.2f}x plain (target <= 1.3x), {cheaper:.2f}x cheaper than detect_anomaly "
          f"(target >= 2x); a do-nothing mode alone costs {medians['do-nothing mode'] / medians['plain']:.2f}x")
    long_cases = {case: cases[case] for case in ("plain", "do-nothing mode", "gradlint trace")}
    long_times = _interleaved(lambda context: _long_run(steps, context, 10), long_cases, max(5, repeat // 3))
    long_runs = {case: statistics.median(values) for case, values in long_times.items()}
    print("10 fitting steps in one trace (per-trace setup amortized): "
          + ", ".join(f"{case} {t / long_runs['plain']:.2f}x" for case, t in long_runs.items()))
    held = {runs: _trace_state(steps, runs) for runs in (1, 10, 50)}
    print("entries held by the trace after 1 / 10 / 50 fitting steps on the same parameters: "
          + " / ".join(str(count) for count in held.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per case (default 30)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--pixels", type=int, nargs="+", default=[16, 32, 64],
                        help="detector sizes of the workload (default: 16, the test size, 32 and 64)")
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    warnings.simplefilter("ignore")  # detect_anomaly warns on every entry
    for number, pixels in enumerate(options.pixels):
        if number:
            print()
        _measure(pixels, options.repeat, options.threads)


if __name__ == "__main__":
    main()
