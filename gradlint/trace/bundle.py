"""The report bundle: a dated folder with the summary, the JSON results and the target's output log."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any, Sequence

from gradlint import __version__
from gradlint.rank import Suspect
from gradlint.report.trace_text import render_summary_markdown
from gradlint.trace import serialize
from gradlint.trace.results import TraceResult


def _versions() -> dict[str, str]:
    try:
        import torch
    except ImportError:
        torch_version = "not installed"
    else:
        torch_version = torch.__version__
    return {"python": platform.python_version(), "torch": torch_version, "gradlint": __version__}


def _new_folder(report_dir: Path) -> Path:
    stamp = time.strftime("trace-%Y%m%d-%H%M%S")
    folder, number = report_dir / stamp, 1
    while folder.exists():
        number += 1
        folder = report_dir / f"{stamp}-{number}"
    folder.mkdir(parents=True)
    return folder


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def prepare(report_dir: Path, target: str, command: str) -> Path:
    """Make the bundle's folder before the target runs, with a ``summary.md`` saying the trace has not finished.

    An unwritable ``report_dir`` is found here (``OSError``), before the target runs; and if the process ends
    before ``write`` (the target ended it from native code, or it was killed), the folder says so.
    """
    folder = _new_folder(report_dir)
    (folder / "summary.md").write_text(
        f"# gradlint trace: `{target}`\n\n- command: `{command}`\n- started: {time.strftime('%Y-%m-%d %H:%M:%S')}\n\n"
        "The trace has not finished. If this file still says so, the process ended before gradlint could write "
        "its report: the target ended it without Python's cleanup (os._exit from native code, a crash), or it "
        "was killed (SIGKILL).\n",
        encoding="utf-8",
    )
    return folder


def write(folder: Path, result: TraceResult, suspects: Sequence[Suspect], command: str) -> Path:
    """Write ``summary.md``, ``gradients.json``, ``trace.json``, ``suspects.json`` and ``output.log`` into the
    folder ``prepare`` made."""
    (folder / "summary.md").write_text(
        render_summary_markdown(result, suspects, command, _versions()), encoding="utf-8"
    )
    _dump(folder / "gradients.json", serialize.gradients_dict(result))
    _dump(folder / "trace.json", serialize.trace_dict(result))
    _dump(folder / "suspects.json", serialize.suspects_dict(suspects))
    (folder / "output.log").write_text(result.log, encoding="utf-8")
    return folder
