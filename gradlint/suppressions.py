"""Suppression comments: which findings the author has silenced, and which silencers silence nothing.

Recognised comments:

* ``# gradlint: ignore[GL010, GL001] -- reason`` silences those codes; ``# gradlint: ignore`` every code.
* ``# noqa: GL010`` silences GL010; codes of other tools in the same comment (``# noqa: E501, GL010``)
  are left to those tools, and a noqa without any GL code is not ours. A bare ``# noqa`` silences every code.
* ``# gradlint: skip-file`` on a line of its own skips the whole file.

A suppression at the end of a line applies to that line; on a line holding only comments it applies to the
next line that holds code. A finding is silenced by a suppression on its first line.

``add_noqa`` writes suppressions: a ``# noqa: CODES`` comment at the end of each finding's first line, or its
codes added to the ``# noqa`` comment already there (ruff's ``--add-noqa``).
"""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Iterable, Iterator, Mapping

from gradlint.findings import Confidence, Edit, Finding, Location, source_lines

UNUSED_SUPPRESSION_CODE = "GL900"
UNUSED_SUPPRESSION_RULE = "unused-suppression"

_GRADLINT_IGNORE = re.compile(r"#\s*gradlint:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?(?:\s*--\s*(?P<reason>[^#]*))?")
_SKIP_FILE = re.compile(r"#\s*gradlint:\s*skip-file\b")
_NOQA = re.compile(r"#\s*noqa\b(?:\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,?\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+[0-9]+")
# Tokens after which the next line starts afresh.
_LINE_BREAKS = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)


@dataclass(frozen=True)
class Suppression:
    line: int  # where the comment is
    column: int  # 1-based column of the directive's ``#``
    end_column: int  # exclusive
    target_line: int  # the line whose findings it silences
    codes: tuple[str, ...]  # empty: every code
    style: str  # "gradlint" or "noqa"
    reason: str = ""
    source_line: str = ""


@dataclass(frozen=True)
class Directives:
    """Everything the suppression comments of one file say; plain data, cheap to cache."""

    suppressions: tuple[Suppression, ...] = ()
    skip_file: bool = False


@dataclass(frozen=True)
class _Comment:
    line: int
    column: int  # 0-based offset of the ``#`` in the line
    text: str
    own_line: bool  # nothing but whitespace before it


def parse(text: str) -> Directives:
    if "noqa" not in text and "gradlint" not in text:
        return Directives()  # tokenizing costs a quarter of a parse: skip it when no directive can be there
    lines = source_lines(text)
    suppressions: list[Suppression] = []
    skip_file = False
    for comment in _comments(text, lines):
        if comment.own_line and _SKIP_FILE.match(comment.text):
            skip_file = True
            continue
        target = _next_code_line(lines, comment.line) if comment.own_line else comment.line
        suppressions.extend(_suppressions_in(comment, target, lines[comment.line - 1]))
    return Directives(suppressions=tuple(suppressions), skip_file=skip_file)


def apply(
    findings: Iterable[Finding],
    directives: Directives,
    *,
    report_unused: bool = False,
    path: str = "",
    is_enabled: Callable[[str], bool] | None = None,
) -> list[Finding]:
    """The findings no suppression silences, sorted; plus, with ``report_unused``, a GL900 finding (at
    ``path``) for each suppression, or code in one, that silenced nothing, unless ``is_enabled`` is false for
    GL900 itself. Codes for which ``is_enabled`` is false are never called unused: their rule did not run. A
    bare ``# noqa`` is never called unused, since it may be meant for another tool."""
    if directives.skip_file:
        return []
    by_line: dict[int, list[Suppression]] = defaultdict(list)
    for suppression in directives.suppressions:
        by_line[suppression.target_line].append(suppression)
    used: dict[Suppression, set[str]] = defaultdict(set)
    kept: list[Finding] = []
    for finding in findings:
        silenced = False
        for suppression in by_line.get(finding.location.line, ()):
            if not suppression.codes or finding.code in suppression.codes:
                used[suppression].add(finding.code)
                silenced = True
        if not silenced:
            kept.append(finding)
    enabled = is_enabled or (lambda code: True)
    if report_unused and enabled(UNUSED_SUPPRESSION_CODE):
        kept.extend(_unused_findings(directives.suppressions, used, path, enabled))
    return sorted(kept, key=lambda finding: finding.sort_key)


