"""The ``gradlint`` command.

``gradlint [PATHS]...`` (the ``check`` subcommand, run when the first argument names no other) checks
files (with ``--trace TARGET``, also traces TARGET and ranks both); ``gradlint trace TARGET`` runs the trace
alone; ``gradlint demo`` shows both on the reference simulator; ``gradlint rules`` lists the rules and
``gradlint explain CODE`` shows one rule's page. With ``--baseline-commit REF`` only findings absent at REF
are reported; ``--add-noqa`` suppresses the findings in place instead of reporting them.

Exit codes: 0 nothing found, 1 findings (new ones, with a baseline commit; unsuppressed ones, with
--add-noqa), 2 a usage, configuration or internal error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
Errors are one line on standard error, ``gradlint: error: ...``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, NoReturn, Sequence

import click

from gradlint import __version__
from gradlint.config import MAX_JOBS, ConfigError, Overrides, Settings, load_settings, split_codes
from gradlint.engine import CheckOptions, CheckResult
from gradlint.findings import Confidence, Finding
from gradlint.report import FORMATS, PROJECT_URL, ReportContext, plural, render
from gradlint.trace.results import RECORD_CHOICES

if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, Optional, Union

    from gradlint.baseline import ChangedLines, Comparison
    from gradlint.rules.base import Rule

    _SignalHandler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM
STDIN_DISPLAY_PATH = "-"


class CommandError(Exception):
    """A mistake on the command line that click's own checks do not catch."""


class Terminated(BaseException):
    """SIGTERM arrived: unwind (ending the worker processes on the way) and exit. A BaseException, so that no
    ``except Exception`` on the way catches it."""


