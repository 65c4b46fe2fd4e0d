"""Overhead of gradlint's trace on the reference simulator's gradient-flow workload, and of ``pytest --gradlint``.

Times the workload (forward and backward, two fitting iterations) plain, under a do-nothing
TorchFunctionMode (the floor any function-mode tracer pays), under gradlint's two sessions and under
``torch.autograd.detect_anomaly``, interleaved: the *healthy* session (what ``gradlint trace`` runs first:
no function mode, only the hooks that see parameters made and every backward; a healthy target is done
after it) and the *recording* session (the function mode it reruns a target under when a gradient is
bad), each with its result taken at the end. Each round times every case once; the ratios to plain are taken
per round, and their median and
interquartile range are printed. Then the same for 10 fitting steps inside one session, where the one-time
costs (naming parameters, scanning frames at the first backward) are amortized, and the entries the
recording session holds after 1, 10 and 50 steps (no per-operation records).

Last, ``pytest --gradlint`` against plain ``pytest`` on one test file (by default the simulator's healthy
gradient tests), as whole commands in subprocesses, alternating: CPU time of each command (user + system),
and the ratio per pair.

    python bench/trace_overhead.py [--repeat 30] [--threads 1] [--pixels 16 32 64]
                                   [--pytest-file tests/test_gradients.py] [--pytest-rounds 5]

CPU time is measured (steadier than wall time on a shared machine). ``--pixels`` sets the workload's
detector sizes (its module constant ``DETECTOR_PIXELS``): a function mode costs a fixed amount per operation,
so its relative overhead is largest on the smallest workload and shrinks as the tensors grow.
``--pytest-rounds 0`` skips the pytest comparison.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, ContextManager, Sequence

import torch
from torch.overrides import TorchFunctionMode

from gradlint.trace.results import TargetKind
from gradlint.trace.session import TraceSession


class DoNothingMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **kwargs) if kwargs else func(*args)


class Traced:
    """A gradlint session around the workload, and its result taken at the end: all a trace's work."""

    def __init__(self, record: bool):
        self.session = TraceSession(record=record)

    def __enter__(self) -> TraceSession:
        return self.session.__enter__()

    def __exit__(self, *exc_info: object) -> None:
        self.session.__exit__(*exc_info)
        self.session.result("bench", TargetKind.BLOCK)


Step = Callable[[], object]
Context = Callable[[], ContextManager[object]]
CASES: dict[str, Context] = {
    "plain": nullcontext,
    "do-nothing mode": DoNothingMode,
    "healthy": functools.partial(Traced, record=False),
    "recording": functools.partial(Traced, record=True),
    "detect_anomaly": torch.autograd.detect_anomaly,
}


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


def _timed(workload: Callable[[], object], context: Context) -> float:
    started = time.process_time()
    with context():
        workload()
    return time.process_time() - started


def _long_run(steps: Callable[[], Step], context: Context, count: int) -> float:
    """CPU time of ``count`` fitting steps on parameters made beforehand, all in one context."""
    step = steps()
    started = time.process_time()
    with context():
        for _ in range(count):
            step()
    return time.process_time() - started


def _trace_state(steps: Callable[[], Step], runs: int) -> int:
    """Entries the recording session holds (parameters, events, marks, graph roots, memo) after ``runs`` steps."""
    step = steps()
    with TraceSession() as session:
        for _ in range(runs):
            step()
        recorder = session.recorder
        return sum(
            map(
                len,
                (
                    recorder.params,
                    recorder.events,
                    recorder.taints,
                    recorder._roots,
                    recorder._grad_owners,
                    recorder.leaf_index._memo,
                ),
            )
        )


def _interleaved(measure: Callable[[Context], float], cases: dict[str, Context], rounds: int) -> dict[str, list[float]]:
    """``measure(context)`` of every case, one round after another, so that a drift of the machine hits all alike."""
    times: dict[str, list[float]] = {case: [] for case in cases}
    for _ in range(rounds):
        for case, context in cases.items():
            times[case].append(measure(context))
    return times


def _ratios(times: dict[str, list[float]], base: str) -> dict[str, list[float]]:
    """Per round, each case's time over the base case's time in the same round."""
    return {case: [t / b for t, b in zip(values, times[base])] for case, values in times.items()}


