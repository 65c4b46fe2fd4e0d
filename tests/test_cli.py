"""The command line: options, configuration, exit codes and error messages (with a stand-in engine), then
end-to-end runs of the real checker on awkward files."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pytest
from test_report_common import DETACH, ITEM, SAMPLES

from gradlint import __version__, config, engine
from gradlint.cli import run
from gradlint.engine import CheckOptions, CheckResult
from gradlint.findings import Finding

SEVERING = """\
import torch


def energy(x):
    w = torch.ones(3, requires_grad=True)
    return torch.tensor([w.sum().item()]) * x
"""
SEVERING_LINE = 6
CLEAN = """\
import torch


def energy(x):
    w = torch.ones(3, requires_grad=True)
    return (w * x).sum()
"""


@dataclass
class FakeEngine:
    """Stands in for the analysis: records what the CLI asks and answers with prepared findings."""

    findings: list[Finding] = field(default_factory=list)
    files_checked: int = 3
    warnings: list[str] = field(default_factory=list)
    calls: list[tuple[object, CheckOptions]] = field(default_factory=list)
    contexts: list[tuple[Path, ...]] = field(default_factory=list)

    def result(self) -> CheckResult:
        return CheckResult(findings=list(self.findings), files_checked=self.files_checked, warnings=list(self.warnings))

    def check(
        self, paths: Sequence[Path], options: CheckOptions, context: Sequence[Path] = (), contents: object = None
    ) -> CheckResult:
        self.calls.append((list(paths), options))
        self.contexts.append(tuple(context))
        return self.result()

    def check_text(
        self,
        text: bytes,
        display_path: str,
        options: CheckOptions,
        context: Sequence[Path] = (),
        file: Path | None = None,
    ) -> CheckResult:
        self.calls.append(((text, display_path), options))
        self.contexts.append(tuple(context))
        return self.result()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    (tmp_path / "src").mkdir()
    (tmp_path / "src/energy.py").write_text(CLEAN)
    return tmp_path


@pytest.fixture
def fake(project: Path, monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    stand_in = FakeEngine()
    monkeypatch.setattr(engine, "check", stand_in.check)
    monkeypatch.setattr(engine, "check_text", stand_in.check_text)
    monkeypatch.setattr(config, "known_codes", lambda: frozenset({"GL000", "GL002", "GL005", "GL010", "GL900"}))
    return stand_in


def outcome(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- plumbing, with the stand-in engine ------------------------------------------------------------------


def test_findings_give_exit_code_1_and_a_text_report(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    fake.findings = [ITEM]
    report = (
        "src/sim/crystal.py:12:10: GL002 `.item()` turns `cell_a` into a Python number [high]\n"
        "Found 1 finding (GL002: 1) in 3 files.\n"
    )
    assert outcome(capsys, "src") == (1, report, "")


def test_no_findings_give_exit_code_0(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert outcome(capsys, "src") == (0, "No findings in 3 files.\n", "")


def test_exit_zero(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    fake.findings = [ITEM]
    assert outcome(capsys, "--exit-zero", "src")[0] == 0


def test_check_subcommand_is_the_default(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    fake.findings = [ITEM]
    assert outcome(capsys, "check", "src") == outcome(capsys, "src")


def test_options_reach_the_engine(fake: FakeEngine, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--select", "GL002,GL01", "--ignore", "gl005", "--confidence", "high", "--jobs", "2"]
    assert outcome(capsys, *args, "--no-cache", "--report-unused-ignores", "src", "src/energy.py")[0] == 0
    ((paths, options),) = fake.calls
    assert paths == [Path("src"), Path("src/energy.py")]
    assert options == CheckOptions(
        root=project,
        select=frozenset({"GL002", "GL01", "GL900"}),  # --report-unused-ignores selects GL900
        ignore=frozenset({"GL005"}),
        confidence=engine.Confidence.HIGH,
        jobs=2,
        cache_dir=None,
        report_unused_ignores=True,
    )


def test_configured_paths_and_settings(fake: FakeEngine, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text('[tool.gradlint]\npaths = ["src"]\nconfidence = "low"\ncache-dir = "c"\n')
    assert outcome(capsys)[0] == 0
    ((paths, options),) = fake.calls
    assert paths == [project / "src"]
    assert (options.confidence, options.cache_dir) == (engine.Confidence.LOW, project / "c")


def test_force_exclude_drops_excluded_files_named_on_the_command_line(
    fake: FakeEngine, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "build").mkdir()
    (project / "build/gen.py").write_text(CLEAN)
    assert outcome(capsys, "--force-exclude", "build/gen.py", "src/energy.py")[0] == 0
    assert fake.calls[0][0] == [Path("src/energy.py")]
    assert outcome(capsys, "--force-exclude", "build/gen.py") == (0, "No findings in 0 files.\n", "")
    assert len(fake.calls) == 1


def test_standard_input(fake: FakeEngine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x = 1\n")))
    assert outcome(capsys, "-", "--stdin-filename", "pkg/mod.py")[0] == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"y = 2\n")))
    assert outcome(capsys, "-")[0] == 0
    assert [call[0] for call in fake.calls] == [(b"x = 1\n", "pkg/mod.py"), (b"y = 2\n", "-")]


def test_json_report_to_a_file(fake: FakeEngine, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.findings = SAMPLES
    assert outcome(capsys, "--format", "json", "--output", "report.json", "src") == (1, "", "")
    document = json.loads((project / "report.json").read_text(encoding="utf-8"))
    assert [finding["line"] for finding in document["findings"]] == [1, 12, 30, 3]


def test_github_report_and_job_summary(
    fake: FakeEngine, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = project / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    fake.findings = [DETACH, ITEM]
    code, out, _ = outcome(capsys, "--format", "github", "src")
    assert code == 1
    assert [line.split(" ")[0] for line in out.splitlines()] == ["::warning", "::warning"]
    assert "title=GL002" in out.splitlines()[0]
    assert summary.read_text().startswith("earlier step\n### gradlint: 2 findings\n")


def test_colour_when_asked_and_not_otherwise(
    fake: FakeEngine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.findings = [ITEM]
    assert "\x1b[" not in outcome(capsys, "src")[1]
    assert "\x1b[" in outcome(capsys, "--color", "src")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert "\x1b[" not in outcome(capsys, "src")[1]
    assert "\x1b[" not in outcome(capsys, "--no-color", "src")[1]


def test_statistics_and_show_source(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    fake.findings = [ITEM]
    out = outcome(capsys, "--statistics", "--show-source", "src")[1]
    assert "   = fix: keep `cell_a` a tensor\n" in out
    assert out.endswith("code   rule          count\nGL002  item-on-path      1\n")


def test_engine_warnings_go_to_stderr(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    fake.warnings = ["src/locked: cannot read directory (Permission denied)"]
    assert outcome(capsys, "src") == (
        0,
        "No findings in 3 files.\n",
        "gradlint: warning: src/locked: cannot read directory (Permission denied)\n",
    )


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.py"], "path does not exist: nope.py"),
        (["src", "missing/dir"], "path does not exist: missing/dir"),
        (["--select", "GL999", "src"], "unknown rule code 'GL999' in --select"),
        (["--ignore", "E501", "src"], "unknown rule code 'E501' in --ignore"),
        (["--qqq"], "No such option '--qqq'. (see 'gradlint --help')"),
        (
            ["--confidence", "sure", "src"],
            "Invalid value for '--confidence': 'sure' is not one of 'low', 'medium', 'high'. (see 'gradlint --help')",
        ),
        (
            ["--jobs", "-1", "src"],
            "Invalid value for '--jobs': -1 is not in the range 0<=x<=256. (see 'gradlint --help')",
        ),
        (
            ["--jobs", "100000000000", "src"],
            "Invalid value for '--jobs': 100000000000 is not in the range 0<=x<=256. (see 'gradlint --help')",
        ),
        (
            ["--select", "", "src"],
            "--select names no rule, which would report nothing: name codes or prefixes "
            "(GL010, GL01, ALL), or leave it out to report every rule",
        ),
        (
            ["--select", ",", "src"],
            "--select names no rule, which would report nothing: name codes or prefixes "
            "(GL010, GL01, ALL), or leave it out to report every rule",
        ),
        (
            ["--output", "src/energy.py", "src/energy.py"],
            "--output src/energy.py would overwrite a file being checked; write the report elsewhere",
        ),
        (
            ["--output", "src/new.py", "src"],
            "--output src/new.py would overwrite a file being checked; write the report elsewhere",
        ),
        (
            ["--output", "src/../src/energy.py", "src"],
            "--output src/../src/energy.py would overwrite a file being checked; write the report elsewhere",
        ),
        (
            ["--output", "src/energy.py", "-", "--stdin-filename", "src/energy.py"],
            "--output src/energy.py would overwrite a file being checked; write the report elsewhere",
        ),
        (["/dev/zero"], "not a file or folder: /dev/zero (to check standard input, give '-')"),
        (["-", "src"], "'-' (standard input) cannot be combined with other paths"),
        (["--output", "no/such/folder/r.txt", "src"], "cannot write no/such/folder/r.txt: No such file or directory"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    fake: FakeEngine, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert outcome(capsys, *args) == (2, "", f"gradlint: error: {message}\n")


def test_bad_configuration_key(fake: FakeEngine, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.gradlint]\nconfidance = 'high'\n")
    code, out, err = outcome(capsys, "src")
    assert (code, out) == (2, "")
    assert err.startswith(f"gradlint: error: {project / 'pyproject.toml'}: unknown key 'confidance' in [tool.gradlint]")
    assert err.count("\n") == 1


def test_unreadable_configuration(fake: FakeEngine, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_bytes(b"[tool.gradlint]\npaths = [\xff]\n")
    code, _, err = outcome(capsys, "src")
    assert code == 2
    assert err.startswith(f"gradlint: error: {project / 'pyproject.toml'}: not valid TOML (")


def test_internal_error_is_one_line_with_a_hint(
    fake: FakeEngine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(
        paths: Sequence[Path], options: CheckOptions, context: Sequence[Path] = (), contents: object = None
    ) -> CheckResult:
        raise ValueError("boom")

    monkeypatch.setattr(engine, "check", broken)
    code, out, err = outcome(capsys, "src")
    assert (code, out) == (2, "")
    assert err == (
        "gradlint: error: internal error (ValueError: boom); please report it with the command line at "
        "https://github.com/gradlint/gradlint/issues\n"
    )


def test_rules_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    from gradlint.rules import ALL_RULES, CATALOGUE

    code, out, _ = outcome(capsys, "rules")
    assert code == 0
    codes = [line.split()[0] for line in out.splitlines()]
    assert codes == [rule.code for rule in CATALOGUE] == ["GL000", *(rule.code for rule in ALL_RULES), "GL900"]
    assert out.splitlines()[1].split(None, 2)[1:] == [ALL_RULES[0].name, ALL_RULES[0].summary()]
    code, out, _ = outcome(capsys, "rules", "--format", "json")
    assert json.loads(out)[1] == {
        "code": ALL_RULES[0].code,
        "name": ALL_RULES[0].name,
        "summary": ALL_RULES[0].summary(),
    }


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    from gradlint.rules import RULES_BY_CODE
    from gradlint.rules.docs import render_rule_page

    page = render_rule_page(RULES_BY_CODE["GL010"]).rstrip("\n") + "\n"
    assert outcome(capsys, "explain", "gl010") == (0, page, "")
    assert outcome(capsys, "explain", "item-on-differentiable") == (0, page, "")
    assert outcome(capsys, "explain", "GL900")[1].startswith("## GL900 `unused-suppression`\n")
    assert outcome(capsys, "explain", "unparsable-file")[1].startswith("## GL000 `unparsable-file`\n")
    assert outcome(capsys, "explain", "GL999") == (
        2,
        "",
        "gradlint: error: unknown rule 'GL999' (see 'gradlint rules')\n",
    )


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = outcome(capsys, "--help")
    assert code == 0 and "Without a subcommand, runs `check`" in out
    assert outcome(capsys, "--version") == (0, f"gradlint, version {__version__}\n", "")
    code, out, _ = outcome(capsys, "check", "--help")
    assert code == 0 and "--stdin-filename NAME" in out


def test_module_entry_point() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "gradlint", "--version"], capture_output=True, text=True, check=False
    )
    assert (completed.returncode, completed.stdout) == (0, f"gradlint, version {__version__}\n")


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--version"], "0 []"), (["--no-cache", "src"], "1 []")],  # libcst parses in the worker processes
)
def test_static_checker_does_not_import_torch_or_numpy(project: Path, args: list[str], expected: str) -> None:
    (project / "src/energy.py").write_text(SEVERING)
    code = (
        "import sys, gradlint.cli; status = gradlint.cli.run(sys.argv[1:]); "
        "print(status, sorted({'torch', 'numpy', 'libcst'} & set(sys.modules)))"
    )
    completed = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    assert completed.stdout.splitlines()[-1] == expected


@pytest.mark.parametrize("output_format", ["text", "json", "github", "sarif"])
def test_results_from_the_cache_need_no_libcst(project: Path, output_format: str) -> None:
    """Only analysing a file needs libcst; the catalogue (checking selected codes, describing rules) does not."""
    (project / "src/energy.py").write_text(SEVERING)
    (project / "pyproject.toml").write_text('[tool.gradlint]\nignore = ["GL011"]\nextend-select = ["GL9"]\n')
    code = (
        "import sys, gradlint.cli; status = gradlint.cli.run(sys.argv[1:]); "
        "print(status, sorted({'torch', 'numpy', 'libcst'} & set(sys.modules)))"
    )
    command = [sys.executable, "-c", code, "--format", output_format, "src/energy.py"]
    runs = [
        subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1] for _ in range(2)
    ]
    assert runs == ["1 []", "1 []"]  # the first run parses in its worker processes; the second parses nothing


# --- end to end, with the real checker -------------------------------------------------------------------


def checked(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return outcome(capsys, "--no-cache", *args)


def positions(report: str) -> list[tuple[str, int, int, str]]:
    """``(path, line, column, code)`` of each finding line of a text report."""
    found = []
    for line in report.splitlines()[:-1]:
        where, code = line.split(": ")[0], line.split(": ")[1].split(" ")[0]
        path, row, column = where.rsplit(":", 2)
        found.append((path, int(row), int(column), code))
    return found


def test_severing_code_is_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "src/energy.py").write_text(SEVERING)
    code, out, err = checked(capsys, "src")
    assert (code, err) == (1, "")
    assert positions(out) == [("src/energy.py", 6, 12, "GL041"), ("src/energy.py", 6, 26, "GL010")]
    assert out.splitlines()[-1] == "Found 2 findings (GL010: 1, GL041: 1) in 1 file."


def test_clean_code_passes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert checked(capsys, "src") == (0, "No findings in 1 file.\n", "")


def test_awkward_files_are_handled_and_the_rest_still_checked(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = project / "src"
    (src / "energy.py").write_text(SEVERING)
    (src / "latin1.py").write_bytes("# caf\xe9\nx = 1\n".encode("latin-1"))
    (src / "empty.py").write_bytes(b"")
    (src / "bom.py").write_bytes(b"\xef\xbb\xbf" + SEVERING.encode())
    (src / "crlf.py").write_bytes(SEVERING.replace("\n", "\r\n").encode())
    (src / "loop").symlink_to(src, target_is_directory=True)
    code, out, _ = checked(capsys, "src")
    assert code == 1
    severed = [
        (f"src/{name}.py", 6, column, rule)
        for name in ("bom", "crlf", "energy")
        for column, rule in ((12, "GL041"), (26, "GL010"))
    ]
    assert positions(out) == [*severed, ("src/latin1.py", 1, 1, "GL000")]
    assert out.splitlines()[-1] == "Found 7 findings (GL010: 3, GL041: 3, GL000: 1) in 5 files."


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="file permissions do not stop root from reading")
def test_unreadable_file_is_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = project / "src/locked.py"
    locked.write_text(CLEAN)
    locked.chmod(0)
    try:
        code, out, _ = checked(capsys, "src")
    finally:
        locked.chmod(0o644)
    assert code == 1
    assert out.startswith("src/locked.py:1:1: GL000 ")


def test_file_that_cannot_be_read_is_reported(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same as above, for any user: reading is made to fail."""
    (project / "src/locked.py").write_text(CLEAN)
    (project / "src/energy.py").write_text(SEVERING)
    real_open = os.open

    def open_file(path: object, *arguments: object, **keywords: object) -> int:
        if os.path.basename(path) == "locked.py":  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied")
        return real_open(path, *arguments, **keywords)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", open_file)
    code, out, _ = checked(capsys, "src")
    assert code == 1
    assert [position[0] for position in positions(out)] == ["src/energy.py", "src/energy.py", "src/locked.py"]
    assert "src/locked.py:1:1: GL000 cannot read the file: Permission denied [high]" in out.splitlines()