class DefaultCommandGroup(click.Group):
    """A group that runs its default command when the first argument names no subcommand."""

    default_command = "check"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        passthrough = {*ctx.help_option_names, "--version"}
        if not args or (args[0] not in self.commands and args[0] not in passthrough):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def trace_options(prefix: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """The options of a trace, shared by ``gradlint trace`` and ``gradlint PATHS --trace`` (help after ``prefix``)."""
    options = [
        click.option(
            "--param",
            "params",
            multiple=True,
            metavar="PATTERN",
            help=f"{prefix}Report only the parameters matching these glob patterns (repeatable).",
        ),
        click.option(
            "--report-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help=f"{prefix}Write a dated report bundle under DIR.",
        ),
        click.option(
            "--pythonpath",
            multiple=True,
            metavar="DIR",
            help=f"{prefix}Put DIR first on sys.path for the target (repeatable; a src layout is found).",
        ),
        click.option(
            "--record",
            type=click.Choice(RECORD_CHOICES),
            default="auto",
            show_default=True,
            help=f"{prefix}Rerun under the recording trace when a gradient is bad (auto), record from the "
            "start (always, one run) or never.",
        ),
        click.option(
            "--check-gradients",
            is_flag=True,
            help=f"{prefix}Compare each gradient with finite differences of the program (costs reruns).",
        ),
        click.option("--strict", is_flag=True, help=f"{prefix}Exit 1 on any suspect, not only on a bad gradient."),
    ]

    def decorate(command: Callable[..., int]) -> Callable[..., int]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gradlint")
def cli() -> None:
    """Find where a differentiable PyTorch program cuts its gradients.

    Without a subcommand, runs `check`: `gradlint src/` is `gradlint check src/`.
    """


@cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--select",
    multiple=True,
    metavar="CODES",
    help="Only these rule codes or prefixes (e.g. GL010,GL01; ALL: every code).",
)
@click.option("--extend-select", multiple=True, metavar="CODES", help="Add these to the selected codes.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rule codes or prefixes.")
@click.option("--extend-ignore", multiple=True, metavar="CODES", help="Skip these too, besides the ignored codes.")
@click.option(
    "--confidence",
    type=click.Choice([level.label for level in Confidence]),
    help="Lowest confidence to report (default: medium).",
)
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to FILE.")
@click.option("--exit-zero", is_flag=True, help="Exit with 0 even when there are findings.")
@click.option("--jobs", type=click.IntRange(min=0, max=MAX_JOBS), help="Processes to use (0: one per core).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), help="Where to keep the cache.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="Settings file.")
@click.option("--statistics", is_flag=True, help="Add a table of findings per rule.")
@click.option("--show-source", is_flag=True, help="Show the source line, the reasoning chain and the fix.")
@click.option("--report-unused-ignores", is_flag=True, help="Report suppression comments that silence nothing.")
@click.option("--force-exclude", is_flag=True, help="Apply the excludes to files named on the command line too.")
@click.option("--fix", is_flag=True, help="Apply the safe fixes in place, then report what remains.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff: also apply the unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff instead of writing them.")
@click.option(
    "--baseline-commit",
    metavar="REF",
    help="Report only findings that are not present at the git commit REF (and exit 1 only for those).",
)
@click.option(
    "--add-noqa",
    is_flag=True,
    help="Add a `# noqa: CODE` comment to the line of every finding, instead of reporting it.",
)
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a terminal).")
@click.option("-q", "--quiet", is_flag=True, help="Print the findings only: no summary, no warnings.")
@click.option("--stdin-filename", metavar="NAME", help="The file name to report for '-' (standard input).")
@click.option(
    "--no-context",
    is_flag=True,
    help="Analyse only the given files, without the rest of the project and its tests as evidence.",
)
@click.option(
    "--trace",
    "trace_target",
    metavar="TARGET",
    help="Also run TARGET under the trace and rank static and dynamic evidence together.",
)
@click.option("--trace-args", metavar="ARGS", help="Arguments for the traced target, as one shell-quoted string.")
@trace_options("With --trace: ")
def check_command(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_ignore: tuple[str, ...],
    confidence: str | None,
    output_format: str,
    output: Path | None,
    exit_zero: bool,
    jobs: int | None,
    no_cache: bool,
    cache_dir: Path | None,
    config_file: Path | None,
    statistics: bool,
    show_source: bool,
    report_unused_ignores: bool,
    force_exclude: bool,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    baseline_commit: str | None,
    add_noqa: bool,
    color: bool | None,
    quiet: bool,
    stdin_filename: str | None,
    no_context: bool,
    trace_target: str | None,
    trace_args: str | None,
    params: tuple[str, ...],
    report_dir: Path | None,
    pythonpath: tuple[str, ...],
    record: str,
    check_gradients: bool,
    strict: bool,
) -> int:
    """Check PATHS (files or folders; '-' reads standard input) for operations that cut gradients.

    With --trace TARGET, also run TARGET (a pytest node id, package.module:function or a script) under the
    trace, and rank the static findings and the trace's evidence together.
    """
    overrides = Overrides(
        paths=paths,
        config_file=config_file,
        stdin_filename=stdin_filename,
        select=split_codes(select) if select else None,
        extend_select=split_codes(extend_select),
        ignore=split_codes(ignore) if ignore else None,
        extend_ignore=split_codes(extend_ignore),
        confidence=confidence,
        jobs=jobs,
        cache_dir=cache_dir,
        no_cache=no_cache,
        report_unused_ignores=report_unused_ignores,
        no_context=no_context,
    )
    settings = load_settings(overrides, Path.cwd())
    if output is not None:
        _refuse_to_overwrite_input(output, settings, stdin_filename)
    threshold = settings.options.confidence
    if trace_target is not None:
        # Ranked with the trace, a low finding still explains an observed cut at its line.
        settings = dataclasses.replace(
            settings, options=dataclasses.replace(settings.options, confidence=Confidence.LOW)
        )
    if not settings.paths and (baseline_commit is not None or add_noqa):
        raise CommandError(f"{'--add-noqa' if add_noqa else '--baseline-commit'} needs files, not standard input")
    if (fix or diff) and (trace_target is not None or add_noqa or baseline_commit is not None):
        raise CommandError("--fix and --diff cannot be combined with --trace, --add-noqa or --baseline-commit")
    checked_paths = _paths_to_check(settings, force_exclude)
    # Read once, when needed; one byte past the size limit is enough to know the text is too large (and /dev/zero
    # ends).
    stdin = functools.lru_cache(maxsize=None)(
        functools.partial(sys.stdin.buffer.read, settings.options.bounds.max_file_size + 1)
    )
    warn = _warner(quiet)
    if fix or diff:
        result, code = _fix(
            settings,
            stdin_filename,
            force_exclude,
            checked_paths,
            stdin,
            unsafe=unsafe_fixes,
            show_diff=diff,
            output=output,
            warn=warn,
            quiet=quiet,
        )
        if code is not None:
            return code
    else:
        result = _check(settings, stdin_filename, force_exclude, checked_paths, stdin)
    for warning in result.warnings:
        warn(warning)
    findings, existing = result.findings, 0
    if baseline_commit is not None:
        comparison = _compare_with_commit(baseline_commit, checked_paths, settings, findings)
        findings, existing = comparison.new, len(comparison.existing)
    if add_noqa:
        code = _add_noqa(findings, settings.options.root, warn, quiet)
        return EXIT_CLEAN if exit_zero else code
    context = ReportContext(
        root=settings.options.root,
        files_checked=result.files_checked,
        show_source=show_source,
        statistics=statistics,
        quiet=quiet,
        color=_use_color(color, output),
        rules=_catalogue() if output_format == "sarif" else (),
        baseline_commit=baseline_commit,
        existing=existing,
        changed=_changed_lines(baseline_commit, settings.options.root, warn) if output_format == "github" else None,
    )
    if trace_target is not None:
        plan = TracePlan(params, report_dir, pythonpath, record, check_gradients, strict)
        return _trace(
            trace_target,
            shlex.split(trace_args or ""),
            plan,
            output_format,
            output,
            context,
            findings=findings,
            user_paths=[str(path) for path in settings.paths],
            threshold=threshold,
        )
    _write_report(render(output_format, findings, context), output)
    if output_format == "github":
        _append_step_summary(findings, context)
    return EXIT_FINDINGS if findings and not exit_zero else EXIT_CLEAN


