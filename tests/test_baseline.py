"""Adopting gradlint on a codebase with findings: ``--baseline-commit`` against a scratch git repository with
an old and a new finding, changed lines first in GitHub annotations, and ``--add-noqa`` followed by a clean run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gradlint.baseline import fingerprints
from gradlint.cli import run
from gradlint.findings import Confidence, Finding, Location
from gradlint.suppressions import with_noqa

if shutil.which("git") is None:
    pytest.skip("needs git", allow_module_level=True)

OLD = """\
import torch


def energy(x):
    w = torch.ones(3, requires_grad=True)
    return (w * x).sum() * w.sum().item()
"""
# The old finding moved down by two lines, and a new one.
NEW = """\
import torch

SCALE = 2.0


def energy(x):
    w = torch.ones(3, requires_grad=True)
    return (w * x).sum() * w.sum().item()


def force(x):
    w = torch.ones(3, requires_grad=True)
    return x * w.detach()
"""
OTHER = """\
import torch


def unchanged(x):
    w = torch.ones(3, requires_grad=True)
    return x * float(w.sum())
"""


def git(folder: Path, *args: str) -> str:
    environment = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    completed = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=folder,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip()


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A commit with the old finding (and one in a file that stays as it is), then the new finding on top."""
    monkeypatch.chdir(tmp_path)
    for variable in ("GITHUB_STEP_SUMMARY", "GITHUB_BASE_REF", "NO_COLOR"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "pyproject.toml").write_text('[tool.gradlint]\npaths = ["src"]\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src/model.py").write_text(OLD)
    (tmp_path / "src/other.py").write_text(OTHER)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "old")
    (tmp_path / "src/model.py").write_text(NEW)
    return tmp_path


