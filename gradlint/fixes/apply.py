"""Choosing and applying the fixes of a run, round after round, in memory.

A round checks the files (with the fixed texts of earlier rounds in place of what is on disk), picks in each
file the fixes it may apply, leaving out any that touches the text of one picked before, applies them and
checks that the result still parses. The next round sees the fixed program: a fix that had to wait for an
overlapping one, or for an inner cut to be fixed first (the elements of a list built into a tensor), is
applied then. Rounds stop when nothing changes. Nothing is written here: :mod:`gradlint.edits` writes the
changes or shows them as a diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Sequence

from gradlint import edits, notebooks
from gradlint.engine import CheckResult, parses
from gradlint.findings import Autofix, Confidence, Edit, Finding

MAX_ROUNDS = 16
# Below this confidence a finding is not fixed, even when it is shown (--confidence low).
FIX_CONFIDENCE = Confidence.MEDIUM


@dataclass
class FixRun:
    result: CheckResult  # the check of the fixed texts: what remains
    changes: List[edits.FileChange] = field(default_factory=list)  # files whose bytes the fixes change
    fixed: int = 0  # fixes applied
    warnings: List[str] = field(default_factory=list)


def applicable(finding: Finding, unsafe: bool) -> bool:
    """Whether ``--fix`` (with ``--unsafe-fixes`` when ``unsafe``) applies the fix of ``finding``."""
    autofix = finding.autofix
    return autofix is not None and finding.confidence >= FIX_CONFIDENCE and (autofix.safe or unsafe)


def run(
    check: Callable[[Mapping[str, bytes]], CheckResult],
    read: Callable[[str], bytes],
    locate: Callable[[str], Path],
    *,
    unsafe: bool,
) -> FixRun:
    """Fix until nothing changes. ``check(texts)`` checks with ``texts`` (display path -> bytes) in place of the
    files, ``read(display)`` gives a file's bytes and ``locate(display)`` its path."""
    texts: Dict[str, bytes] = {}
    originals: Dict[str, bytes] = {}
    outcome = FixRun(result=check(texts))
    for _ in range(MAX_ROUNDS):
        progressed = False
        for display, fixes in _by_file(outcome.result.findings, unsafe).items():
            current = texts[display] if display in texts else originals.setdefault(display, read(display))
            chosen = _compatible(fixes)
            notebook = display.endswith(notebooks.SUFFIX)
            try:
                fixed = edits.apply(current, [edit for fix in chosen for edit in fix.edits], notebook=notebook)
            except (ValueError, notebooks.NotebookError) as error:
                outcome.warnings.append(f"{display}: fixes not applied ({error})")
                continue
            if fixed == current:
                continue
            if not parses(fixed, display):
                outcome.warnings.append(f"{display}: fixes not applied: the result would not parse (please report it)")
                continue
            texts[display] = fixed
            outcome.fixed += len(chosen)
            progressed = True
        if not progressed:
            break
        outcome.result = check(texts)
    outcome.changes = [
        edits.FileChange(locate(display), display, originals[display], text)
        for display, text in texts.items()
        if text != originals[display]
    ]
    return outcome


def _by_file(findings: Sequence[Finding], unsafe: bool) -> Dict[str, List[Autofix]]:
    fixes: Dict[str, List[Autofix]] = {}
    for finding in findings:
        fix = finding.autofix
        if fix is not None and applicable(finding, unsafe) and fix not in fixes.get(finding.location.path, ()):
            fixes.setdefault(finding.location.path, []).append(fix)
    return fixes


def _compatible(fixes: Sequence[Autofix]) -> List[Autofix]:
    """The fixes in order of position, leaving out each one that overlaps one taken before it."""
    taken: List[Autofix] = []
    placed: List[Edit] = []

    def start(fix: Autofix) -> tuple:
        return min((edit.location.cell or 0, edit.location.line, edit.location.column) for edit in fix.edits)

    for fix in sorted(fixes, key=start):
        if any(edits.overlaps(edit, other) for edit in fix.edits for other in placed):
            continue
        taken.append(fix)
        placed.extend(fix.edits)
    return taken