@cli.command("trace")
@click.argument("target")
@click.argument("target_args", nargs=-1, type=click.UNPROCESSED)
@trace_options("")
@click.option(
    "--path",
    "user_paths",
    multiple=True,
    metavar="PATH",
    help="The user's code, where sites are reported (default: everything outside libraries).",
)
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to FILE.")
def trace_command(
    target: str,
    target_args: tuple[str, ...],
    params: tuple[str, ...],
    report_dir: Path | None,
    user_paths: tuple[str, ...],
    pythonpath: tuple[str, ...],
    record: str,
    check_gradients: bool,
    strict: bool,
    output_format: str,
    output: Path | None,
) -> int:
    """Run TARGET under the trace: which parameters get no gradient, and which lines cut them.

    TARGET is a pytest node id (tests/test_x.py::test_y), package.module:function (called with no
    arguments; it may return the loss or call backward itself) or a script; arguments after -- go to it.

    Exit codes: 0 every selected parameter has a real gradient, 1 one has none (missing, zero, non-finite,
    wrong, failed) or, with --strict, anything is suspect, 2 the target cannot be traced, 130/143 interrupted.
    """
    context = ReportContext(root=Path.cwd(), rules=_catalogue() if output_format == "sarif" else ())
    plan = TracePlan(params, report_dir, pythonpath, record, check_gradients, strict)
    return _trace(
        target, list(target_args), plan, output_format, output, context, findings=None, user_paths=list(user_paths)
    )


@cli.command("server")
def server_command() -> int:
    """Run the language server on standard input and output (needs the `server` extra: pygls)."""
    try:
        from gradlint import server
    except ImportError as error:
        raise CommandError(f"the language server needs pygls ({error}): pip install 'torch-gradlint[server]'") from None
    server.serve()
    return EXIT_CLEAN


@cli.command("demo")
@click.option("--break", "break_id", metavar="ID", help="The catalogued break to plant (see --list).")
@click.option("--list", "list_breaks", is_flag=True, help="List the catalogued breaks of the reference simulator.")
def demo_command(break_id: str | None, list_breaks: bool) -> int:
    """Show what gradlint does: the reference simulator with a planted gradient break, then clean."""
    from gradlint import demo

    try:
        if list_breaks:
            demo.describe_breaks(click.echo)
            return EXIT_CLEAN
        return EXIT_CLEAN if demo.run(break_id or demo.DEFAULT_BREAK, click.echo) else EXIT_FINDINGS
    except demo.DemoError as error:
        raise CommandError(str(error)) from None


