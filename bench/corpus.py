"""The static checker on real code nobody here wrote: fixed gradient bugs and deliberate stop-gradients.

Each case of ``bench/corpus/cases.toml`` cites a public repository, a commit, a file and the lines of a cut: a
fixed gradient bug (checked at the fix's parent, where the bug still is) or a deliberate stop-gradient (checked
at the cited commit). The runner takes every file from a local mirror of its repository, runs gradlint on it
three ways, and prints, for each confidence level, how many bugs gradlint finds, how many deliberate sites it
flags and how many lines it flags per 1000 lines it scans, next to a grep for the rules' tokens over the same
lines, in the same run:

- ``alone``: the file by itself (``gradlint --no-context FILE``);
- ``package``: the file inside its package (``gradlint --no-context PACKAGE``);
- ``project``: the file in its whole repository, with the repository's tests and scripts as evidence
  (``gradlint FILE`` from the repository's root, which is what a pre-commit hook or an editor does).

A case counts as found (or flagged) when a finding at that confidence or above covers one of its lines.

    python bench/corpus.py MIRRORS_DIR [--cases FILE] [--modes alone,package,project] [--verbose]

MIRRORS_DIR holds one git repository (bare or not) per cited repository, as ``owner+name``, ``owner+name/repo``
or ``owner/name``; ``--clone`` fills in the missing ones with ``git clone --mirror`` (network needed). Files are
extracted under ``--work`` (a temporary folder by default); nothing is written anywhere else.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - older interpreters
    import tomli as tomllib

from gradlint import engine  # noqa: E402
from gradlint.config import Overrides, load_settings  # noqa: E402
from gradlint.findings import Confidence, Finding  # noqa: E402
from gradlint.rules import ALL_RULES  # noqa: E402
from gradlint.rules.base import GRADIENT_WORDS  # noqa: E402

CASES = Path(__file__).resolve().parent / "corpus" / "cases.toml"
MODES = ("alone", "package", "project")
KINDS = ("bug", "deliberate")
EXTRACTED = (".py", ".pyi", ".ipynb", ".toml", ".cfg")
_FIELDS = {"id", "kind", "repo", "commit", "path", "lines", "package", "family", "construct", "why", "link", "verified"}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    repo: str
    commit: str
    path: str
    lines: Tuple[int, ...]
    package: str
    family: str
    parent: str = ""

    @property
    def checked(self) -> str:
        """The commit whose file is checked: the bug's parent, or the deliberate site's own commit."""
        return self.parent if self.kind == "bug" else self.commit


def load_cases(path: Path) -> List[Case]:
    with open(path, "rb") as stream:
        rows = tomllib.load(stream).get("case", [])
    cases = []
    for row in rows:
        missing = _FIELDS - set(row) - {"verified", "construct", "why", "link"}
        if missing or row["kind"] not in KINDS or (row["kind"] == "bug" and not row.get("parent")):
            raise SystemExit(f"{path}: case {row.get('id', '?')} is incomplete ({', '.join(sorted(missing))})")
        cases.append(
            Case(
                row["id"],
                row["kind"],
                row["repo"],
                row["commit"],
                row["path"],
                tuple(row["lines"]),
                row["package"],
                row["family"],
                row.get("parent", ""),
            )
        )
    ids = [case.id for case in cases]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{path}: duplicate case ids")
    return cases


# ---------------------------------------------------------------------------------------------- mirrors
def find_mirror(mirrors: Path, repo: str) -> Optional[Path]:
    owner, name = repo.split("/")
    for candidate in (
        mirrors / f"{owner}+{name}" / "repo",
        mirrors / f"{owner}+{name}",
        mirrors / owner / name,
        mirrors / owner / f"{name}.git",
    ):
        if candidate.is_dir() and _git(candidate, "rev-parse", "--git-dir", check=False) is not None:
            return candidate
    return None


def clone_mirror(mirrors: Path, repo: str) -> Path:
    target = mirrors / repo.replace("/", "+")
    subprocess.run(["git", "clone", "--quiet", "--mirror", f"https://github.com/{repo}", str(target)], check=True)
    return target


def _git(repository: Path, *args: str, check: bool = True, data: Optional[bytes] = None) -> Optional[bytes]:
    done = subprocess.run(["git", "-C", str(repository), *args], input=data, capture_output=True)
    if done.returncode != 0:
        if check:
            raise RuntimeError(f"git {' '.join(args)} in {repository}: {done.stderr.decode(errors='replace')}")
        return None
    return done.stdout


def extract(repository: Path, commit: str, destination: Path) -> None:
    """Write the commit's source and configuration files under ``destination`` (blobs the mirror lacks skipped)."""
    if destination.exists():
        return
    listing = _git(repository, "ls-tree", "-r", "-z", commit) or b""
    wanted: List[Tuple[str, str]] = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        kind, sha = meta.split()[1:3]
        path = name.decode("utf-8", "surrogateescape")
        if kind == b"blob" and path.endswith(EXTRACTED):
            wanted.append((sha.decode(), path))
    batch = subprocess.run(
        ["git", "-C", str(repository), "cat-file", "--batch"],
        capture_output=True,
        input="".join(f"{sha}\n" for sha, _ in wanted).encode(),
    )
    stream = batch.stdout
    position = 0
    partial = destination.with_name(destination.name + ".partial")
    for _, path in wanted:
        header_end = stream.index(b"\n", position)
        header = stream[position:header_end].split()
        position = header_end + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        target = partial / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(stream[position : position + size])
        position += size + 1
    partial.mkdir(parents=True, exist_ok=True)
    partial.rename(destination)


