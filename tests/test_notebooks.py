"""Notebooks: checked as the program of their code cells, reported by cell and line, suppressed and fixed in
their cells with everything else in the file left as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gradlint import notebooks
from gradlint.cli import run
from gradlint.discovery import discover
from gradlint.engine import CheckOptions, check

CELLS = [
    ("markdown", "# Fitting the cell\n"),
    (
        "code",
        "%matplotlib inline\nimport torch\n\n"
        "w = torch.nn.Parameter(torch.tensor([0.3, 1.7, -0.6], dtype=torch.float64))\n",
    ),
    ("code", "!nvidia-smi\ndef loss_of(w):\n    return ((w * float(w.sum()) - 1.0) ** 2).sum()\n"),
    ("raw", "not code"),
    ("code", "loss = loss_of(w)\nloss.backward()"),
]
CUT = "    return ((w * float(w.sum()) - 1.0) ** 2).sum()"
FIXED = "    return ((w * w.sum() - 1.0) ** 2).sum()"


def notebook(cells=CELLS, *, language: str = "python") -> dict:
    return {
        "cells": [
            {
                "cell_type": kind,
                "metadata": {"tags": ["t"]},
                "source": text.splitlines(keepends=True),
                **(
                    {
                        "execution_count": 1,
                        "outputs": [{"output_type": "stream", "name": "stdout", "text": ["ünïcode output\n"]}],
                    }
                    if kind == "code"
                    else {}
                ),
            }
            for kind, text in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "language": language}, "language_info": {"name": language}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write(path: Path, document: dict, indent: int = 1) -> str:
    text = json.dumps(document, indent=indent, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "fit.ipynb", notebook())
    return tmp_path


def gradlint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["--no-cache", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_code_cells_in_order_make_one_program_with_ipython_lines_as_pass() -> None:
    program, cells = notebooks.program(json.dumps(notebook()).encode())
    assert program.splitlines() == [
        "pass",
        "import torch",
        "",
        "w = torch.nn.Parameter(torch.tensor([0.3, 1.7, -0.6], dtype=torch.float64))",
        "pass",
        "def loss_of(w):",
        CUT,
        "loss = loss_of(w)",
        "loss.backward()",
    ]
    assert [cells.locate(line) for line in (1, 4, 5, 7, 8, 9)] == [(2, 1), (2, 4), (3, 1), (3, 3), (5, 1), (5, 2)]


@pytest.mark.parametrize(
    "source, expected",
    [
        ("%%bash\necho hi\n", ""),
        ("%%time\nx = 1\n", "pass\nx = 1\n"),
        (
            "  !ls \\\n  -l\nfiles = !ls\nhelp?\n?help\nx = 1  # ok?\n",
            "  pass\n  pass\npass\npass\npass\nx = 1  # ok?\n",
        ),
    ],
)
def test_magics_and_shell_lines(source: str, expected: str) -> None:
    assert notebooks.program(json.dumps(notebook([("code", source)])).encode())[0] == expected


def test_findings_are_reported_by_cell_and_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = gradlint(capsys, "fit.ipynb", "--show-source")
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == (
        "fit.ipynb:cell 3:3:18: GL012 `float()` turns `w.sum()` into a Python number: its gradient stops here [high]"
    )
    assert lines[2] == f"3 | {CUT}"
    assert lines[4] == (
        "  = chain: w.sum() ← w (cell 3, line 2) ← "
        "torch.nn.Parameter(torch.tensor([0.3, 1.7, -0.6], "
        "dtype=tor… (cell 2, line 4)"
    )


def test_json_and_sarif_give_the_cell(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    finding = json.loads(gradlint(capsys, "fit.ipynb", "--format", "json")[1])["findings"][0]
    assert (finding["path"], finding["cell"], finding["line"], finding["column"]) == ("fit.ipynb", 3, 3, 18)
    assert finding["autofix"]["edits"][0]["cell"] == 3 and finding["autofix"]["safe"] is False
    result = json.loads(gradlint(capsys, "fit.ipynb", "--format", "sarif")[1])["runs"][0]["results"][0]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (result["properties"]["cell"], region["startLine"], region["startColumn"]) == (3, 3, 18)
    assert "fixes" not in result  # a SARIF tool would apply the cell's edit to the notebook's JSON


@pytest.mark.parametrize("comment", ["# gradlint: ignore[GL012] -- a fixed scale", "# noqa: GL012"])
def test_suppressions_work_inside_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], comment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    cells = [(kind, text.replace(CUT, f"{CUT}  {comment}")) for kind, text in CELLS]
    write(tmp_path / "fit.ipynb", notebook(cells))
    assert gradlint(capsys, "fit.ipynb") == (0, "No findings in 1 file.\n", "")


def test_fix_rewrites_only_the_cell_and_the_gradient_flows(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "fit.ipynb").read_text(encoding="utf-8")
    code, out, err = gradlint(capsys, "fit.ipynb", "--diff", "--unsafe-fixes")
    assert (project / "fit.ipynb").read_text(encoding="utf-8") == before
    assert out.splitlines()[:2] == ["--- fit.ipynb:cell 3", "+++ fit.ipynb:cell 3"]
    assert f"-{CUT}" in out.splitlines() and f"+{FIXED}" in out.splitlines()

    code, out, err = gradlint(capsys, "fit.ipynb", "--fix", "--unsafe-fixes")
    assert (code, out, err) == (0, "No findings in 1 file.\n", "gradlint: 1 fix applied in 1 file\n")
    after = (project / "fit.ipynb").read_text(encoding="utf-8")
    assert after == before.replace(json.dumps(CUT + "\n"), json.dumps(FIXED + "\n"))

    namespace: dict = {}
    exec(notebooks.program(after.encode())[0], namespace)  # the fixed notebook, run top to bottom
    parameter = torch.tensor([0.3, 1.7, -0.6], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(namespace["loss_of"], (parameter,))


def test_a_notebook_in_a_layout_json_cannot_reproduce_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    before = write(tmp_path / "fit.ipynb", notebook(), indent=3)
    code, _, err = gradlint(capsys, "fit.ipynb", "--fix", "--unsafe-fixes")
    assert code == 1
    assert err.splitlines()[0] == (
        "gradlint: warning: fit.ipynb: fixes not applied (cannot write the notebook back without changing its layout)"
    )
    assert (tmp_path / "fit.ipynb").read_text(encoding="utf-8") == before


def test_notebooks_are_discovered_and_count_as_files(project: Path) -> None:
    (project / "lib").mkdir()
    (project / "lib/model.py").write_text("x = 1\n")
    write(project / "lib/explore.ipynb", notebook([("code", "y = 2\n")]))
    assert [path.as_posix() for path in discover([project], root=project).files] == [
        f"{project.as_posix()}/{name}" for name in ("fit.ipynb", "lib/explore.ipynb", "lib/model.py")
    ]
    result = check([project], CheckOptions(root=project))
    assert result.files_checked == 3 and [f.location.cell for f in result.findings] == [3]


def test_a_notebook_sees_the_project(project: Path) -> None:
    (project / "physics.py").write_text(
        "import torch\n\ndef scale(x: torch.Tensor) -> torch.Tensor:\n    return x * 2\n"
    )
    write(
        project / "use.ipynb",
        notebook(
            [
                ("code", "import torch\nfrom physics import scale\nw = torch.nn.Parameter(torch.ones(3))\n"),
                ("code", "loss = (w * scale(w).sum().item()).sum()\nloss.backward()\n"),
            ]
        ),
    )
    found = check([project], CheckOptions(root=project)).findings
    assert [(f.location.path, f.location.cell, f.location.line, f.code) for f in found] == [
        ("fit.ipynb", 3, 3, "GL012"),
        ("use.ipynb", 2, 1, "GL010"),
    ]


def test_unreadable_and_foreign_notebooks(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "broken.ipynb").write_text("{not json")
    write(project / "julia.ipynb", notebook([("code", "x = float(w)\n")], language="julia"))
    code, out, _ = gradlint(capsys, "broken.ipynb", "julia.ipynb")
    assert code == 1
    assert out.splitlines()[0].startswith(
        "broken.ipynb:1:1: GL000 cannot read the notebook: not a notebook: the file is not JSON"
    )
    assert out.splitlines()[-1] == "Found 1 finding (GL000: 1) in 1 file."


def test_a_parameter_born_in_a_notebook_is_evidence_for_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.gradlint]\npaths = ["src"]\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src/model.py").write_text("def energy(w):\n    return (w * float(w.sum())).sum()\n")
    (tmp_path / "notebooks").mkdir()
    write(
        tmp_path / "notebooks/fit.ipynb",
        notebook(
            [
                ("code", "import torch\nfrom model import energy\n\nw = torch.nn.Parameter(torch.ones(3))\n"),
                ("code", "energy(w).backward()\n"),
            ]
        ),
    )
    code, out, _ = gradlint(capsys, "src")
    assert (code, out.splitlines()[0]) == (
        1,
        "src/model.py:2:17: GL012 `float()` turns `w.sum()` into a Python number: its gradient stops here [high]",
    )
    assert gradlint(capsys, "src", "--no-context")[:2] == (0, "No findings in 1 file.\n")


def test_add_noqa_suppresses_in_the_cell(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "fit.ipynb").read_text(encoding="utf-8")
    assert gradlint(capsys, "fit.ipynb", "--add-noqa")[0] == 0
    after = (project / "fit.ipynb").read_text(encoding="utf-8")
    assert after == before.replace(json.dumps(CUT + "\n"), json.dumps(CUT + "  # noqa: GL012\n"))
    assert gradlint(capsys, "fit.ipynb") == (0, "No findings in 1 file.\n", "")
