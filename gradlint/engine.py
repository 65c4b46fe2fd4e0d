"""Paths -> files -> syntax trees -> facts -> findings.

CONTRACT (the implementation is being written; the signatures are fixed):

    check(paths, options) -> CheckResult
    check_text(text, display_path, options) -> CheckResult      # stdin

Paths are files or folders (already validated to exist by the caller); folders are walked by
``gradlint.discovery``. Every file that cannot be read, decoded or parsed yields a GL000 finding;
every other file is still checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from gradlint.findings import Confidence, Finding


@dataclass(frozen=True)
class CheckOptions:
    root: Path = Path(".")                       # project root: finding paths are relative to it
    select: frozenset[str] | None = None         # None: every rule; else codes or code prefixes ("GL0")
    ignore: frozenset[str] = frozenset()         # codes or prefixes
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()   # (glob, codes)
    confidence: Confidence = Confidence.MEDIUM   # lowest confidence reported
    exclude: tuple[str, ...] = ()                # globs, replacing the default excludes
    extend_exclude: tuple[str, ...] = ()         # globs, added to the excludes
    jobs: int = 0                                # 0: one process per core
    cache_dir: Path | None = None                # None: no cache
    report_unused_ignores: bool = False


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)   # sorted by path, line, column, code
    files_checked: int = 0
    files_from_cache: int = 0


def check(paths: Sequence[Path], options: CheckOptions) -> CheckResult:
    raise NotImplementedError


def check_text(text: bytes, display_path: str, options: CheckOptions) -> CheckResult:
    raise NotImplementedError