def outcome(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["--no-cache", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_only_findings_absent_at_the_base_commit_are_reported(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = outcome(capsys)
    assert code == 1 and [line.split(" ")[:2] for line in out.splitlines()[:-1]] == [
        ["src/model.py:8:28:", "GL010"],
        ["src/model.py:13:16:", "GL001"],
        ["src/other.py:6:16:", "GL012"],
    ]
    assert outcome(capsys, "--baseline-commit", "main") == (
        1,
        "src/model.py:13:16: GL001 `.detach()` cuts the gradient of `w`: nothing computed from it reaches the "
        "parameters it depends on [high]\n"
        "Found 1 new finding (GL001: 1) in 2 files (2 existing at main).\n",
        "",
    )
    document = json.loads(outcome(capsys, "--baseline-commit", "main", "--format", "json")[1])
    assert document["baseline"] == {"commit": "main", "existing": 2}
    assert [(finding["line"], finding["code"]) for finding in document["findings"]] == [(13, "GL001")]
    (result,) = json.loads(outcome(capsys, "--baseline-commit", "main", "--format", "sarif")[1])["runs"][0]["results"]
    assert (result["ruleId"], result["baselineState"]) == ("GL001", "new")
    # Committed, the finding is no longer new; an explicit path is compared the same way.
    git(repository, "commit", "-q", "-am", "new")
    assert outcome(capsys, "--baseline-commit", "HEAD", "src/model.py") == (
        0,
        "No new findings in 1 file (2 existing at HEAD).\n",
        "",
    )
    assert outcome(capsys, "--baseline-commit", "HEAD~1", "src/model.py")[0] == 1


def test_a_file_new_since_the_base_commit_has_only_new_findings(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repository / "src/extra").mkdir()
    (repository / "src/extra/added.py").write_text(OTHER)
    code, out, _ = outcome(capsys, "--baseline-commit", "main", "src/extra")
    assert code == 1 and out.splitlines() == [
        "src/extra/added.py:6:16: GL012 `float()` turns `w.sum()` into a Python number: its gradient stops here [high]",
        "Found 1 new finding (GL012: 1) in 1 file (0 existing at main). 1 fix available with `--fix --unsafe-fixes`.",
    ]


def test_base_commit_errors_are_one_line(
    repository: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert outcome(capsys, "--baseline-commit", "no-such-branch") == (
        2,
        "",
        "gradlint: error: --baseline-commit: unknown commit 'no-such-branch'\n",
    )
    elsewhere = tmp_path_factory.mktemp("not-a-repository")
    (elsewhere / "a.py").write_text(OLD)
    monkeypatch.chdir(elsewhere)
    code, out, err = outcome(capsys, "--baseline-commit", "main", "a.py")
    assert (code, out) == (2, "")
    assert err.startswith("gradlint: error: --baseline-commit: comparing with a commit needs a git repository (")
    assert len(err.splitlines()) == 1


def test_annotations_on_changed_lines_come_first(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a pull request (GITHUB_BASE_REF), findings on lines it changed are annotated first, whatever their
    rank; the step summary counts them."""
    git(repository, "update-ref", "refs/remotes/origin/main", "main")
    git(repository, "checkout", "-q", "-b", "feature")
    (repository / "src/model.py").write_text(NEW.replace("x * w.detach()", "x * float(w.sum())"))
    git(repository, "commit", "-q", "-am", "feature")
    summary = repository / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    ranked = [line.split(",title=")[1].split("::")[0] for line in outcome(capsys, "--format", "github")[1].splitlines()]
    assert ranked == ["GL010 item-on-differentiable", "GL012 python-scalar-of-tensor", "GL012 python-scalar-of-tensor"]
    assert summary.read_text().startswith("### gradlint: 3 findings\n")
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    code, out, _ = outcome(capsys, "--format", "github")
    assert code == 1
    assert [line.split("file=")[1].split(",col")[0] for line in out.splitlines()] == [
        "src/model.py,line=13",
        "src/model.py,line=8",
        "src/other.py,line=6",
    ]
    stops = "turns `w.sum()` into a Python number: its gradient stops here |"
    assert summary.read_text().endswith(
        "### gradlint: 3 findings, 1 on changed lines\n\n"
        + "\n".join(
            [
                "| Location | Code | Rule | Confidence | Message |",
                "| --- | --- | --- | --- | --- |",
                f"| `src/model.py:13:16` | GL012 | python-scalar-of-tensor | high | `float()` {stops}",
                f"| `src/model.py:8:28` | GL010 | item-on-differentiable | high | `.item()` {stops}",
                f"| `src/other.py:6:16` | GL012 | python-scalar-of-tensor | high | `float()` {stops}",
            ]
        )
        + "\n"
    )
    code, out, _ = outcome(capsys, "--format", "github", "--baseline-commit", "main")
    assert code == 1 and len(out.splitlines()) == 1 and "line=13" in out
    assert summary.read_text().endswith(
        "### gradlint: 1 new finding, 2 existing at `main`, 1 on changed lines\n\n"
        "| Location | Code | Rule | Confidence | Message |\n| --- | --- | --- | --- | --- |\n"
        f"| `src/model.py:13:16` | GL012 | python-scalar-of-tensor | high | `float()` {stops}\n"
    )


def test_unknown_base_branch_keeps_the_usual_order_with_a_warning(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    code, out, err = outcome(capsys, "--format", "github")
    assert code == 1 and len(out.splitlines()) == 3
    assert err == (
        "gradlint: warning: cannot find where this branch left origin/main (check out with fetch-depth: 0): "
        "findings on changed lines are not listed first\n"
    )


def test_fingerprints_survive_moved_lines_and_tell_repeats_apart() -> None:
    def finding(line: int, text: str, code: str = "GL010") -> Finding:
        return Finding(code, "r", "m", Location("a.py", line, 5, line, 9), Confidence.HIGH, source_line=text)

    before = fingerprints([finding(3, "    y = x.item()"), finding(9, "y = x.item()")])
    after = fingerprints([finding(10, "y = x.item()"), finding(20, "  y = x.item()")])
    assert before == after and before[0] != before[1]
    assert fingerprints([finding(3, "y = x.item()", "GL011")]) != fingerprints([finding(3, "y = x.item()")])


# --- --add-noqa ---------------------------------------------------------------------------------------------


def test_add_noqa_then_a_clean_run(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = repository / "src/model.py"
    model.write_text(
        NEW.replace("w.sum().item()\n", "w.sum().item()  # the energy scale  \n").replace(
            "x * w.detach()", "x * w.detach()  # noqa: E501"
        )
    )
    other = repository / "src/other.py"
    other.write_bytes(OTHER.replace("\n", "\r\n").encode())
    clean = repository / "src/clean.py"
    clean.write_text("import torch\n")
    os.utime(clean, ns=(1, 1))
    assert outcome(capsys, "--add-noqa") == (0, "", "gradlint: added 3 suppressions in 2 files\n")
    assert model.read_text() == NEW.replace(
        "w.sum().item()\n", "w.sum().item()  # the energy scale  # noqa: GL010\n"
    ).replace("x * w.detach()", "x * w.detach()  # noqa: E501, GL001")
    assert (
        other.read_bytes()
        == OTHER.replace("float(w.sum())", "float(w.sum())  # noqa: GL012").replace("\n", "\r\n").encode()
    )
    assert clean.stat().st_mtime_ns == 1
    assert outcome(capsys) == (0, "No findings in 3 files.\n", "")
    stamps = {path: path.stat().st_mtime_ns for path in (model, other)}
    assert outcome(capsys, "--add-noqa", "-q") == (0, "", "")
    assert {path: path.stat().st_mtime_ns for path in (model, other)} == stamps


def test_add_noqa_reports_the_lines_it_cannot_suppress(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = repository / "src/model.py"
    model.write_text(OLD.replace("* w.sum().item()", '* w.sum().item() * len("""\n""")'))
    (repository / "src/other.py").write_text("def broken(:\n")
    code, out, err = outcome(capsys, "--add-noqa")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "gradlint: warning: src/model.py:6: cannot add a suppression comment to this line; add one by hand",
        "gradlint: warning: src/other.py:1: cannot add a suppression comment to this line; add one by hand",
        "gradlint: added 0 suppressions in 0 files",
    ]


def test_add_noqa_with_a_baseline_suppresses_the_new_findings_only(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert outcome(capsys, "--add-noqa", "--baseline-commit", "main") == (
        0,
        "",
        "gradlint: added 1 suppression in 1 file\n",
    )
    assert (repository / "src/model.py").read_text() == NEW.replace("x * w.detach()", "x * w.detach()  # noqa: GL001")
    assert (repository / "src/other.py").read_text() == OTHER


def test_add_noqa_needs_files(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert outcome(capsys, "--add-noqa", "-") == (
        2,
        "",
        "gradlint: error: --add-noqa needs files, not standard input\n",
    )


@pytest.mark.parametrize(
    ("source", "wanted", "expected", "failed"),
    [
        ("a = x.item()\n", {1: ["GL010"]}, "a = x.item()  # noqa: GL010\n", []),
        ("a = x.item()\t \n", {1: ["GL010", "GL001"]}, "a = x.item()  # noqa: GL001, GL010\n", []),
        ("a = x.item()  # noqa: E501\n", {1: ["GL010"]}, "a = x.item()  # noqa: E501, GL010\n", []),
        ("a = x.item()  # noqa:E501,GL001\n", {1: ["GL001", "GL010"]}, "a = x.item()  # noqa:E501,GL001, GL010\n", []),
        ("a = x.item()  # why\n", {1: ["GL010"]}, "a = x.item()  # why  # noqa: GL010\n", []),
        ("a = f(x.item(),\n      y)\n", {1: ["GL010"]}, "a = f(x.item(),  # noqa: GL010\n      y)\n", []),
        ("a = x.item() + \\\n    y\n", {1: ["GL010"]}, "a = x.item() + \\\n    y\n", [1]),
        (
            'a = """{}\n""".format(x.item())\n',
            {1: ["GL010"], 2: ["GL011"]},
            'a = """{}\n""".format(x.item())  # noqa: GL011\n',
            [1],
        ),
        ("a = x.item()", {1: ["GL010"], 5: ["GL010"]}, "a = x.item()  # noqa: GL010", [5]),
        ("def f(:\n", {1: ["GL010"]}, "def f(:\n", [1]),
        ("\ufeffa = x.item()\r\n", {1: ["GL010"]}, "\ufeffa = x.item()  # noqa: GL010\r\n", []),
    ],
)
def test_with_noqa(source: str, wanted: dict[int, list[str]], expected: str, failed: list[int]) -> None:
    assert with_noqa(source, wanted) == (expected, failed)
    assert with_noqa(expected, {row: codes for row, codes in wanted.items() if row not in failed})[0] == expected
