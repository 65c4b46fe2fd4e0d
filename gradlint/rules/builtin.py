"""The codes the checker reports itself, outside the analysis: documented and selected like every rule."""

from __future__ import annotations

from gradlint.engine import PARSE_ERROR_CODE, PARSE_ERROR_RULE
from gradlint.findings import Confidence
from gradlint.rules.base import Invalid, Rule, Valid
from gradlint.suppressions import UNUSED_SUPPRESSION_CODE, UNUSED_SUPPRESSION_RULE


class UnparsableFile(Rule):
    """A file that cannot be read, decoded or parsed, and so was not checked.

    What it does:
        Reports a file that cannot be read (permissions, a folder in its place), decoded (a wrong coding
        declaration, bytes that are not text) or parsed as Python, at the place of the first error when there
        is one. Every other file is still checked.

    Why it cuts gradients:
        It does not cut anything itself, but gradlint cannot see into the file: a cut there goes unreported, and
        what the rest of the program gets from the file is unknown. In the text report it is shown whatever
        the confidence threshold, and GitHub annotations and SARIF show it as an error.

    When it is fine:
        A file that is not meant to be Python (a template, a fixture of broken code): exclude it with
        `extend-exclude`, or `ignore` GL000 for it in `per-file-ignores`.
    """

    code = PARSE_ERROR_CODE
    name = PARSE_ERROR_RULE
    INVALID = [
        Invalid(
            """\
import torch


def energy(x: torch.Tensor) -> torch.Tensor:
    return (x ** 2).sum(
""",
            line=5,
            column=24,
            confidence=Confidence.HIGH,
            fixed="""\
import torch


def energy(x: torch.Tensor) -> torch.Tensor:
    return (x ** 2).sum()
""",
        )
    ]


class UnusedSuppression(Rule):
    """A suppression comment that silences nothing.

    What it does:
        Reports a `# gradlint: ignore[...]` or `# noqa: GL...` comment, or one code listed in it, that
        silenced no finding on its line in this run. Off by default: `--report-unused-ignores`, or selecting
        GL900 explicitly (`--extend-select GL900`, `--select ALL`), turns it on. A bare `# noqa` is never
        reported (it may be meant for another tool), nor a code whose rule did not run.

    Why it cuts gradients:
        It does not; but a suppression left behind after the code changed will silence the next real cut on
        that line without anyone noticing.

    When it is fine:
        A suppression for a finding below the confidence threshold of this run, or for a rule that is selected
        elsewhere (CI with `--confidence low`): ignore GL900 where that is the case.
    """

    code = UNUSED_SUPPRESSION_CODE
    name = UNUSED_SUPPRESSION_RULE
    INVALID = [
        Invalid(
            """\
import torch

SCALE = torch.ones(3)  # noqa: GL081


def scaled(x: torch.Tensor) -> torch.Tensor:
    return x * SCALE
""",
            line=3,
            column=24,
            confidence=Confidence.HIGH,
            fixed="""\
import torch

SCALE = torch.ones(3)


def scaled(x: torch.Tensor) -> torch.Tensor:
    return x * SCALE
""",
        )
    ]
    VALID = [
        Valid(
            """\
import torch


def energy(x: torch.Tensor) -> float:
    return (x ** 2).sum().item()  # noqa: GL010
"""
        )
    ]