# ---------------------------------------------------------------------------------------------- running
@dataclass
class Run:
    """The findings of one mode on one checked tree, and the lines it scanned."""

    findings: Dict[str, List[Finding]] = field(default_factory=dict)  # path relative to the tree -> findings
    scanned: Dict[str, int] = field(default_factory=dict)  # path -> number of lines


def run_gradlint(tree: Path, paths: Sequence[str], *, context: bool) -> Run:
    overrides = Overrides(
        paths=tuple(str(tree / path) for path in paths), confidence="low", no_cache=True, no_context=not context
    )
    settings = load_settings(overrides, tree)
    checked = engine.check(settings.paths, settings.options, settings.context)
    run = Run()
    for finding in checked.findings:
        run.findings.setdefault(_relative(finding.location.path, tree, settings.options.root), []).append(finding)
    for path in paths:
        for file in _python_files(tree / path):
            run.scanned[file.relative_to(tree).as_posix()] = _line_count(file)
    return run


def _relative(display: str, tree: Path, root: Path) -> str:
    absolute = (root / display).resolve()
    try:
        return absolute.relative_to(tree.resolve()).as_posix()
    except ValueError:
        return display


def _python_files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
    else:
        yield from (file for file in sorted(path.rglob("*.py")) if file.is_file())


def _line_count(path: Path) -> int:
    return len(path.read_bytes().splitlines())


def grep_tokens() -> Tuple[str, ...]:
    """The tokens a plain grep for the rules would look for: every rule's, except the words that only say a file
    is about gradients at all."""
    return tuple(sorted({token for rule in ALL_RULES for token in rule.tokens} - set(GRADIENT_WORDS)))


def grep_lines(path: Path, tokens: Sequence[str]) -> Set[int]:
    pattern = re.compile("|".join(re.escape(token) for token in tokens))
    text = path.read_text(encoding="utf-8", errors="replace")
    return {number for number, line in enumerate(text.splitlines(), 1) if pattern.search(line.split("#", 1)[0])}


def flagged_lines(findings: Iterable[Finding], level: Confidence) -> Set[int]:
    lines: Set[int] = set()
    for finding in findings:
        if finding.confidence >= level:
            lines.update(range(finding.location.line, finding.location.end_line + 1))
    return lines


# ---------------------------------------------------------------------------------------------- measuring
@dataclass
class Tally:
    found: Dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in KINDS})
    flagged: int = 0
    scanned: int = 0
    hits: Dict[str, List[str]] = field(default_factory=lambda: defaultdict(list))  # kind -> case ids hit

    def row(self, totals: Dict[str, int]) -> str:
        bugs = f"{self.found['bug']}/{totals['bug']} ({_percent(self.found['bug'], totals['bug'])})"
        deliberate = (
            f"{self.found['deliberate']}/{totals['deliberate']} "
            f"({_percent(self.found['deliberate'], totals['deliberate'])})"
        )
        density = 1000 * self.flagged / self.scanned if self.scanned else 0.0
        return f"{bugs:>16} {deliberate:>16} {density:>10.1f}"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


LEVELS = (Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH)


