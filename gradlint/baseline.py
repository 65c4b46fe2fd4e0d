"""Findings against a base commit: fingerprints, the findings at that commit, and the lines changed since.

    fingerprints(findings) -> one stable identity per finding
    base_findings(ref, paths, context, options, check) -> what the same check reports on the files at ``ref``
    compare(current, base) -> Comparison(new, existing)
    changed_lines(ref, root) -> ChangedLines

A fingerprint hashes the rule code, the path, the reported line's text (without indentation) and how many
identical (code, path, text) findings come before it, so it survives the code moving to other lines; it is
the SARIF ``partialFingerprints`` value too. The files at ``ref`` are read from git's object store into a
temporary folder and checked there with the same settings; the working tree is never touched.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Callable, Dict, FrozenSet, List, Mapping, Sequence

from gradlint.discovery import SOURCE_SUFFIXES
from gradlint.engine import CheckOptions, CheckResult
from gradlint.findings import Finding

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@")


class BaselineError(Exception):
    """The base commit cannot be compared with (no git, not a repository, an unknown commit)."""


def fingerprints(findings: Sequence[Finding]) -> List[str]:
    seen: Dict[tuple, int] = {}
    result = []
    for finding in findings:
        key = (finding.code, finding.location.path.replace("\\", "/"), finding.source_line.strip())
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        material = "\0".join((*key, str(occurrence))).encode("utf-8")
        result.append(hashlib.blake2b(material, digest_size=16).hexdigest())
    return result


@dataclass(frozen=True)
class Comparison:
    new: List[Finding]  # not at the base commit: what is reported
    existing: List[Finding]  # there already


def compare(current: Sequence[Finding], base: Sequence[Finding]) -> Comparison:
    known = set(fingerprints(base))
    new: List[Finding] = []
    existing: List[Finding] = []
    for finding, fingerprint in zip(current, fingerprints(current)):
        (existing if fingerprint in known else new).append(finding)
    return Comparison(new, existing)


@dataclass(frozen=True)
class ChangedLines:
    """Lines added or changed since a commit, by path relative to the project root; files new since then."""

    lines: Mapping[str, FrozenSet[int]] = field(default_factory=dict)
    new_files: FrozenSet[str] = frozenset()

    def __contains__(self, finding: Finding) -> bool:
        path = finding.location.path
        return path in self.new_files or finding.location.line in self.lines.get(path, ())


def base_findings(
    ref: str,
    paths: Sequence[Path],
    context: Sequence[Path],
    options: CheckOptions,
    check: Callable[[Sequence[Path], CheckOptions, Sequence[Path]], CheckResult],
) -> List[Finding]:
    """What ``check`` reports on ``paths`` (with the project ``context``) as they were at ``ref``; files absent
    there are simply missing."""
    top = _toplevel(options.root)
    commit = _commit(ref, top)
    root = _inside(options.root, top)
    wanted = [_inside(path, top) for path in paths]
    around = [_inside(path, top) for path in context if _is_inside(path, top)]  # the rest cannot be compared
    with tempfile.TemporaryDirectory(prefix="gradlint-baseline-") as folder:
        copy = Path(folder)
        _export(commit, [*wanted, *around], top, copy)
        base_paths = [copy / path for path in wanted if (copy / path).exists()]
        if not base_paths:
            return []
        base_context = [copy / path for path in around if (copy / path).exists()]
        return check(base_paths, replace(options, root=copy / root), base_context).findings


def changed_lines(ref: str, root: Path) -> ChangedLines:
    """What changed in the working tree since ``ref`` under ``root``; untracked files count as new."""
    top = _toplevel(root)
    commit = _commit(ref, top)
    diff = _git(
        root,
        "-c",
        "core.quotePath=false",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--unified=0",
        "--relative",
        commit,
        "--",
        ".",
    ).decode("utf-8", "replace")
    lines: Dict[str, set] = {}
    current: set = set()
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            current = lines.setdefault(target[2:], set()) if target.startswith("b/") else set()
            continue
        hunk = _HUNK.match(line)
        if hunk:
            start, count = int(hunk.group("start")), int(hunk.group("count") or 1)
            current.update(range(start, start + count))
    untracked = _git(
        root, "-c", "core.quotePath=false", "ls-files", "-z", "--others", "--exclude-standard", "--", "."
    ).decode("utf-8", "replace")
    return ChangedLines(
        {path: frozenset(found) for path, found in lines.items()},
        frozenset(name for name in untracked.split("\0") if name),
    )


def merge_base(branch: str, root: Path) -> str | None:
    """Where the current branch left ``branch`` (``origin/main``), or None when that branch is not known here."""
    try:
        return _git(root, "merge-base", branch, "HEAD").decode().strip() or None
    except BaselineError:
        return None


def _export(commit: str, wanted: Sequence[PurePosixPath], top: Path, folder: Path) -> None:
    """Write the source files under ``wanted`` at ``commit`` into ``folder``, with the ``__init__.py`` files of
    the folders above them (a module's name depends on them)."""
    named = {str(path) for path in wanted}
    prefixes = tuple("" if name == "." else f"{name}/" for name in named)
    packages = {str(parent / "__init__.py") for path in wanted for parent in path.parents if str(parent) != "."}
    listing = _git(top, "ls-tree", "-r", "-z", "--full-tree", commit).decode("utf-8", "surrogateescape")
    blobs: Dict[str, str] = {}
    for entry in filter(None, listing.split("\0")):
        meta, name = entry.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind != "blob" or mode == "120000":  # symbolic links are not copied
            continue
        if name in named or name in packages or (name.endswith(SOURCE_SUFFIXES) and name.startswith(prefixes)):
            blobs[name] = sha
    if not blobs:
        return
    output = _git(top, "cat-file", "--batch", stdin="".join(f"{sha}\n" for sha in blobs.values()).encode())
    offset = 0
    for name in blobs:
        header_end = output.index(b"\n", offset)
        size = int(output[offset:header_end].split()[2])
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(output[header_end + 1 : header_end + 1 + size])
        offset = header_end + 1 + size + 1


def _toplevel(root: Path) -> Path:
    try:
        return Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    except BaselineError as error:
        raise BaselineError(f"comparing with a commit needs a git repository ({error})") from None


def _commit(ref: str, top: Path) -> str:
    try:
        return _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").decode().strip()
    except BaselineError:
        raise BaselineError(f"unknown commit {ref!r}") from None


def _is_inside(path: Path, top: Path) -> bool:
    return top.resolve() in (Path(path).resolve(), *Path(path).resolve().parents)


def _inside(path: Path, top: Path) -> PurePosixPath:
    """``path`` relative to the repository's top folder."""
    try:
        return PurePosixPath(Path(path).resolve().relative_to(top.resolve()).as_posix())
    except ValueError:
        raise BaselineError(f"{path} is outside the git repository {top}") from None


def _git(folder: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        completed = subprocess.run(["git", *args], cwd=folder, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise BaselineError("comparing with a commit needs git, which is not installed") from None
    except OSError as error:
        raise BaselineError(f"cannot run git: {error.strerror or error}") from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BaselineError(f"git {args[0]} failed in {folder}: {message[-1] if message else 'no message'}")
    return completed.stdout