@cli.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_command(output_format: str) -> int:
    """List every rule: code, name and summary."""
    if output_format == "json":
        from gradlint.report.json import catalogue
    else:
        from gradlint.report.text import catalogue
    _write_report(catalogue(_catalogue()), None)
    return EXIT_CLEAN


@cli.command("explain")
@click.argument("code")
def explain_command(code: str) -> int:
    """Show the documentation page of one rule, by code or name: GL010, item-on-differentiable."""
    from gradlint.rules import find_rule

    rule = find_rule(code)
    if rule is None:
        raise CommandError(f"unknown rule {code!r} (see 'gradlint rules')")
    from gradlint.rules.docs import render_rule_page

    _write_report(render_rule_page(rule).rstrip("\n") + "\n", None)
    return EXIT_CLEAN


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code, turning every failure into a one-line message."""
    previous_handler = _on_sigterm(_terminate)
    try:
        arguments = list(argv) if argv is not None else None
        return cli.main(args=arguments, prog_name="gradlint", standalone_mode=False) or EXIT_CLEAN
    except Terminated:
        return _fail("terminated", EXIT_TERMINATED)
    except (ConfigError, CommandError) as error:
        return _fail(str(error))
    except click.UsageError as error:
        return _fail(f"{error.format_message()} (see 'gradlint --help')")
    except click.ClickException as error:
        return _fail(error.format_message())
    except click.Abort:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (``gradlint | head``): stop quietly, without a second error at exit.
        _discard_stdout()
        return EXIT_ERROR
    except Exception as error:  # the promise: no traceback, whatever happens
        return _fail(
            f"internal error ({type(error).__name__}: {error}); "
            f"please report it with the command line at {PROJECT_URL}/issues"
        )
    finally:
        _on_sigterm(previous_handler)


def _on_sigterm(handler: _SignalHandler) -> _SignalHandler:
    """Install ``handler`` for SIGTERM and return the one it replaces (None where signals cannot be set)."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def _terminate(signum: int, frame: object) -> NoReturn:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(run(argv))


@dataclasses.dataclass(frozen=True)
class TracePlan:
    """The trace options shared by ``gradlint trace`` and ``gradlint PATHS --trace``."""

    params: Sequence[str]
    report_dir: Path | None
    pythonpath: Sequence[str]
    record: str
    check_gradients: bool
    strict: bool


def _trace(
    target: str,
    args: Sequence[str],
    plan: TracePlan,
    output_format: str,
    output: Path | None,
    context: ReportContext,
    *,
    findings: Sequence[Finding] | None,
    user_paths: Sequence[str],
    threshold: Confidence = Confidence.MEDIUM,
) -> int:
    from gradlint import diagnose
    from gradlint.trace.layout import source_folders

    command = " ".join(shlex.quote(word) for word in ["gradlint", *sys.argv[1:]])
    pythonpath = [*plan.pythonpath, *source_folders(context.root)]
    # Strict counts every suspect: informational ones are seen only by recording, so record from the start.
    record = "always" if plan.strict and plan.record == "auto" else plan.record
    try:
        diagnosis = diagnose.diagnose(
            target,
            findings=findings,
            root=context.root,
            user_paths=user_paths,
            args=args,
            params=plan.params,
            report_dir=plan.report_dir,
            pythonpath=pythonpath,
            echo=output_format == "text",
            command=command,
            threshold=threshold,
            record=record,
            check_gradients=plan.check_gradients,
        )
    except OSError as error:
        raise CommandError(f"cannot write the report bundle in {plan.report_dir}: {error.strerror or error}") from None
    _write_report(diagnose.render(diagnosis, output_format, context), output)
    if diagnosis.result.bundle:
        click.echo(f"gradlint: report bundle written to {diagnosis.result.bundle}", err=True)
    code = diagnose.exit_code(diagnosis, strict=plan.strict)
    if code == EXIT_ERROR and diagnosis.result.failure is not None:
        click.echo(f"gradlint: error: {diagnosis.result.failure.message}", err=True)
    return code


