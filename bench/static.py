"""Static checker speed and memory against its peers, measured in one run on one fixed corpus.

The corpus is the installed torch package's ``nn``, ``optim``, ``distributions``, ``autograd`` and ``fx``
folders. Each tool runs as its own process tree; wall time is the median of ``--repeat`` runs and peak memory
is the largest sum of resident memory over the whole tree, sampled every 20 ms. Printed: a table and the ratios
of each peer's time to gradlint's cold and warm (cached) times, and, as a floor for any libcst-based checker,
the time libcst takes just to parse the corpus in as many processes. For the pre-commit hook's case, one file
of the warm corpus is checked and compared with ``gradlint --version``, the cost of starting at all.

    python bench/static.py [--torchfix PATH] [--ruff PATH] [--repeat N] [--jobs N]

A peer that is not installed is left out (TorchFix pins an older libcst, so it usually lives in a virtual
environment of its own: point ``--torchfix`` at its executable).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

FOLDERS = ("nn", "optim", "distributions", "autograd", "fx")
ONE_FILE = "nn/modules/linear.py"  # the hook's case: one changed file of a project whose results are cached
# The budgets of the latency goals: a cold run against parsing alone, one warm file against starting at all.
COLD_OVER_PARSE = 1.5
ONE_FILE_OVER_VERSION = 2.5
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measurement:
    tool: str
    seconds: float
    peak_mib: float
    exit_code: int


_PARSE_ONLY = """
import gc
import sys
from concurrent.futures import ProcessPoolExecutor

import libcst


def parse(path):
    with open(path, "rb") as handle:
        libcst.parse_module(handle.read())


if __name__ == "__main__":
    gc.disable()  # as gradlint pauses it; a parse leaves no reference cycles to collect
    with ProcessPoolExecutor(int(sys.argv[1])) as pool:
        list(pool.map(parse, sys.argv[2:], chunksize=4))
"""


def corpus() -> List[Path]:
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        raise SystemExit("torch is not installed: the corpus is the installed torch package")
    root = Path(spec.origin).parent
    return [root / folder for folder in FOLDERS]


def _tree_rss(root_pid: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc."""
    children: Dict[int, List[int]] = {}
    rss: Dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * PAGE
    total, pending = 0, [root_pid]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending.extend(children.get(pid, ()))
    return total


def measure(tool: str, command: Sequence[str], cwd: Path) -> Measurement:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        try:
            process.wait(timeout=0.02)  # returns as soon as it ends: short runs are timed to the millisecond
        except subprocess.TimeoutExpired:
            pass
    return Measurement(tool, time.perf_counter() - start, peak / 2**20, process.returncode)


def median_of(tool: str, command: Sequence[str], cwd: Path, repeat: int, before=None) -> Measurement:
    runs = []
    for _ in range(repeat):
        if before is not None:
            before()
        runs.append(measure(tool, command, cwd))
    seconds = statistics.median(run.seconds for run in runs)
    return Measurement(tool, seconds, max(run.peak_mib for run in runs), runs[-1].exit_code)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--torchfix", default=shutil.which("torchfix"), help="the torchfix executable")
    parser.add_argument("--ruff", default=shutil.which("ruff"), help="the ruff executable")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--torchfix-repeat", type=int, default=1, help="runs of TorchFix, which is slow")
    parser.add_argument("--jobs", type=int, default=0, help="gradlint worker processes (0: one per core)")
    args = parser.parse_args(argv)
    # The tools run from another folder: make their paths absolute first.
    args.ruff, args.torchfix = (os.path.abspath(tool) if tool else None for tool in (args.ruff, args.torchfix))

    folders = corpus()
    files = [path for folder in folders for path in folder.rglob("*.py")]
    lines = sum(path.read_bytes().count(b"\n") for path in files)
    # Run from the folder above torch: inside it, torch's own ``multiprocessing`` would shadow the stdlib one.
    cwd = folders[0].parent.parent
    targets = [str(folder.relative_to(cwd)) for folder in folders]
    gradlint = [sys.executable, "-m", "gradlint", "--exit-zero", "--jobs", str(args.jobs)]
    print(f"corpus: {len(files)} files, {lines} lines of torch ({', '.join(targets)}); {os.cpu_count()} cores")

    results: List[Measurement] = []
    with tempfile.TemporaryDirectory() as scratch:
        cache_dir = Path(scratch) / "gradlint-cache"
        # The corpus as one project, so that one file is checked in the context of the others, as the hook does.
        config = Path(scratch) / "pyproject.toml"
        config.write_text(f"[tool.gradlint]\npaths = {json.dumps([str(folder) for folder in folders])}\n")
        gradlint += ["--config", str(config)]

        def clear_cache() -> None:
            shutil.rmtree(cache_dir, ignore_errors=True)

        cold = [*gradlint, "--cache-dir", str(cache_dir), *targets]
        results.append(median_of("gradlint (cold)", cold, cwd, args.repeat, before=clear_cache))
        measure("prime", cold, cwd)
        results.append(median_of("gradlint (warm)", cold, cwd, args.repeat))
        one_file = [*gradlint, "--cache-dir", str(cache_dir), str(folders[0].parent.relative_to(cwd) / ONE_FILE)]
        measure("prime", one_file, cwd)
        results.append(median_of("gradlint one warm file", one_file, cwd, args.repeat))
    results.append(median_of("gradlint --version", [sys.executable, "-m", "gradlint", "--version"], cwd, args.repeat))
    # The floor of any libcst-based checker: parsing every file, in as many processes, doing nothing else.
    parse_only = [sys.executable, "-c", _PARSE_ONLY, str(args.jobs or os.cpu_count() or 1), *map(str, files)]
    results.append(median_of("libcst parse only", parse_only, cwd, args.repeat))
    if args.ruff:
        command = [args.ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero", *targets]
        results.append(median_of("ruff --select ALL", command, cwd, args.repeat))
    if args.torchfix:
        command = [args.torchfix, "--select", "ALL", *targets]
        results.append(median_of("torchfix --select ALL", command, cwd, args.torchfix_repeat))

    print(f"\n{'tool':<24}{'wall s':>10}{'peak MiB':>10}{'exit':>6}")
    for result in results:
        print(f"{result.tool:<24}{result.seconds:>10.2f}{result.peak_mib:>10.0f}{result.exit_code:>6}")
    by_tool = {result.tool: result for result in results}
    cold_run, warm_run = by_tool["gradlint (cold)"], by_tool["gradlint (warm)"]
    print()
    for peer in results[5:]:
        print(
            f"{peer.tool}: {peer.seconds / cold_run.seconds:.1f}x gradlint cold, "
            f"{peer.seconds / warm_run.seconds:.1f}x gradlint warm"
        )
    floor = by_tool["libcst parse only"]
    print(
        f"gradlint cold: {cold_run.seconds / floor.seconds:.2f}x libcst parse only (budget {COLD_OVER_PARSE}x; "
        f"parsing is {floor.seconds / cold_run.seconds:.0%} of the cold run)"
    )
    one_file, start = by_tool["gradlint one warm file"], by_tool["gradlint --version"]
    print(
        f"gradlint one warm file ({ONE_FILE}): {one_file.seconds / start.seconds:.2f}x gradlint --version "
        f"(budget {ONE_FILE_OVER_VERSION}x)"
    )
    print(
        f"targets: cold >= 20x faster than torchfix, warm >= 200x, peak < 500 MiB "
        f"(gradlint peak {max(cold_run.peak_mib, warm_run.peak_mib):.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
