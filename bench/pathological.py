"""Large, deep and long files: time and peak memory per file, and what gradlint reports for each.

Generated here: ordinary model code of growing size (0.25 MB to 20 MB), dense code (one short statement per
line), nesting that Python itself refuses (1300 parentheses, 3000 brackets, 1000 nested calls), long method
chains and long sums (250 and 1000 calls; 500 and 30,000 terms; 500 and 950 different tensors), and loops
nested 30 and 16 deep (which the analysis would interpret 2**30 and 2**16 times: the work or the memory bound
stops it). Each file is checked alone with the default bounds, in its own process tree; the peak is the
largest sum of resident memory over the tree. Every file must end with its findings or with one GL000 finding,
within the budgets below. Then the files are checked together, in one folder with two worker processes: each
one must end as it does alone.

    python bench/pathological.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from static import measure

PEAK_BUDGET_MIB = 1024
SECONDS_BUDGET = 60.0

BLOCK = """

class Block{i}(torch.nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(width, width))
        self.scale = 2.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(x @ self.weight) * self.scale
        total = h.sum() + x.mean()
        {cut}
        return h + x * total


def step{i}(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    z = x * 2.0 + y / 3.0
    for k in range(3):
        z = z + torch.sin(z) * k
    return z
"""


def model_code(megabytes: float) -> str:
    """Modules and functions, one block in ten with a `.detach()` that cuts its parameter's gradient."""
    parts, size, index = ["import torch\n"], 0, 0
    while size < megabytes * 1e6:
        cut = "h = h * h.detach().sum()" if index % 10 == 0 else "h = h * 1.0"
        parts.append(BLOCK.format(i=index, cut=cut))
        size += len(parts[-1])
        index += 1
    return "".join(parts)


def dense_code(lines: int) -> str:
    return "import torch\n" + "y = f(a, b, c, d)\n" * lines + "w = torch.ones(3, requires_grad=True)\nv = w.item()\n"


def nested(opening: str, closing: str, depth: int) -> str:
    return f"import torch\nx = {opening * depth}1{closing * depth}\n"


def chain(calls: int) -> str:
    return f"import torch\n\ndef f(x: torch.Tensor):\n    y = x{'.clone()' * calls}\n    return y.item()\n"


def long_sum(terms: int) -> str:
    return f"import torch\n\ndef f(x: torch.Tensor):\n    y = {' + '.join(['x'] * terms)}\n    return x * y.item()\n"


def distinct_sum(terms: int) -> str:
    """A sum of as many different tensors, each a parameter of the function."""
    parameters = ", ".join(f"p{index}: torch.Tensor" for index in range(terms))
    total = " + ".join(f"p{index}" for index in range(terms))
    return f"import torch\n\ndef f({parameters}):\n    y = {total}\n    return y * y.item()\n"


def nested_loops(depth: int, statements: int = 0) -> str:
    """Loops nested ``depth`` deep, after ``statements`` plain ones (which raise the work bound)."""
    plain = "".join(f"a{index} = {index}\n" for index in range(statements))
    loops = "".join("    " * (level + 1) + f"for i{level} in range(3):\n" for level in range(depth))
    return (
        f"import torch\n{plain}\ndef f(x: torch.Tensor):\n{loops}{'    ' * (depth + 1)}x = x * 2\n    return x.item()\n"
    )


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], str]


CASES: Sequence[Case] = (
    Case("model code 0.25 MB", lambda: model_code(0.25)),
    Case("model code 0.5 MB", lambda: model_code(0.5)),
    Case("model code 1 MB", lambda: model_code(1.0)),
    Case("model code 2 MB", lambda: model_code(2.0)),
    Case("model code 5 MB", lambda: model_code(5.0)),
    Case("model code 20 MB", lambda: model_code(20.0)),
    Case("dense code 40k lines", lambda: dense_code(40_000)),
    Case("dense code 60k lines", lambda: dense_code(60_000)),
    Case("1300 nested (", lambda: nested("(", ")", 1300)),
    Case("3000 nested [", lambda: nested("[", "]", 3000)),
    Case("1000 nested calls", lambda: nested("f(", ")", 1000)),
    Case("250-call chain", lambda: chain(250)),
    Case("1000-call chain", lambda: chain(1000)),
    Case("500-term sum", lambda: long_sum(500)),
    Case("30,000-term sum", lambda: long_sum(30_000)),
    Case("500 distinct terms", lambda: distinct_sum(500)),
    Case("950 distinct terms", lambda: distinct_sum(950)),
    Case("30 nested loops", lambda: nested_loops(30)),
    Case("16 loops, 1000 lines", lambda: nested_loops(16, 1000)),
)


def file_name(case: Case) -> str:
    return "".join(character if character.isalnum() else "_" for character in case.name.lower()) + ".py"


def gradlint(paths: Sequence[str], folder: Path, jobs: int = 1) -> Tuple[List[str], List[dict]]:
    """The command line (default bounds) and, run once more with JSON output, the findings."""
    config = folder / "pyproject.toml"
    config.write_text("[tool.gradlint]\n")
    command = [
        sys.executable,
        "-m",
        "gradlint",
        "--no-cache",
        "--no-context",
        "--confidence",
        "low",
        "--jobs",
        str(jobs),
        "--config",
        str(config),
        *paths,
    ]
    completed = subprocess.run([*command, "--format", "json"], cwd=folder, capture_output=True, text=True, check=False)
    if completed.returncode not in (0, 1):
        raise SystemExit(f"gradlint failed on {paths}: {completed.stderr.strip()}")
    return command, json.loads(completed.stdout)["findings"]


def outcome(findings: List[dict]) -> Tuple[str, bool]:
    """What the file ended with, and whether that is findings or one GL000 (alone)."""
    codes = [finding["code"] for finding in findings]
    if "GL000" in codes:
        return f"GL000: {findings[codes.index('GL000')]['message']}", codes == ["GL000"]
    counts = {code: codes.count(code) for code in sorted(set(codes))}
    return "findings: " + ", ".join(f"{code} x{count}" for code, count in counts.items()), bool(codes)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gradlint-pathological-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        return run(folder)


def run(folder: Path) -> int:
    alone: Dict[str, List[dict]] = {}
    failures = 0
    print(f"{'file':<22} {'size':>10} {'time':>8} {'peak':>9}  outcome")
    for case in CASES:
        name = file_name(case)
        (folder / name).write_text(case.make(), encoding="utf-8")
        command, findings = gradlint([name], folder)
        measured = measure("gradlint", command, folder)
        alone[name] = findings
        text, ends_well = outcome(findings)
        within = measured.peak_mib <= PEAK_BUDGET_MIB and measured.seconds <= SECONDS_BUDGET
        failures += not (ends_well and within)
        size = (folder / name).stat().st_size
        print(
            f"{case.name:<22} {size / 1e6:>8.2f}MB {measured.seconds:>7.1f}s {measured.peak_mib:>6.0f}MiB  "
            f"{'ok ' if ends_well and within else 'BAD'} {text[:100]}"
        )
    # One folder: every file, checked together with two workers: each file as alone.
    mixed = [file_name(case) for case in CASES]
    _, findings = gradlint(mixed, folder, jobs=2)
    same = [name for name in mixed if [finding for finding in findings if finding["path"] == name] == alone[name]]
    failures += len(same) != len(mixed)
    print(f"\none folder of these {len(mixed)} files, --jobs 2: {len(same)} of them end as they do alone")
    print(
        f"budgets: {PEAK_BUDGET_MIB} MiB and {SECONDS_BUDGET:g} s per file; "
        f"{'all met' if not failures else f'{failures} not met'}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
