"""Autofix, kind by kind: the fixed code runs, and the parameter's gradient now equals finite differences.

Each case is one function of a parameter ``w`` through a cut. ``gradlint --diff`` shows the fix and leaves the
file as it is; ``gradlint --fix`` (with ``--unsafe-fixes`` for the unsafe kinds) rewrites it; the original
function fails ``torch.autograd.gradcheck`` (or raises), the fixed one passes it; a second ``--fix`` changes
nothing.
"""

from __future__ import annotations

import importlib.util
import io
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlint.cli import run
from gradlint.engine import CheckOptions, check_text
from gradlint.findings import Confidence
from gradlint.fixes import apply
from gradlint.fixes.twins import MathTwin, TorchTwin

HEADER = "import math\n\nimport numpy as np\nimport torch\n\n\n"


@dataclass(frozen=True)
class Case:
    code: str  # the rule whose fix is tested
    source: str  # defines ``f(w)``
    fixed: str  # the fixed line of ``f``
    safe: bool


CASES = {
    "copy": Case(
        "GL040",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (torch.tensor(w * 2.0) * w).sum()
""",
        "    return ((w * 2.0).clone() * w).sum()",
        safe=True,
    ),
    "copy-typed": Case(
        "GL040",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (torch.tensor(w, dtype=torch.float64) ** 2).sum()
""",
        "    return (w.to(dtype=torch.float64, copy=True) ** 2).sum()",
        safe=True,
    ),
    "stack": Case(
        "GL041",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    v = torch.tensor([w[0] * w[1], torch.sin(w[0]), 1.0], dtype=torch.float64)
    return (v * w).sum()
""",
        "    v = torch.stack([w[0] * w[1], torch.sin(w[0]), torch.as_tensor(1.0)]).to(dtype=torch.float64)",
        safe=False,
    ),
    "stack-as-tensor": Case(
        "GL041",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    v = torch.as_tensor([[w[0], w[1]], [w[2], w[0] * w[2]]])
    return (v @ w[:2]).sum()
""",
        "    v = torch.stack([torch.stack([w[0], w[1]]), torch.stack([w[2], w[0] * w[2]])])",
        safe=False,
    ),
    "new-tensor": Case(
        "GL042",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (w.new_tensor(w * 3.0) * w).sum()
""",
        "    return ((w * 3.0).to(w, copy=True) * w).sum()",
        safe=True,
    ),
    "new-tensor-list": Case(
        "GL042",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (w.new_tensor([w[0], w[2] * w[1], w[1]]) * w).sum()
""",
        "    return (torch.stack([w[0], w[2] * w[1], w[1]]).to(w) * w).sum()",
        safe=False,
    ),
    "numpy": Case(
        "GL031",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (np.sin(w) * np.arctan2(w, 2.0)).sum()
""",
        "    return (torch.sin(w) * torch.arctan2(w, torch.as_tensor(2.0))).sum()",
        safe=False,
    ),
    "math": Case(
        "GL013",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (w * math.cos(math.radians(w[0])) + math.atan2(w[1], 2.0)).sum()
""",
        "    return (w * torch.cos(torch.deg2rad(w[0])) + torch.atan2(w[1], torch.as_tensor(2.0))).sum()",
        safe=False,
    ),
    "data": Case(
        "GL020",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (w.data * w).sum()
""",
        "    return (w * w).sum()",
        safe=True,
    ),
    "linspace": Case(
        "GL050",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    start, end = w[0], w[1]
    return (torch.linspace(start, end, 5, dtype=torch.float64) ** 2).sum()
""",
        "    return ((start + (end - start) * torch.linspace(0, 1, 5, dtype=torch.float64)) ** 2).sum()",
        safe=False,
    ),
    "fill": Case(
        "GL090",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (torch.full((3,), float(w.sum()), dtype=torch.float64) * w).sum()
""",
        "    return (w.sum() * torch.ones((3,), dtype=torch.float64) * w).sum()",
        safe=False,
    ),
    "fill-like": Case(
        "GL090",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (torch.full_like(w, w.max().item()) * w).sum()
""",
        "    return (w.max() * torch.ones_like(w) * w).sum()",
        safe=False,
    ),
    "item": Case(
        "GL010",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (w * w.sum().item()).sum()
""",
        "    return (w * w.sum()).sum()",
        safe=False,
    ),
    "float": Case(
        "GL012",
        """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (w / -float(w.sum() + 1.0)).sum()
""",
        "    return (w / -(w.sum() + 1.0)).sum()",
        safe=False,
    ),
}


def gradient_matches_finite_differences(path: Path) -> bool:
    """``f(w)`` of the module at ``path``, for ``w`` of float64 that requires grad, passes gradcheck."""
    spec = importlib.util.spec_from_file_location(f"case_{abs(hash(path.read_text()))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parameter = torch.tensor([0.3, 1.7, -0.6], dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about the cuts the original code makes
        try:
            return torch.autograd.gradcheck(module.f, (parameter,), raise_exception=False)
        except RuntimeError:  # NumPy on a tensor that requires grad
            return False


def gradlint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["--no-cache", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fix_makes_the_gradient_flow(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES[name]
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "case.py"
    original = HEADER + case.source
    path.write_text(original)
    assert not gradient_matches_finite_differences(path)
    code, out, _ = gradlint(capsys, "case.py")
    assert code == 1 and f" {case.code} " in out
    unsafe = [] if case.safe else ["--unsafe-fixes"]

    code, out, err = gradlint(capsys, "case.py", "--diff", *unsafe)
    assert path.read_text() == original
    assert (code, f"+{case.fixed}\n" in out.splitlines(keepends=True)) == (1, True)
    assert err.endswith("would be applied to 1 file\n")

    if not case.safe:
        gradlint(capsys, "case.py", "--fix")
        assert f"{case.fixed}\n" not in path.read_text()

    code, out, err = gradlint(capsys, "case.py", "--fix", *unsafe)
    assert (code, out) == (0, "No findings in 1 file.\n")
    assert f"{case.fixed}\n" in path.read_text()
    assert gradient_matches_finite_differences(path)

    fixed = path.read_text()
    assert gradlint(capsys, "case.py", "--fix", *unsafe)[2] == "gradlint: 0 fixes applied in 0 files\n"
    assert path.read_text() == fixed


def test_fixes_keep_comments_and_the_layout_around_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.py").write_text(
        HEADER
        + """\
def f(w: torch.Tensor) -> torch.Tensor:  # the energy
    v = torch.tensor(
        [w[0], w[1] * 2],  # the two ends
        dtype=torch.float64,  # as the detector
    )
    # scaled
    return (v * w[:2].data).sum()    # spacing kept
"""
    )
    assert gradlint(capsys, "case.py", "--fix", "--unsafe-fixes")[0] == 0
    assert (
        (tmp_path / "case.py").read_text()
        == HEADER
        + """\
def f(w: torch.Tensor) -> torch.Tensor:  # the energy
    v = torch.stack(
        [w[0], w[1] * 2],  # the two ends
        ).to(dtype=torch.float64,  # as the detector
    )
    # scaled
    return (v * w[:2]).sum()    # spacing kept
"""
    )


def test_a_fix_that_would_drop_a_comment_is_not_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    source = (
        HEADER
        + """\
def f(w: torch.Tensor) -> torch.Tensor:
    return (w * float(  # the total
        w.sum())).sum()
"""
    )
    (tmp_path / "case.py").write_text(source)
    code, out, _ = gradlint(capsys, "case.py", "--fix", "--unsafe-fixes")
    assert code == 1 and " GL012 " in out
    assert (tmp_path / "case.py").read_text() == source


def test_safe_fixes_only_without_unsafe_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.py").write_text(HEADER + CASES["data"].source + "\n\n" + CASES["item"].source.replace("f(", "g("))
    code, out, err = gradlint(capsys, "case.py", "--fix")
    assert code == 1
    assert out.splitlines()[-1] == "Found 1 finding (GL010: 1) in 1 file. 1 fix available with `--fix --unsafe-fixes`."
    assert err == "gradlint: 1 fix applied in 1 file\n"
    assert "(w * w).sum()" in (tmp_path / "case.py").read_text()


def test_low_confidence_findings_are_shown_but_not_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    source = HEADER + "def f(w):\n    return torch.tensor(w) * 2\n"  # w could be a list: low confidence
    (tmp_path / "case.py").write_text(source)
    code, out, _ = gradlint(capsys, "case.py", "--fix", "--confidence", "low")
    assert code == 1 and " GL040 " in out and "[low]" in out and "[*]" not in out
    assert (tmp_path / "case.py").read_text() == source


def test_fixed_standard_input_goes_to_standard_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import sys

    source = HEADER + CASES["data"].source
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(source.encode())))
    code, out, err = gradlint(capsys, "-", "--fix")
    assert (code, out, err) == (0, source.replace("w.data", "w"), "gradlint: 1 fix applied, 0 findings left\n")


@pytest.mark.parametrize("other", [["--trace", "x:y"], ["--add-noqa"], ["--baseline-commit", "HEAD"]])
def test_fix_cannot_be_combined_with_options_that_report_otherwise(
    other: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.py").write_text(HEADER)
    assert gradlint(capsys, "case.py", "--fix", *other) == (
        2,
        "",
        "gradlint: error: --fix and --diff cannot be combined with --trace, --add-noqa or --baseline-commit\n",
    )


def test_files_without_fixes_are_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fixed.py").write_text(HEADER + CASES["data"].source)
    untouched = tmp_path / "untouched.py"
    untouched.write_text(HEADER + CASES["item"].source)  # an unsafe fix only
    stamp = untouched.stat().st_mtime_ns
    untouched.chmod(0o444)
    code, _, err = gradlint(capsys, ".", "--fix")
    assert (code, err) == (1, "gradlint: 1 fix applied in 1 file\n")
    assert untouched.stat().st_mtime_ns == stamp


# ------------------------------------------------------------------------------------------------ fuzzing
TENSORS = ("w", "w * 2.0", "(w + 1)", "w[0]", "torch.sin(w)", "-w", "w ** 2", "w.sum()", "w.t()", "(a if c else w)")
PATTERNS = (
    "torch.tensor({t})",
    "torch.tensor({t}, dtype=torch.float64)",
    "torch.tensor([{t}, {u}])",
    "torch.as_tensor([{t}, 1.0], device='cpu')",
    "torch.tensor([[{t}], [{u}]])",
    "w.new_tensor({t})",
    "w.new_tensor([{t}, {u}])",
    "np.cos({t})",
    "np.maximum({t}, 0.5)",
    "np.linalg.norm({t})",
    "w.data",
    "{t}.data",
    "torch.linspace(a, b, 4)",
    "torch.linspace(-a, w.sum(), steps=4, dtype=torch.float64)",
    "torch.full((2,), float({t}))",
    "torch.full_like(w, {t}.item())",
    "w.new_full((2,), float({t}))",
    "float({t})",
    "{t}.item()",
    "math.cos({t})",
    "math.atan2({t}, 1.0)",
    "math.radians({u})",
)
CONTEXTS = (
    "return {e}",
    "y = {e} * w\n    return y",
    "return w - {e}",
    "return -{e}",
    "return {e} ** 2",
    "return 2 ** {e}",
    "return helper({e})",
    "return [{e}, w]",
    "return ({e})",
    "return {e}.sum()",
    "return {e}[0]",
    "return w @ {e}",
    "z = {e}\n    return z + w",
    "if {e} > 0:\n        return w\n    return -w",
    "return {e} if c else w",
    "return w * (\n        {e}  # why\n    )",
    "return w + {e} / 3",
    "y = w\n    y += {e}\n    return y",
    "return {{'k': {e}}}",
    "return w[{e}]",
    "return not {e}",
    "return {e} @ w",
)


@st.composite
def programs(draw: st.DrawFn) -> str:
    tensor, other = draw(st.sampled_from(TENSORS)), draw(st.sampled_from(TENSORS))
    pattern = draw(st.sampled_from(PATTERNS))
    if "{t}." in pattern and not tensor.isidentifier():
        tensor = f"({tensor})"
    expression = pattern.format(t=tensor, u=other)
    if draw(st.booleans()):  # a line break and a comment inside the first bracket
        expression = expression.replace("(", "(  # note\n        ", 1)
    body = draw(st.sampled_from(CONTEXTS)).format(e=expression)
    return HEADER + f"def f(w: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: bool):\n    {body}\n"


def fixed_text(source: str) -> tuple[str, list[str]]:
    options = CheckOptions(confidence=Confidence.LOW)
    outcome = apply.run(
        lambda texts: check_text(texts.get("f.py", source.encode()), "f.py", options),
        lambda display: source.encode(),
        Path,
        unsafe=True,
    )
    return (outcome.changes[0].after.decode() if outcome.changes else source), outcome.warnings


def comments_of(source: str) -> list[str]:
    return [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(programs())
def test_fixed_code_parses_keeps_its_comments_and_is_a_fixed_point(source: str) -> None:
    compile(source, "f.py", "exec")
    fixed, warnings_given = fixed_text(source)
    assert warnings_given == []
    compile(fixed, "f.py", "exec")
    assert sorted(comments_of(fixed)) == sorted(comments_of(source))
    assert fixed_text(fixed)[0] == fixed


def test_every_twin_is_a_torch_function() -> None:
    for kind in (TorchTwin, MathTwin):
        for twin, _ in kind.twins.values():
            function = torch
            for part in twin.split("."):
                function = getattr(function, part)
            assert callable(function), twin


def test_json_and_sarif_carry_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.py").write_text(HEADER + CASES["data"].source)
    finding = json.loads(gradlint(capsys, "case.py", "--format", "json")[1])["findings"][0]
    assert finding["autofix"] == {
        "title": "Use the tensor instead of its `.data`",
        "safe": True,
        "edits": [{"line": 8, "column": 13, "end_line": 8, "end_column": 19, "cell": None, "content": "w"}],
    }
    result = json.loads(gradlint(capsys, "case.py", "--format", "sarif")[1])["runs"][0]["results"][0]
    assert result["fixes"] == [
        {
            "description": {"text": "Use the tensor instead of its `.data`"},
            "artifactChanges": [
                {
                    "artifactLocation": {"uri": "case.py", "uriBaseId": "%SRCROOT%"},
                    "replacements": [
                        {
                            "deletedRegion": {"startLine": 8, "startColumn": 13, "endLine": 8, "endColumn": 19},
                            "insertedContent": {"text": "w"},
                        }
                    ],
                }
            ],
            "properties": {"safe": True},
        }
    ]


def test_diff_goes_to_the_output_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.py").write_text(HEADER + CASES["data"].source)
    assert gradlint(capsys, "case.py", "--diff", "--output", "fixes.diff")[:2] == (1, "")
    assert (tmp_path / "fixes.diff").read_text().splitlines()[:2] == ["--- case.py", "+++ case.py"]
