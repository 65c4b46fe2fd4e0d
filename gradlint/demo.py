"""``gradlint demo``: the whole tool on the reference simulator, in about a minute.

A copy of the simulator (``braggsim``) gets one catalogued gradient break; gradlint checks the copy, traces its
gradient-flow workload, and ranks the suspects: the planted line comes first. Then the clean simulator: every
parameter receives a real gradient and nothing is suspect. The user's files are never touched.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from gradlint.diagnose import Diagnosis, diagnose
from gradlint.engine import CheckOptions, check
from gradlint.report import trace_text

WORKLOAD = "braggsim.workloads:gradient_flow"
DEFAULT_BREAK = "item_phi_step"


class DemoError(Exception):
    """The demo cannot run here (the reference simulator or torch is missing)."""


def _simulator() -> Path:
    spec = importlib.util.find_spec("braggsim")
    if spec is None or spec.origin is None:
        raise DemoError(
            "the demo runs the reference simulator, which ships with gradlint's source repository, "
            "not with the package: in a clone, run `make demo` (or `pip install -e ./src`)"
        )
    if importlib.util.find_spec("torch") is None:
        raise DemoError("the demo runs the reference simulator, which needs torch: `pip install torch`")
    return Path(spec.origin).parent


def break_ids() -> list[str]:
    from braggsim.breaks import BREAKS

    return [brk.id for brk in BREAKS]


def run(break_id: str = DEFAULT_BREAK, write: Callable[[str], None] = print) -> bool:
    """Run the demo, writing its report through ``write``; whether everything came out as it should."""
    simulator = _simulator()
    from braggsim.breaks import BREAKS, apply

    chosen = next((brk for brk in BREAKS if brk.id == break_id), None)
    if chosen is None:
        raise DemoError(f"no catalogued break is called {break_id!r}; choose one of: {', '.join(break_ids())}")
    with tempfile.TemporaryDirectory(prefix="gradlint-demo-") as folder:
        root = Path(folder)
        broken = _copy(simulator, root / "broken")
        line = apply(chosen, broken / "braggsim")
        planted = f"braggsim/{chosen.path}:{line}"
        write(
            f"1. The reference simulator with a planted gradient break: {chosen.description}\n"
            f"   (break '{chosen.id}' at {planted}; it cuts {', '.join(sorted(chosen.parameters))})\n"
        )
        first = _diagnose(broken)
        write(trace_text.render(first.result, first.suspects, limit=3))
        top = f"{first.suspects[0].path}:{first.suspects[0].line}" if first.suspects else "nothing"
        found = top == planted and set(first.result.bad_parameters) == set(chosen.parameters)
        write(
            f"=> ranked first: {top} ({'the planted line' if top == planted else 'NOT the planted line'}); "
            f"bad gradients: {', '.join(first.result.bad_parameters) or 'none'}\n"
        )

        clean = _diagnose(_copy(simulator, root / "clean"))
        healthy = not clean.result.bad_parameters and not clean.suspects and clean.result.failure is None
        write(
            f"2. The clean simulator: {len(clean.result.parameters)} parameters, "
            + ("every one with a real gradient, no suspect." if healthy else "NOT clean:")
        )
        if not healthy:
            write(trace_text.render(clean.result, clean.suspects, limit=3))
    return found and healthy


def _copy(simulator: Path, folder: Path) -> Path:
    shutil.copytree(simulator, folder / "braggsim", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _diagnose(folder: Path, echo: bool = False) -> Diagnosis:
    package = folder / "braggsim"
    findings = check([package], CheckOptions(root=folder)).findings
    return diagnose(
        WORKLOAD, findings=findings, root=folder, user_paths=[str(package)], pythonpath=[str(folder)], echo=echo
    )


def describe_breaks(write: Callable[[str], None] = print) -> None:
    _simulator()
    from braggsim.breaks import BREAKS

    for brk in BREAKS:
        write(f"{brk.id:<34} {brk.family:<13} braggsim/{brk.path}: {brk.description}")