def silencing_edit(path: str, line_text: str, line: int, code: str) -> Edit:
    """The edit that silences ``code`` on ``line`` of ``path``, whose text is ``line_text`` (without its line
    break): the code added to the line's ``# gradlint: ignore[...]`` comment, or such a comment added at the end
    of the line."""
    match = _GRADLINT_IGNORE.search(line_text)
    if match is not None and match.group("codes") is not None:
        codes = list(dict.fromkeys([*_CODE.findall(match.group("codes")), code]))
        where = Location(path, line, match.start("codes") + 1, line, match.end("codes") + 1)
        return Edit(where, ", ".join(codes))
    end = len(line_text.rstrip())
    return Edit(Location(path, line, end + 1, line, len(line_text) + 1), f"  # gradlint: ignore[{code}]")


def _unused_findings(
    suppressions: Iterable[Suppression],
    used: dict[Suppression, set[str]],
    path: str,
    is_enabled: Callable[[str], bool],
) -> Iterator[Finding]:
    for suppression in suppressions:
        if not suppression.codes:
            if suppression.style == "noqa" or suppression in used:
                continue
            message = f"unused suppression: nothing to silence on line {suppression.target_line}"
            fix = "remove the comment"
        else:
            unused = [code for code in suppression.codes if code not in used[suppression] and is_enabled(code)]
            if not unused:
                continue
            listed = ", ".join(unused)
            message = f"unused suppression of {listed}: no such finding on line {suppression.target_line}"
            fix = f"remove {listed} from the comment"
        yield Finding(
            code=UNUSED_SUPPRESSION_CODE,
            rule=UNUSED_SUPPRESSION_RULE,
            message=message,
            location=Location(path, suppression.line, suppression.column, suppression.line, suppression.end_column),
            confidence=Confidence.HIGH,
            fix=fix,
            source_line=suppression.source_line,
        )


def _suppressions_in(comment: _Comment, target: int, source_line: str) -> Iterator[Suppression]:
    for match in _GRADLINT_IGNORE.finditer(comment.text):
        codes = _CODE.findall(match.group("codes") or "")
        yield _suppression(comment, match, target, source_line, codes, "gradlint", match.group("reason") or "")
    for match in _NOQA.finditer(comment.text):
        if match.group("codes") is None:
            yield _suppression(comment, match, target, source_line, [], "noqa", "")
            continue
        ours = [code for code in _CODE.findall(match.group("codes")) if code.upper().startswith("GL")]
        if ours:
            yield _suppression(comment, match, target, source_line, ours, "noqa", "")


def _suppression(
    comment: _Comment,
    match: re.Match[str],
    target: int,
    source_line: str,
    codes: list[str],
    style: str,
    reason: str,
) -> Suppression:
    start = comment.column + match.start()
    return Suppression(
        line=comment.line,
        column=start + 1,
        end_column=start + len(match.group(0).rstrip()) + 1,
        target_line=target,
        codes=tuple(dict.fromkeys(code.upper() for code in codes)),
        style=style,
        reason=reason.strip(),
        source_line=source_line,
    )


def _comments(text: str, lines: list[str]) -> Iterator[_Comment]:
    """Comment tokens; after a tokenizing error, ``#`` anywhere in the remaining lines (best effort)."""
    last_line = 0
    try:
        # Universal newlines: a lone \r ends a line for the tokenizer, as for Python.
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                row, column = token.start
                last_line = row
                yield _Comment(row, column, token.string, not token.line[:column].strip())
            elif token.type != tokenize.ENDMARKER:
                last_line = max(last_line, token.end[0] - 1)
    except (tokenize.TokenError, SyntaxError):
        for row in range(last_line + 1, len(lines) + 1):
            line = lines[row - 1]
            column = line.find("#")
            if column >= 0:
                yield _Comment(row, column, line[column:], not line[:column].strip())


def _next_code_line(lines: list[str], line: int) -> int:
    """The first line after ``line`` that is not a comment-only line (past the end: the line after)."""
    row = line + 1
    while row <= len(lines) and lines[row - 1].lstrip().startswith("#"):
        row += 1
    return row