def measure(cases: Sequence[Case], mirrors: Path, work: Path, modes: Sequence[str], clone: bool, verbose: bool) -> int:
    tokens = grep_tokens()
    tallies = {(mode, level): Tally() for mode in modes for level in LEVELS}
    greps = {mode: Tally() for mode in modes}
    totals = {kind: sum(case.kind == kind for case in cases) for kind in KINDS}
    runs: Dict[Tuple[str, str, str, str], Run] = {}
    counted: Set[Tuple[str, str, str, str]] = set()  # (mode, repo, commit, path) whose lines were counted
    skipped = []
    for case in cases:
        mirror = find_mirror(mirrors, case.repo) or (clone_mirror(mirrors, case.repo) if clone else None)
        if mirror is None:
            skipped.append(f"{case.id}: no mirror of {case.repo}")
            continue
        tree = work / case.repo.replace("/", "+") / case.checked[:12]
        extract(mirror, case.checked, tree)
        if not (tree / case.path).is_file():
            skipped.append(f"{case.id}: {case.path} is not in {case.repo} at {case.checked[:12]}")
            continue
        for mode in modes:
            target = {"alone": case.path, "package": case.package or case.path, "project": case.path}[mode]
            key = (mode, case.repo, case.checked, target)
            if key not in runs:
                try:
                    runs[key] = run_gradlint(tree, [target], context=mode == "project")
                except Exception as error:  # a crash on real code is a result worth printing, not the end
                    skipped.append(f"{case.id} ({mode}): gradlint failed: {type(error).__name__}: {error}")
                    runs[key] = Run()
            run = runs[key]
            findings = run.findings.get(case.path, [])
            grep = grep_lines(tree / case.path, tokens)
            for level in LEVELS:
                tally = tallies[(mode, level)]
                if flagged_lines(findings, level) & set(case.lines):
                    tally.found[case.kind] += 1
                    tally.hits[case.kind].append(case.id)
            if grep & set(case.lines):
                greps[mode].found[case.kind] += 1
                greps[mode].hits[case.kind].append(case.id)
            for path, count in run.scanned.items():
                if (mode, case.repo, case.checked, path) in counted:
                    continue
                counted.add((mode, case.repo, case.checked, path))
                for level in LEVELS:
                    tallies[(mode, level)].scanned += count
                    tallies[(mode, level)].flagged += len(flagged_lines(run.findings.get(path, []), level))
                greps[mode].scanned += count
                greps[mode].flagged += len(grep_lines(tree / path, tokens))
            if verbose:
                _describe(case, mode, findings)
    _print_table(modes, tallies, greps, totals, len(cases) - len(skipped))
    for line in skipped:
        print(f"skipped: {line}")
    return 0


def _describe(case: Case, mode: str, findings: Sequence[Finding]) -> None:
    on_lines = [f for f in findings if set(range(f.location.line, f.location.end_line + 1)) & set(case.lines)]
    verdict = ", ".join(f"{f.code}@{f.location.line}[{f.confidence.label}]" for f in on_lines) or "nothing"
    print(f"  {mode:8} {case.kind:10} {case.id:40} {case.family:13} {verdict}")


def _print_table(modes, tallies, greps, totals, used: int) -> None:
    print(f"\n{used} cases: {totals['bug']} fixed bugs, {totals['deliberate']} deliberate stop-gradients")
    header = f"{'mode':8} {'confidence':10} {'bugs found':>16} {'deliberate flagged':>16} {'lines/1000':>10}"
    print(header)
    print("-" * len(header))
    for mode in modes:
        for level in LEVELS:
            print(f"{mode:8} {level.label:10} {tallies[(mode, level)].row(totals)}")
        print(f"{mode:8} {'grep':10} {greps[mode].row(totals)}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mirrors", type=Path, help="folder of git mirrors of the cited repositories")
    parser.add_argument("--cases", type=Path, default=CASES, help="the corpus file (default: %(default)s)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: alone, package, project")
    parser.add_argument("--work", type=Path, help="where to extract the checked trees (default: a temporary folder)")
    parser.add_argument("--clone", action="store_true", help="clone missing mirrors from GitHub")
    parser.add_argument("--only", help="a regular expression: only cases whose id matches")
    parser.add_argument("--verbose", action="store_true", help="print what each mode finds on each case's lines")
    args = parser.parse_args(argv)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")
    cases = load_cases(args.cases)
    if args.only:
        cases = [case for case in cases if re.search(args.only, case.id)]
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        return measure(cases, args.mirrors, args.work, modes, args.clone, args.verbose)
    with tempfile.TemporaryDirectory(prefix="gradlint-corpus-") as work:
        return measure(cases, args.mirrors, Path(work), modes, args.clone, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