def test_selection_and_confidence(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "src/energy.py").write_text(SEVERING)
    assert positions(checked(capsys, "--select", "GL010", "src")[1]) == [("src/energy.py", 6, 26, "GL010")]
    assert positions(checked(capsys, "--ignore", "GL01", "src")[1]) == [("src/energy.py", 6, 12, "GL041")]
    (project / "src/energy.py").write_text(
        SEVERING.replace("torch.tensor([w.sum().item()]) * x", "x * 2\n    print(w.sum().item())")
    )
    assert checked(capsys, "src") == (0, "No findings in 1 file.\n", "")
    low = positions(checked(capsys, "--confidence", "low", "src")[1])
    assert [(line, code) for _, line, _, code in low] == [(7, "GL010")]


def test_suppressions_end_to_end(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suppressed = SEVERING.replace(") * x\n", ") * x  # gradlint: ignore[GL041, GL001] -- demo\n")
    (project / "src/energy.py").write_text(suppressed)
    assert positions(checked(capsys, "src")[1]) == [("src/energy.py", 6, 26, "GL010")]
    code, out, _ = checked(capsys, "--report-unused-ignores", "src")
    assert code == 1
    assert positions(out) == [("src/energy.py", 6, 26, "GL010"), ("src/energy.py", 6, 48, "GL900")]
    assert "GL900 unused suppression of GL001: no such finding on line 6 [high]" in out


def test_builtin_codes_are_selected_like_every_code(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suppressed = SEVERING.replace(") * x\n", ") * x  # gradlint: ignore[GL041, GL001] -- demo\n")
    (project / "src/energy.py").write_text(suppressed)
    (project / "src/broken.py").write_text("def broken(:\n")
    both = [("src/broken.py", 1, 12, "GL000"), ("src/energy.py", 6, 26, "GL010"), ("src/energy.py", 6, 48, "GL900")]
    assert positions(checked(capsys, "--select", "ALL", "src")[1]) == both
    assert positions(checked(capsys, "--extend-select", "GL900", "src")[1]) == both
    assert positions(checked(capsys, "--report-unused-ignores", "--ignore", "GL900", "src")[1]) == both[:2]
    assert positions(checked(capsys, "--select", "ALL", "--extend-ignore", "GL000,GL9", "src")[1]) == both[1:2]
    (project / "pyproject.toml").write_text('[tool.gradlint]\nper-file-ignores = {"src/energy.py" = ["GL900"]}\n')
    assert positions(checked(capsys, "--select", "ALL", "src")[1]) == both[:2]


def test_quiet_prints_the_findings_only(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "src/energy.py").write_text(SEVERING)
    code, out, err = checked(capsys, "--quiet", "src")
    assert (code, err) == (1, "")
    assert [line.split(" ")[:2] for line in out.splitlines()] == [
        ["src/energy.py:6:12:", "GL041"],
        ["src/energy.py:6:26:", "GL010"],
    ]
    (project / "src/energy.py").write_text(CLEAN)
    assert checked(capsys, "-q", "src") == (0, "", "")


def test_sarif_end_to_end(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gradlint.rules import CATALOGUE

    (project / "src/energy.py").write_text(SEVERING)
    code, out, _ = checked(capsys, "--format", "sarif", "src")
    (run,) = json.loads(out)["runs"]
    assert code == 1
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [rule.code for rule in CATALOGUE]
    assert [result["ruleId"] for result in run["results"]] == ["GL041", "GL010"]


def test_checking_never_writes_to_checked_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "src/energy.py").write_text(SEVERING)
    (project / "src/crlf.py").write_bytes(CLEAN.replace("\n", "\r\n").encode())
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in (project / "src").iterdir()}
    first = outcome(capsys, "src")
    second = outcome(capsys, "src")
    after = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in (project / "src").iterdir()}
    assert before == after
    assert first == second and first[0] == 1
    cache_files = sorted(path.name for path in (project / ".gradlint_cache").iterdir())
    assert len(cache_files) == 3 and cache_files[2].startswith("gradlint-") and cache_files[2].endswith(".pickle")
    assert cache_files[:2] == [".gitignore", "CACHEDIR.TAG"]


