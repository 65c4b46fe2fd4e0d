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


def write(report_dir: Path, result: TraceResult, suspects: Sequence[Suspect], command: str) -> Path:
    """Write ``summary.md``, ``gradients.json``, ``trace.json``, ``suspects.json`` and ``output.log``."""
    folder = _new_folder(report_dir)
    (folder / "summary.md").write_text(render_summary_markdown(result, suspects, command, _versions()),
                                       encoding="utf-8")
    _dump(folder / "gradients.json", serialize.gradients_dict(result))
    _dump(folder / "trace.json", serialize.trace_dict(result))
    _dump(folder / "suspects.json", serialize.suspects_dict(suspects))
    (folder / "output.log").write_text(result.log, encoding="utf-8")
    return folder
