"""One-line suites (``if ready: y = x.detach()``) are analysed like the indented blocks they abbreviate."""

from __future__ import annotations

import pytest

CUT_IN = """\
import torch


def f(x: torch.Tensor) -> torch.Tensor:
    w = torch.nn.Parameter(torch.ones(3))
    out = x * w
    y = out
    {suite}
    return y * 2
"""

# The same cut, in a one-line suite and in the indented block it abbreviates.
SUITES = {
    "if": ("if True: y = out.detach()", "if True:\n        y = out.detach()"),
    "for": ("for _ in range(2): y = out.detach()", "for _ in range(2):\n        y = out.detach()"),
    "with": ("with torch.enable_grad(): y = out.detach()", "with torch.enable_grad():\n        y = out.detach()"),
    "else": (
        "if False: pass\n    else: y = out.detach()",
        "if False:\n        pass\n    else:\n        y = out.detach()",
    ),
    "except": (
        "try: pass\n    except RuntimeError: y = out.detach()",
        "try:\n        pass\n    except RuntimeError:\n        y = out.detach()",
    ),
}


@pytest.mark.parametrize("kind", SUITES)
def test_a_cut_in_a_one_line_suite_is_found_as_in_an_indented_block(scan, kind):
    one_line, indented = SUITES[kind]
    found = scan({"one_line/m.py": CUT_IN.format(suite=one_line)})
    expected = scan({"indented/m.py": CUT_IN.format(suite=indented)})
    assert [(f.location.line, f.code) for f in found] == [(8 + one_line.count("\n"), "GL001")]
    assert [(f.code, f.confidence, f.use) for f in found] == [(f.code, f.confidence, f.use) for f in expected]


def test_an_import_in_a_one_line_suite_is_declared(scan):
    findings = scan(
        {
            "pkg/model.py": """\
        try: import torch
        except ImportError: torch = None


        def f(x: torch.Tensor) -> torch.Tensor:
            w = torch.nn.Parameter(torch.ones(3))
            return (x * w).detach() * 2
    """
        }
    )
    assert [(f.location.line, f.code) for f in findings] == [(7, "GL001")]


def test_a_one_line_return_leaves_the_branch(scan):
    """``if done: return y`` always leaves: a cut after it is on the path that goes on, as after an indented one."""
    programs = {
        name: scan(
            {
                f"{name}/m.py": f"""\
            import torch


            def f(x: torch.Tensor, done: bool) -> torch.Tensor:
                w = torch.nn.Parameter(torch.ones(3))
                y = x * w
                if done:{separator}return y
                y = y.detach()
                return y * 2
        """
            }
        )
        for name, separator in (("one_line", " "), ("indented", "\n                    "))
    }
    assert [(f.code, f.confidence) for f in programs["one_line"]] == [
        (f.code, f.confidence) for f in programs["indented"]
    ]
    assert [f.code for f in programs["one_line"]] == ["GL001"]