def test_standard_input_end_to_end(project: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "gradlint", "--no-cache", "-", "--stdin-filename", "src/piped.py"],
        input=SEVERING,
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout.startswith(f"src/piped.py:{SEVERING_LINE}:")


def run_gradlint(project: Path, *args: str, **keywords: object) -> subprocess.CompletedProcess:
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **keywords}
    return subprocess.run([sys.executable, "-m", "gradlint", *args], text=True, cwd=project, check=False, **streams)  # type: ignore[call-overload]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_failed_write_to_standard_output_is_reported_as_such(project: Path) -> None:
    (project / "src/energy.py").write_text(SEVERING)
    with open("/dev/full", "w") as full:
        completed = run_gradlint(project, "--no-cache", "src", stdout=full)
    assert completed.returncode == 2
    assert completed.stderr == "gradlint: error: cannot write the report to standard output: No space left on device\n"


def test_standard_input_is_read_no_further_than_the_size_limit(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.gradlint]\nmax-file-size = 1000\n")
    with open("/dev/zero", "rb") as zeros:
        completed = run_gradlint(project, "--no-cache", "-", stdin=zeros, timeout=60)
    assert completed.returncode == 1
    assert completed.stdout.startswith("-:1:1: GL000 not analysed: the file is larger than the limit of 1000 bytes")


