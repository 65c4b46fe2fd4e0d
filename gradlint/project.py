"""What the project is: where its own code and its evidence live, so that every run sees the same program.

The analysis is whole-program: a parameter born in a test (``torch.tensor(..., requires_grad=True)``) and handed
to a configuration class makes that class's fields differentiable wherever they are read. So a run given some
files (the staged files of a pre-commit hook, an editor's buffer, one file on the command line) analyses them
together with the rest of the project, its *context*: files whose facts join the solve but whose findings are
not reported. Given the same project, the findings of a file are then the same whichever subset was named.

The context is the project's own code (the configured ``paths``; without a configuration, the whole project
root) and its *evidence*: the folders where parameters are usually born (tests, examples, scripts, notebooks)
and the Python files at the root (training scripts), or the configured ``evidence``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Sequence, Tuple

# Where parameters are born, looked for at the project root when ``evidence`` is not configured.
EVIDENCE_FOLDERS = (
    "tests",
    "test",
    "examples",
    "example",
    "scripts",
    "notebooks",
    "tutorials",
    "demos",
    "benchmarks",
    "bench",
)
EVIDENCE_SUFFIXES = (".py", ".ipynb")
# A folder holding one of these is a project root.
ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def find_root(start: Path) -> Optional[Path]:
    """The nearest folder at or above ``start`` that holds a project marker, or None."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return None


def default_evidence(root: Path) -> Tuple[Path, ...]:
    """The evidence folders present at ``root`` and the Python files and notebooks directly in it."""
    folders = [root / name for name in EVIDENCE_FOLDERS if (root / name).is_dir()]
    try:
        files = sorted(path for path in root.iterdir() if path.suffix in EVIDENCE_SUFFIXES and path.is_file())
    except OSError:
        files = []
    return (*folders, *files)


def context_paths(root: Optional[Path], sources: Sequence[Path], evidence: Optional[Iterable[str]]) -> Tuple[Path, ...]:
    """Everything a run analyses besides the files it reports: the project's ``sources`` and its evidence.

    ``evidence`` holds the configured evidence paths, relative to ``root`` (None: the defaults). Paths that do not
    exist are left out: evidence is optional.
    """
    if root is None:
        return ()
    found = default_evidence(root) if evidence is None else tuple(root / path for path in evidence)
    return tuple(path for path in (*sources, *found) if path.exists())