@dataclass
class NoqaOutcome:
    added: int = 0  # lines that got a suppression
    changed_files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)  # (path, line) where no comment can go
    unwritable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def add_noqa(findings: Iterable[Finding], root: Path, *, unsuppressible: Collection[str] = ()) -> NoqaOutcome:
    """Suppress every finding in its file (paths are relative to ``root``), touching only files that change.

    Findings with a code in ``unsuppressible`` (a file that cannot be parsed, an unused suppression) are skipped.
    """
    from gradlint.notebooks import change_cells
    from gradlint.writer import rewrite

    # path -> cell (None in a Python file) -> line -> codes
    wanted: dict[str, dict[int | None, dict[int, set[str]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(set))
    )
    outcome = NoqaOutcome()
    for finding in findings:
        if finding.code in unsuppressible:
            outcome.skipped.append((finding.location.path, finding.location.line))
        else:
            wanted[finding.location.path][finding.location.cell][finding.location.line].add(finding.code)
    for path, cells in sorted(wanted.items()):
        edits = {cell: _NoqaEdit(lines) for cell, lines in cells.items()}
        try:
            if None in edits:
                written = rewrite(root / path, edits[None].apply)
            else:  # a notebook: each cell's source is edited, the rest of the file is kept
                changes = {cell: edit.apply for cell, edit in edits.items() if cell is not None}
                written = rewrite(root / path, functools.partial(change_cells, changes=changes))
        except (OSError, ValueError, SyntaxError) as error:
            outcome.unwritable.append((path, getattr(error, "strerror", None) or str(error)))
            continue
        for edit in edits.values():
            outcome.skipped.extend((path, line) for line in edit.failed)
        if written:
            outcome.changed_files.append(path)
            outcome.added += sum(len(edit.wanted) - len(edit.failed) for edit in edits.values())
    return outcome


@dataclass
class _NoqaEdit:
    """``with_noqa`` as a text-to-text change for the writer, remembering the lines it could not suppress."""

    wanted: Mapping[int, Collection[str]]
    failed: list[int] = field(default_factory=list)

    def apply(self, text: str) -> str:
        changed, self.failed = with_noqa(text, self.wanted)
        return changed


def with_noqa(text: str, wanted: Mapping[int, Collection[str]]) -> tuple[str, list[int]]:
    """``text`` with the codes of ``wanted`` (line -> codes) suppressed on their lines, and the lines where no
    comment can go (the line ends inside a string or continues with a backslash; the file does not tokenize).

    Every other character stays as it was. Each edited line is checked: the result must compile if the input
    did, and the suppression must be read back as silencing the codes on that line."""
    lines = io.StringIO(text, newline="").readlines()
    try:
        comments, open_lines = _line_ends(text)
    except (tokenize.TokenError, SyntaxError):
        return text, sorted(wanted)
    edited = list(lines)
    failed = []
    for row, codes in sorted(wanted.items()):
        if not 0 < row <= len(lines) or row in open_lines:
            failed.append(row)
            continue
        edited[row - 1] = _with_codes(lines[row - 1], comments.get(row), sorted(set(codes)))
    result = "".join(edited)
    silenced: dict[int, set[str]] = defaultdict(set)
    for suppression in parse(result).suppressions:
        silenced[suppression.target_line].update(suppression.codes or {"*"})
    for row, codes in wanted.items():
        if row not in failed and not ({"*"} & silenced[row] or set(codes) <= silenced[row]):
            edited[row - 1] = lines[row - 1]
            failed.append(row)
    result = "".join(edited)
    if _compiles(text) and not _compiles(result):
        return text, sorted(wanted)
    return result, sorted(failed)


def _with_codes(line: str, comment_column: int | None, codes: list[str]) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    if comment_column is not None:
        noqa = _NOQA.search(body, comment_column)
        if noqa is not None and noqa.group("codes") is not None:
            present = {code.upper() for code in _CODE.findall(noqa.group("codes"))}
            missing = [code for code in codes if code not in present]
            end = noqa.end("codes")
            return body[:end] + "".join(f", {code}" for code in missing) + body[end:] + ending
    return body.rstrip(" \t") + f"  # noqa: {', '.join(codes)}" + ending


def _line_ends(text: str) -> tuple[dict[int, int], set[int]]:
    """The column of the comment on each line that has one, and the lines that end inside a string or with a
    backslash continuation (where a comment at the end would not be one)."""
    comments: dict[int, int] = {}
    open_lines: set[int] = set()
    previous = None
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        row = token.start[0]
        if token.type == tokenize.COMMENT:
            comments[row] = token.start[1]
        open_lines.update(range(row, token.end[0]))  # a string (or an f-string's part) over several lines
        if previous is not None and row > previous.end[0] and previous.type not in _LINE_BREAKS:
            open_lines.update(range(previous.end[0], row))  # no line break token: a backslash continuation
        previous = token
    return comments, open_lines


def _compiles(text: str) -> bool:
    try:
        compile(text, "<noqa>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