def slow_files(project: Path, count: int) -> None:
    """Files whose analysis takes minutes: thirty nested loops, each interpreted twice, with no bound on the work."""
    (project / "pyproject.toml").write_text("[tool.gradlint]\nmax-work = 1_000_000_000_000\n")
    body = "\n".join("    " * (level + 1) + f"for i{level} in range(3):" for level in range(30))
    for index in range(count):
        (project / f"src/slow{index}.py").write_text(
            f"import torch\n\ndef f(x: torch.Tensor):\n{body}\n{'    ' * 31}x = x * 2\n    return x.detach()\n"
        )


def worker_pids(pid: int, count: int) -> list[int]:
    """The child processes of ``pid``, once there are ``count`` of them (Linux)."""
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    for _ in range(600):
        children = [int(child) for child in children_file.read_text().split()] if children_file.exists() else []
        if len(children) >= count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"gradlint started {len(children)} workers, not {count}")


def gone(pids: list[int]) -> bool:
    for _ in range(100):
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds worker processes through /proc")
def test_sigterm_ends_the_workers_and_exits_143(project: Path) -> None:
    slow_files(project, 2)
    process = subprocess.Popen(
        [sys.executable, "-m", "gradlint", "--no-cache", "--jobs", "2", "src"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = worker_pids(process.pid, 2)
    process.terminate()
    out, err = process.communicate(timeout=60)
    assert (process.returncode, out, err) == (143, "", "gradlint: error: terminated\n")
    assert gone(workers)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds worker processes through /proc")
def test_workers_end_themselves_when_gradlint_is_killed(project: Path) -> None:
    slow_files(project, 1)
    process = subprocess.Popen(
        [sys.executable, "-m", "gradlint", "--no-cache", "src"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = worker_pids(process.pid, 1)
    process.kill()
    process.wait(timeout=60)
    assert gone(workers)


@pytest.mark.parametrize("cache_option", [["--cache-dir", "models"], ["--cache-dir", "."]])
def test_a_cache_folder_holding_other_files_is_left_alone(
    project: Path, capsys: pytest.CaptureFixture[str], cache_option: list[str]
) -> None:
    (project / "src/energy.py").write_text(SEVERING)
    (project / "models").mkdir()
    kept = {project / "models/model.pickle": b"trained weights", project / "dataset.pickle": b"a dataset"}
    for path, data in kept.items():
        path.write_bytes(data)
    before = sorted(path.name for path in Path(cache_option[1]).iterdir())
    code, out, err = outcome(capsys, *cache_option, "src")
    assert code == 1 and f"src/energy.py:{SEVERING_LINE}:" in out
    assert err.startswith(
        f"gradlint: warning: not using {project / cache_option[1]} as the cache: it holds files gradlint did not write"
    )
    assert all(path.read_bytes() == data for path, data in kept.items())
    assert sorted(path.name for path in Path(cache_option[1]).iterdir()) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_on_the_command_line_is_refused_without_blocking(project: Path) -> None:
    os.mkfifo(project / "pipe.py")
    completed = run_gradlint(project, "--no-cache", "pipe.py", "src", timeout=60)
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr == "gradlint: error: not a file or folder: pipe.py (to check standard input, give '-')\n"


def test_a_damaged_cache_never_changes_the_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Flip bytes all over the cache file between runs: the report stays the one of a clean run."""
    (project / "src/energy.py").write_text(SEVERING)
    (project / "src/helpers.py").write_text(CLEAN.replace("energy", "helper"))
    clean = outcome(capsys, "--show-source", "src")
    (cache_file,) = (project / ".gradlint_cache").glob("gradlint-*.pickle")
    pristine = cache_file.read_bytes()
    for position in range(0, len(pristine), max(1, len(pristine) // 150)):
        damaged = bytearray(pristine)
        damaged[position] ^= 0x5A
        cache_file.write_bytes(bytes(damaged))
        assert outcome(capsys, "--show-source", "src") == clean, position