def _fix(
    settings: Settings,
    stdin_filename: str | None,
    force_exclude: bool,
    paths: list[Path],
    stdin: Callable[[], bytes],
    *,
    unsafe: bool,
    show_diff: bool,
    output: Path | None,
    warn: Callable[[str], None],
    quiet: bool,
) -> tuple[CheckResult, int | None]:
    """Apply the fixes (``show_diff``: print them, or write them to ``output``, instead). Returns what remains to
    report, and the exit code when nothing else is to be reported (the diff, or the fixed text of standard
    input)."""
    from gradlint import edits
    from gradlint.fixes import apply

    root = settings.options.root
    from_stdin = not settings.paths

    def read(display: str) -> bytes:
        return stdin() if from_stdin else (root / display).read_bytes()

    def note(message: str) -> None:
        if not quiet:
            click.echo(f"gradlint: {message}", err=True)

    run = apply.run(
        lambda texts: _check(settings, stdin_filename, force_exclude, paths, stdin, texts),
        read,
        lambda display: root / display,
        unsafe=unsafe,
    )
    for warning in run.warnings:
        warn(warning)
    fixes = plural(run.fixed, "fix", "fixes")
    if show_diff:
        _write_report(edits.diff(run.changes), output)
        note(f"{fixes} would be applied to {plural(len(run.changes), 'file')}")
        return run.result, EXIT_FINDINGS if run.changes else EXIT_CLEAN
    if from_stdin:
        _write_bytes(run.changes[0].after if run.changes else stdin())
        note(f"{fixes} applied, {plural(len(run.result.findings), 'finding')} left")
        return run.result, EXIT_FINDINGS if run.result.findings else EXIT_CLEAN
    problems = edits.write(run.changes)
    for problem in problems:
        click.echo(f"gradlint: error: {problem}", err=True)
    note(f"{fixes} applied in {plural(len(run.changes) - len(problems), 'file')}")
    return run.result, EXIT_ERROR if problems else None


def _write_bytes(data: bytes) -> None:
    with _writing_to_stdout():
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _refuse_to_overwrite_input(output: Path, settings: Settings, stdin_filename: str | None) -> None:
    """``--output`` must not name a file being checked (``--output model.py model.py``), nor a source file in a
    checked folder."""
    from gradlint.discovery import SOURCE_SUFFIXES

    target = Path(os.path.realpath(output))
    named = [*settings.paths, *([Path(stdin_filename)] if stdin_filename else [])]
    for path in named:
        real = Path(os.path.realpath(path))
        if target == real or (path.is_dir() and real in target.parents and target.name.endswith(SOURCE_SUFFIXES)):
            raise CommandError(f"--output {output} would overwrite a file being checked; write the report elsewhere")


def _check(
    settings: Settings,
    stdin_filename: str | None,
    force_exclude: bool,
    paths: list[Path],
    stdin: Callable[[], bytes],
    contents: Mapping[str, bytes] | None = None,
) -> CheckResult:
    """Check ``paths``, or standard input; ``contents`` replaces files' bytes (see engine.check)."""
    from gradlint import engine
    from gradlint.discovery import relative_posix

    options = settings.options
    if not settings.paths:
        file = None
        if stdin_filename is None:
            display_path = STDIN_DISPLAY_PATH
        else:
            file = Path(stdin_filename)
            display_path = relative_posix(file, options.root) or stdin_filename
            if force_exclude and _excluded(file, options):
                return CheckResult()
        text = (contents or {}).get(display_path)
        return engine.check_text(stdin() if text is None else text, display_path, options, settings.context, file=file)
    return engine.check(paths, options, settings.context, contents) if paths else CheckResult()


def _paths_to_check(settings: Settings, force_exclude: bool) -> list[Path]:
    """The paths to check: with ``--force-exclude``, without the excluded files named on the command line."""
    return [
        path for path in settings.paths if path.is_dir() or not (force_exclude and _excluded(path, settings.options))
    ]


