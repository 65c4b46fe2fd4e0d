"""Paths -> files -> syntax trees -> facts -> findings.

    check(paths, options, contents) -> CheckResult             # contents: texts that replace files' bytes
    check_text(text, display_path, options) -> CheckResult      # stdin

Folders are walked by :mod:`gradlint.discovery`. A file is read once; its per-file result (the facts of its
analysis, its suppression comments, or the reason it could not be analysed) depends on its bytes, its module
name and the gradlint version only, so it is cached on those and computed in a process pool when missing.
Files that neither mention anything a rule could need nor declare or import anything are never parsed (the
text prefilter): they can neither be reported nor change what the rest of the program means.
The whole-program solve then runs over every file's facts; suppressions, selection and the confidence
threshold apply last. Every file that cannot be read, decoded, parsed or analysed within the bounds yields a
GL000 finding saying why; every other file is still checked. A notebook is checked as the program its code
cells make (:mod:`gradlint.notebooks`), and its findings are placed by cell and line.

Each file is analysed in a worker process (:mod:`gradlint.pool`), within :class:`Bounds` on its size, its
syntax, the work of interpreting it and its time: a native crash of the parser or a file beyond a bound is one
GL000 finding for that file, and the run goes on.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import gc
import io
import os
import pickle
import re
import stat
import sys
import tokenize
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import AbstractSet, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from gradlint import __version__, notebooks, suppressions
from gradlint.cache import Cache, content_digest
from gradlint.discovery import discover, relative_posix
from gradlint.findings import Confidence, Finding, Location, source_lines

PARSE_ERROR_CODE = "GL000"
PARSE_ERROR_RULE = "unparsable-file"
# Python frames the analysis may stack per level of syntax (the interpreter, libcst's code generation, pickling).
_FRAMES_PER_LEVEL = 100
# Statements any file may have interpreted, besides ``max_work`` per statement it has.
_WORK_FLOOR = 2_000


@dataclass(frozen=True)
class Bounds:
    """What one file may take. A file beyond a bound is one GL000 finding naming it; the defaults keep a file's
    analysis under 1 GB of memory and a minute (``bench/pathological.py``)."""

    max_file_size: int = 1_500_000  # bytes; a larger file is not read
    max_nodes: int = 200_000  # nodes of Python's syntax tree of the file (libcst's takes about 4 KB per node)
    max_nesting: int = 600  # levels of that tree (a 250-call chain takes 500); parsing and solving grow faster
    max_work: int = 64  # statements interpreted per statement of the file (loops run twice: nested ones multiply)
    max_memory: int = 900  # megabytes the analysis of one file may add to its worker process (where /proc tells)
    timeout: float = 60.0  # seconds to analyse one file; past it, its worker process is stopped


@dataclass(frozen=True)
class CheckOptions:
    root: Path = Path(".")  # project root: finding paths are relative to it
    select: Optional[frozenset] = None  # None: every rule; else codes or code prefixes ("GL0")
    ignore: frozenset = frozenset()  # codes or prefixes
    per_file_ignores: Tuple[Tuple[str, frozenset], ...] = ()  # (glob, codes)
    confidence: Confidence = Confidence.MEDIUM  # lowest confidence reported
    exclude: Tuple[str, ...] = ()  # globs, replacing the default excludes
    extend_exclude: Tuple[str, ...] = ()  # globs, added to the excludes
    jobs: int = 0  # 0: one process per core
    cache_dir: Optional[Path] = None  # None: no cache
    report_unused_ignores: bool = False
    bounds: Bounds = Bounds()


@dataclass
class CheckResult:
    findings: List[Finding] = field(default_factory=list)  # sorted by path, line, column, code
    files_checked: int = 0
    files_from_cache: int = 0
    warnings: List[str] = field(default_factory=list)


@dataclass
class FileResult:
    """Everything later steps need from one file; plain data, cached."""

    facts: Optional[object] = None  # gradlint.analysis.facts.ModuleFacts, when the file was analysed
    error: Optional[Finding] = None
    directives: suppressions.Directives = field(default_factory=suppressions.Directives)


@dataclass(frozen=True)
class _Source:
    path: Path
    display: str  # relative to the root, forward slashes
    module: str
    data: bytes  # the program: a notebook's is made of its code cells
    reported: bool = True  # False: context, analysed for the solve but not reported
    cells: Optional[notebooks.CellMap] = None  # for a notebook, where its cells start in the program


def check(
    paths: Sequence[Path],
    options: CheckOptions,
    context: Sequence[Path] = (),
    contents: Optional[Mapping[str, bytes]] = None,
) -> CheckResult:
    """Check ``paths``; the files under ``context`` join the whole-program solve but are not reported.

    ``contents`` gives the bytes of some files (by display path, as findings name them) instead of what is on
    disk: an editor's unsaved texts, fixes not yet written.
    """
    result = CheckResult()
    sources = _read(paths, options, result, reported=True, contents=contents)
    given = {os.path.realpath(source.path) for source in sources}
    sources += _read(context, options, CheckResult(), reported=False, skip=given, contents=contents)
    return _check_sources(sources, options, result)


def check_text(
    text: bytes, display_path: str, options: CheckOptions, context: Sequence[Path] = (), file: Optional[Path] = None
) -> CheckResult:
    """Check ``text`` (standard input) as the file ``display_path``, with ``context`` as for :func:`check`.

    ``file`` is where the text would live on disk (an editor's buffer): the text replaces it in the context.
    """
    path = file if file is not None else Path(display_path)
    result = CheckResult()
    sources = _source(path, display_path.replace(os.sep, "/"), text, True, options, result)
    sources += _read(context, options, CheckResult(), reported=False, skip={os.path.realpath(path)})
    return _check_sources(sources, options, result)


def _read(
    paths: Sequence[Path],
    options: CheckOptions,
    result: CheckResult,
    *,
    reported: bool,
    skip: AbstractSet[str] = frozenset(),
    contents: Optional[Mapping[str, bytes]] = None,
) -> List[_Source]:
    """The files under ``paths``, read (or taken from ``contents``); what cannot be read is a GL000 finding in
    ``result``."""
    if not paths:
        return []
    found = discover(paths, root=options.root, exclude=options.exclude, extend_exclude=options.extend_exclude)
    result.warnings.extend(found.warnings)
    sources: List[_Source] = []
    for path in found.files:
        if skip and os.path.realpath(path) in skip:
            continue
        display = _display_path(path, options.root)
        data: Union[bytes, str, None] = (contents or {}).get(display)
        if data is None:
            data = _read_source(path, options.bounds.max_file_size)
        if isinstance(data, str):
            result.findings.append(_error_finding(display, data))
            continue
        sources += _source(path, display, data, reported, options, result)
    return sources


def _source(
    path: Path, display: str, data: bytes, reported: bool, options: CheckOptions, result: CheckResult
) -> List[_Source]:
    """The file as a source to analyse; a notebook as the program of its cells, or a GL000 finding in ``result``."""
    if len(data) > options.bounds.max_file_size:
        result.findings.append(_error_finding(display, _too_large(options.bounds.max_file_size)))
        return []
    if not display.endswith(notebooks.SUFFIX):
        return [_Source(path, display, _module_name(path), data, reported)]
    try:
        program, cells = notebooks.program(data)
    except notebooks.NotebookError as error:
        result.findings.append(_error_finding(display, f"cannot read the notebook: {error}"))
        return []
    # Not importable: a name no module of the program can have, unique per notebook.
    module = re.sub(r"\W", "_", display)
    return [_Source(path, display, module, program.encode("utf-8"), reported, cells)]


def _read_source(path: Path, limit: int) -> bytes | str:
    """The bytes of a regular file, no more than ``limit`` and one, else why not (never blocking on a pipe)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        return f"cannot read the file: {error.strerror or error}"
    with open(descriptor, "rb", closefd=True) as stream:
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                return "cannot read the file: it is not a regular file"
            return stream.read(limit + 1)
        except OSError as error:
            return f"cannot read the file: {error.strerror or error}"


def _too_large(limit: int) -> str:
    return f"not analysed: the file is larger than the limit of {limit} bytes (max-file-size)"


def _check_sources(sources: List[_Source], options: CheckOptions, result: CheckResult) -> CheckResult:
    sources = sorted(sources, key=lambda source: source.display)  # one program, whichever files were named
    cache = Cache(options.cache_dir, salt=_code_fingerprint()) if options.cache_dir is not None else None
    digests = [content_digest(source.data) for source in sources]
    program_key = "\0program\0" + content_digest("\0".join(source.display for source in sources).encode())
    program_digest = content_digest(
        "\0".join(f"{_cache_key(source, options)}\0{digest}" for source, digest in zip(sources, digests)).encode()
    )
    program = cache.get(program_key, program_digest) if cache is not None else None
    if isinstance(program, _ProgramResult):
        result.files_from_cache = len(sources)
    else:
        program, complete = _solve_program(sources, digests, cache, options, result)
        if cache is not None and complete:
            cache.put(program_key, program_digest, program)
    if cache is not None:
        cache.close()
        result.warnings.extend(cache.warnings)
    reported = {source.display for source in sources if source.reported}
    result.files_checked = len(reported)
    cells = {source.display: source.cells for source in sources if source.cells is not None}
    for finding in _reported(program, options, reported):
        in_notebook = cells.get(finding.location.path)
        result.findings.append(in_notebook.finding(finding) if in_notebook is not None else finding)
    result.findings.sort(key=lambda finding: finding.sort_key)
    return result


@dataclass
class _ProgramResult:
    """The solve of a whole set of files: what reporting needs, cached as one entry for unchanged reruns."""

    findings: List[Finding]  # every finding of the solve, before selection, suppression and threshold
    files: Dict[str, FileResult]  # per file, without the facts


def _solve_program(
    sources: List[_Source], digests: List[str], cache: Optional[Cache], options: CheckOptions, result: CheckResult
) -> Tuple[_ProgramResult, bool]:
    """The solve, and whether every file's result may be cached (a file whose worker died or ran out of time is
    tried again next time)."""
    from gradlint import pool  # worker processes and threads: not needed by a run whose results are cached
    from gradlint.analysis.solve import MAX_CALL_DEPTH
    from gradlint.analysis.solve import findings as solve_findings

    results: Dict[str, FileResult] = {}
    missing: List[Tuple[_Source, str]] = []
    for source, digest in zip(sources, digests):
        cached = cache.get(_cache_key(source, options), digest) if cache is not None else None
        if isinstance(cached, FileResult):
            results[source.display] = cached
            result.files_from_cache += 1
        else:
            missing.append((source, digest))
    analysed = _analyse_all([source for source, _ in missing], options)
    for (source, digest), (file_result, pickled) in zip(missing, analysed):
        results[source.display] = file_result
        if cache is not None and pickled is not None:
            cache.put_pickled(_cache_key(source, options), digest, pickled)
    complete = all(pickled is not None for _, pickled in analysed)
    facts = [file_result.facts for file_result in results.values() if file_result.facts is not None]
    with collector_paused():
        # The solve recurses as deeply as one file's facts nest, times the summaries of calls it nests.
        limit = _recursion_limit(options.bounds) * MAX_CALL_DEPTH
        files = [(source.display, source.module) for source in sources]
        found = pool.on_deep_stack(solve_findings, facts, files, recursion_limit=limit) if facts else []
    return _ProgramResult(
        findings=found,
        files={path: FileResult(error=r.error, directives=r.directives) for path, r in results.items()},
    ), complete


def _reported(program: _ProgramResult, options: CheckOptions, reported: AbstractSet[str]) -> List[Finding]:
    """Selection, suppressions and the confidence threshold, file by file, for the ``reported`` files."""
    by_path: Dict[str, List[Finding]] = {path: [] for path in program.files if path in reported}
    for finding in program.findings:
        if finding.location.path in by_path:
            by_path[finding.location.path].append(finding)
    kept: List[Finding] = []
    for path, file_result in program.files.items():
        if path not in by_path:
            continue
        enabled = _selector(options, path)
        found = [finding for finding in by_path[path] if enabled(finding.code)]
        if file_result.error is not None and enabled(file_result.error.code):
            found.append(file_result.error)
        for finding in suppressions.apply(
            found, file_result.directives, report_unused=options.report_unused_ignores, path=path, is_enabled=enabled
        ):
            if finding.confidence >= options.confidence or finding.code == PARSE_ERROR_CODE:
                kept.append(finding)
    return kept


def _selector(options: CheckOptions, path: str) -> Callable[[str], bool]:
    ignored = set(options.ignore)
    for pattern, codes in options.per_file_ignores:
        if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(Path(path).name, pattern):
            ignored.update(codes)

    def enabled(code: str) -> bool:
        if any(code.startswith(prefix) for prefix in ignored):
            return False
        if code == PARSE_ERROR_CODE or options.select is None:
            return True
        return any(code.startswith(prefix) for prefix in options.select)

    return enabled


def _analyse_all(sources: List[_Source], options: CheckOptions) -> List[Tuple[FileResult, Optional[bytes]]]:
    """Each file's result, and its pickle when the worker finished it (what may be cached)."""
    from gradlint import pool

    if not sources:
        return []
    # Largest files first, one at a time: the workers finish together instead of one waiting on a giant.
    order = sorted(range(len(sources)), key=lambda index: -len(sources[index].data))
    outcomes = pool.run_isolated(
        analyse,
        [(sources[index].data, sources[index].display, sources[index].module, options.bounds) for index in order],
        workers=min(options.jobs or os.cpu_count() or 1, len(sources)),
        timeout=options.bounds.timeout,
        memory=options.bounds.max_memory * 2**20,
        recursion_limit=_recursion_limit(options.bounds),
    )
    results: List[Tuple[FileResult, Optional[bytes]]] = [(FileResult(), None)] * len(sources)
    with collector_paused():  # unpickling the results
        for index, outcome in zip(order, outcomes):
            if isinstance(outcome, pool.Failure):
                results[index] = (
                    FileResult(error=_error_finding(sources[index].display, f"not analysed: {outcome.reason}")),
                    None,
                )
            else:
                results[index] = (pickle.loads(outcome), outcome)
    return results


def _recursion_limit(bounds: Bounds) -> int:
    return _FRAMES_PER_LEVEL * bounds.max_nesting + sys.getrecursionlimit()


_PREFILTER: Optional[re.Pattern] = None
# What makes a file part of the program even without a rule's token: it defines functions or classes through
# which values flow (a configuration dataclass, a helper), or imports names that others import from it.
_DECLARES = (r"\bdef\b", r"\bclass\b", r"\bimport\b")


def _prefilter() -> re.Pattern:
    global _PREFILTER
    if _PREFILTER is None:
        from gradlint.rules import ALL_RULES

        words = sorted({re.escape(token) for rule in ALL_RULES for token in rule.tokens})
        _PREFILTER = re.compile("|".join([*words, *_DECLARES]))
    return _PREFILTER


def analyse(data: bytes, path: str, module: str, bounds: Bounds = Bounds()) -> FileResult:
    """One file's result: its facts, or the GL000 finding that says why it has none.

    Python's own parser decides whether the file is valid for the running Python (with the exact position of
    an error); libcst then parses the files the prefilter keeps, unless their syntax is beyond the bounds.
    """
    try:
        text = _decode(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        return FileResult(error=_error_finding(path, f"cannot decode the file: {error}"))
    directives = suppressions.parse(text)
    if directives.skip_file:
        return FileResult(directives=directives)
    relevant = _prefilter().search(text) is not None
    with collector_paused():  # the syntax trees and the analysis are freed before the collection, on return
        syntax = _python_syntax(text, path, bounds if relevant else None)
        if syntax.problem is not None or not relevant:
            return FileResult(error=syntax.problem, directives=directives)
        steps = bounds.max_work * syntax.statements + _WORK_FLOOR
        return _parse_and_analyse(data, text, path, module, directives, steps, bounds.max_work)


def _parse_and_analyse(
    data: bytes, text: str, path: str, module: str, directives: suppressions.Directives, steps: int, max_work: int
) -> FileResult:
    import libcst

    from gradlint.analysis.finish import finish
    from gradlint.analysis.interpreter import FileAnalyzer, WorkLimitExceeded
    from gradlint.rules import rule_instances

    try:
        tree = libcst.parse_module(data)  # from bytes: libcst reads the encoding itself, a little faster
    except libcst.ParserSyntaxError as error:
        # Python accepted the file: syntax that libcst does not know yet.
        message = f"cannot parse the file with libcst: {error.message}"
        return FileResult(
            error=_error_finding(path, message, error.raw_line, error.raw_column + 1, text), directives=directives
        )
    try:
        analyzer = FileAnalyzer(
            tree, path=path, module=module, is_package=path.endswith("__init__.py"), rules=rule_instances()
        )
        analyzer.steps_left = steps
        analyzer.run()
        return FileResult(facts=finish(analyzer, text), directives=directives)
    except RecursionError:
        return FileResult(error=_error_finding(path, _NESTED_TOO_DEEPLY), directives=directives)
    except WorkLimitExceeded:
        message = (
            f"not analysed: interpreting it takes more than {max_work} steps per statement, as loops nested "
            "this deeply do (max-work)"
        )
        return FileResult(error=_error_finding(path, message), directives=directives)


_NESTED_TOO_DEEPLY = "not analysed: its syntax is nested too deeply for the analysis"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector over a burst of allocation, then collect the young objects once.

    A libcst tree and its analysis are hundreds of thousands of small objects; with the collector on, it
    traverses them again and again while they are built (a third of a cold scan). Objects allocated while
    it is paused all stay in the youngest generation, so one collection of that generation afterwards frees
    the cycles the analysis leaves behind: memory stays bounded by what the block keeps.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


@dataclass(frozen=True)
class _Syntax:
    """What Python's own parse of a file says: why it cannot be analysed, or how many statements it has."""

    problem: Optional[Finding] = None
    statements: int = 0


def _python_syntax(text: str, path: str, bounds: Optional[Bounds]) -> _Syntax:
    """A syntax error at the position Python gives; with ``bounds``, syntax beyond them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the compiler's style warnings are not ours to print
            tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        line, column = error.lineno or 1, error.offset or 1
        return _Syntax(_error_finding(path, f"cannot parse the file: {error.msg}", line, column, text))
    except RecursionError:  # deeper than Python builds syntax trees for
        return _Syntax(_error_finding(path, _NESTED_TOO_DEEPLY))
    except (ValueError, MemoryError) as error:
        return _Syntax(_error_finding(path, f"cannot parse the file: {error}"))
    if bounds is None:
        return _Syntax()
    nodes, levels, statements = _syntax_size(tree, bounds.max_nesting)
    if nodes > bounds.max_nodes:
        return _Syntax(
            _error_finding(
                path,
                f"not analysed: its syntax has {nodes} nodes, more than the limit of {bounds.max_nodes} (max-nodes)",
            )
        )
    if levels > bounds.max_nesting:
        return _Syntax(
            _error_finding(
                path, f"not analysed: its syntax is nested more than {bounds.max_nesting} levels deep (max-nesting)"
            )
        )
    return _Syntax(statements=statements)


def _syntax_size(tree: ast.AST, max_levels: int) -> Tuple[int, int, int]:
    """The number of nodes of a syntax tree, of its levels and of its statements, counting levels up to one past
    ``max_levels``; one level at a time, without recursion."""
    level: List[ast.AST] = [tree]
    nodes = levels = statements = 0
    while level:
        nodes += len(level)
        levels += 1
        below: List[ast.AST] = []
        for node in level:
            statements += isinstance(node, ast.stmt)
            for name in node._fields:
                child = getattr(node, name, None)
                if isinstance(child, list):
                    below.extend(item for item in child if isinstance(item, ast.AST))
                elif isinstance(child, ast.AST) and child._fields:  # not a context such as ``Load``
                    below.append(child)
        if levels > max_levels:
            nodes += len(below)  # (a lower count: the rest is not looked at)
            break
        level = below
    return nodes, levels, statements


def _decode(data: bytes) -> str:
    """Source bytes to text, honouring a BOM and a PEP 263 coding declaration."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def _error_finding(path: str, message: str, line: int = 1, column: int = 1, text: str = "") -> Finding:
    lines = source_lines(text)
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    return Finding(
        code=PARSE_ERROR_CODE,
        rule=PARSE_ERROR_RULE,
        message=message,
        location=Location(path, line, column, line, column + 1),
        confidence=Confidence.HIGH,
        source_line=source_line,
    )


def _display_path(path: Path, root: Path) -> str:
    relative = relative_posix(path, root)
    return relative if relative is not None else path.as_posix()


@functools.lru_cache(maxsize=None)
def _is_package(folder: Path) -> bool:
    return (folder / "__init__.py").is_file()


def _module_name(path: Path) -> str:
    """The dotted module name of a file: its name plus every enclosing folder that is a package."""
    parts = [path.stem] if path.stem != "__init__" else []
    folder = path.absolute().parent
    while folder.name and _is_package(folder):
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or path.stem


@functools.lru_cache(maxsize=None)
def _code_fingerprint() -> str:
    """Size and modification time of every module of gradlint: an edited checker never reads stale results."""
    package = Path(__file__).resolve().parent
    stamps = sorted(
        f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}"
        for path in package.rglob("*.py")
        for stat in [path.stat()]
    )
    return content_digest("\n".join(stamps).encode())


def _cache_key(source: _Source, options: CheckOptions) -> str:
    bounds = options.bounds  # those that decide a file's result (the others stop the file before it has one)
    return "\0".join(
        map(str, (source.display, source.module, __version__, bounds.max_nodes, bounds.max_nesting, bounds.max_work))
    )


def parses(data: bytes, display: str) -> bool:
    """Whether a file's bytes (for a notebook, the program of its code cells) parse as Python."""
    import libcst

    try:
        if display.endswith(notebooks.SUFFIX):
            data = notebooks.program(data)[0].encode("utf-8")
        libcst.parse_module(data)
    except (libcst.ParserSyntaxError, notebooks.NotebookError, RecursionError):
        return False
    return True