def _spread(values: Sequence[float]) -> str:
    """Median and interquartile range."""
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return f"{statistics.median(values):.2f}x ({quartiles[0]:.2f}-{quartiles[2]:.2f})"


def _measure(pixels: int, repeat: int, threads: int) -> None:
    name, workload, steps = _workload(pixels)
    for context in CASES.values():  # warm up imports, caches and allocators
        _timed(workload, context)
    times = _interleaved(lambda context: _timed(workload, context), CASES, repeat)
    ratios = _ratios(times, "plain")
    print(f"workload: {name}, {repeat} rounds, torch {torch.__version__}, {threads} thread(s)")
    print(f"{'case':<16}{'median ms':>11}   x plain, median (interquartile range)")
    for case in CASES:
        print(f"{case:<16}{statistics.median(times[case]) * 1e3:>11.2f}   {_spread(ratios[case])}")
    print(
        "side by side: healthy "
        + _spread(ratios["healthy"])
        + " (target <= 1.05x at 16x16), recording "
        + _spread(ratios["recording"])
        + ", detect_anomaly "
        + _spread(ratios["detect_anomaly"])
    )
    long_cases = {case: CASES[case] for case in ("plain", "do-nothing mode", "healthy", "recording")}
    long_times = _interleaved(lambda context: _long_run(steps, context, 10), long_cases, max(5, repeat // 3))
    long_ratios = _ratios(long_times, "plain")
    print(
        "10 fitting steps in one session (per-session setup amortized): "
        + ", ".join(f"{case} {_spread(values)}" for case, values in long_ratios.items() if case != "plain")
    )
    held = {runs: _trace_state(steps, runs) for runs in (1, 10, 50)}
    print(
        "entries held by the recording session after 1 / 10 / 50 fitting steps on the same parameters: "
        + " / ".join(str(count) for count in held.values())
    )


def _child_cpu(command: Sequence[str], cwd: Path) -> tuple[float, float, str]:
    """(CPU seconds of the command and its children, wall seconds, its output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, wall, done.stdout


def _pytest(test_file: str, rounds: int) -> None:
    root = Path(__file__).resolve().parent.parent
    plain = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file]
    traced = [*plain, "--gradlint"]
    cpu: dict[str, list[float]] = {"plain": [], "--gradlint": []}
    wall: dict[str, list[float]] = {"plain": [], "--gradlint": []}
    output = ""
    for _ in range(rounds):
        for case, command in (("plain", plain), ("--gradlint", traced)):
            seconds, elapsed, output = _child_cpu(command, root)
            cpu[case].append(seconds)
            wall[case].append(elapsed)
    reran = "ran again under the recording trace" in output
    ratios = [t / p for t, p in zip(cpu["--gradlint"], cpu["plain"])]
    print(
        f"pytest {test_file}: {rounds} rounds of plain and --gradlint, alternating (whole commands, torch import "
        "included)"
    )
    for case in cpu:
        print(
            f"  {case:<11} CPU median {statistics.median(cpu[case]):.2f} s (range {min(cpu[case]):.2f}-"
            f"{max(cpu[case]):.2f}), wall median {statistics.median(wall[case]):.2f} s"
        )
    print(
        f"  --gradlint / plain, CPU per pair: median {statistics.median(ratios):.2f}x (range {min(ratios):.2f}-"
        f"{max(ratios):.2f}; target <= 1.1x){'; a test was rerun (not healthy)' if reran else ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed rounds per workload size (default 30)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument(
        "--pixels",
        type=int,
        nargs="+",
        default=[16, 32, 64],
        help="detector sizes of the workload (default: 16, the test size, 32 and 64)",
    )
    parser.add_argument(
        "--pytest-file",
        default="tests/test_gradients.py",
        help="the test file for pytest --gradlint against plain pytest (relative to the repository)",
    )
    parser.add_argument("--pytest-rounds", type=int, default=5, help="pairs of pytest runs (default 5; 0 skips)")
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    warnings.simplefilter("ignore")  # detect_anomaly warns on every entry
    for pixels in options.pixels:
        _measure(pixels, options.repeat, options.threads)
        print()
    if options.pytest_rounds:
        _pytest(options.pytest_file, options.pytest_rounds)


if __name__ == "__main__":
    main()