def _excluded(path: Path, options: CheckOptions) -> bool:
    from gradlint.discovery import exclusion_patterns, is_excluded

    return is_excluded(path, root=options.root, patterns=exclusion_patterns(options.exclude, options.extend_exclude))


def _compare_with_commit(ref: str, paths: list[Path], settings: Settings, findings: list[Finding]) -> Comparison:
    from gradlint import baseline, engine

    try:
        base = baseline.base_findings(ref, paths, settings.context, settings.options, engine.check)
    except baseline.BaselineError as error:
        raise CommandError(f"--baseline-commit: {error}") from None
    return baseline.compare(findings, base)


def _changed_lines(ref: str | None, root: Path, warn: Callable[[str], None]) -> ChangedLines | None:
    """Lines changed since ``ref``, or since the pull request's base branch in GitHub Actions; None if unknown."""
    from gradlint import baseline

    if ref is None:
        branch = os.environ.get("GITHUB_BASE_REF")
        if not branch:
            return None
        ref = baseline.merge_base(f"origin/{branch}", root)
        if ref is None:
            warn(
                f"cannot find where this branch left origin/{branch} (check out with fetch-depth: 0): "
                "findings on changed lines are not listed first"
            )
            return None
    try:
        return baseline.changed_lines(ref, root)
    except baseline.BaselineError as error:
        warn(f"cannot list the changed lines: {error}")
        return None


def _add_noqa(findings: list[Finding], root: Path, warn: Callable[[str], None], quiet: bool) -> int:
    from gradlint.suppressions import add_noqa

    outcome = add_noqa(findings, root)
    for path, line in sorted(outcome.skipped):
        warn(f"{path}:{line}: cannot add a suppression comment to this line; add one by hand")
    for path, error in outcome.unwritable:
        warn(f"cannot write {path}: {error}")
    if not quiet:
        files = len(outcome.changed_files)
        click.echo(
            f"gradlint: added {outcome.added} suppression{'s' if outcome.added != 1 else ''} "
            f"in {files} file{'s' if files != 1 else ''}",
            err=True,
        )
    return EXIT_FINDINGS if outcome.skipped or outcome.unwritable else EXIT_CLEAN


def _warner(quiet: bool) -> Callable[[str], None]:
    def warn(message: str) -> None:
        if not quiet:
            click.echo(f"gradlint: warning: {message}", err=True)

    return warn


def _catalogue() -> tuple[type[Rule], ...]:
    from gradlint.rules import CATALOGUE

    return CATALOGUE


def _use_color(flag: bool | None, output: Path | None) -> bool:
    if flag is not None:
        return flag
    if output is not None or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _write_report(text: str, output: Path | None) -> None:
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror or error}") from None
        return
    with _writing_to_stdout():
        try:
            sys.stdout.write(text)
        except UnicodeEncodeError:
            # A terminal that cannot show some character (say, the chain's arrow): show a stand-in instead.
            encoding = sys.stdout.encoding or "ascii"
            sys.stdout.write(text.encode(encoding, "replace").decode(encoding))
        sys.stdout.flush()


@contextlib.contextmanager
def _writing_to_stdout() -> Iterator[None]:
    """A write to standard output that fails (a full disk, /dev/full) is an error that says so; a reader that went
    away (``gradlint | head``) is handled by ``run``."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        _discard_stdout()
        raise CommandError(f"cannot write the report to standard output: {error.strerror or error}") from None


def _discard_stdout() -> None:
    """Send what is left in standard output's buffer to nowhere, so that exiting does not fail a second time."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _append_step_summary(findings: Sequence[Finding], context: ReportContext) -> None:
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_file:
        return
    from gradlint.report.github import step_summary

    try:
        with open(summary_file, "a", encoding="utf-8") as stream:
            stream.write(step_summary(findings, context))
    except OSError as error:
        click.echo(f"gradlint: warning: cannot write the job summary {summary_file}: {error.strerror}", err=True)


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    click.echo(f"gradlint: error: {message}", err=True)
    return code
