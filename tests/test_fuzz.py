"""The checker never crashes: on any valid program it returns facts or nothing, on invalid text a GL000."""

from __future__ import annotations

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlint.engine import CheckOptions, analyse, check_text
from gradlint.findings import Confidence

# hypothesmith compiles its candidates, and some draw the compiler's style warnings.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

# Generated programs rarely mention torch; a prefix makes every one of them go through the whole analysis.
PREFIX = "import torch\nimport numpy as np\n"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@FUZZ
@given(hypothesmith.from_grammar())
def test_any_program_from_the_grammar_is_analysed_without_error(source):
    result = analyse((PREFIX + source).encode(), "generated.py", "generated")
    assert result.error is None or result.error.code == "GL000"


@FUZZ
@given(hypothesmith.from_node())
def test_any_program_from_libcst_nodes_is_analysed_without_error(source):
    result = analyse((PREFIX + source).encode(), "generated.py", "generated")
    assert result.error is None or result.error.code == "GL000"


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_arbitrary_text_gives_findings_or_gl000_but_never_raises(text):
    result = check_text((PREFIX + text).encode(), "text.py", CheckOptions(confidence=Confidence.LOW))
    for finding in result.findings:
        assert finding.location.line >= 1 and finding.location.column >= 1


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(data):
    result = check_text(data, "bytes.py", CheckOptions(confidence=Confidence.LOW))
    assert all(finding.code.startswith("GL") for finding in result.findings)


def test_invalid_source_is_reported_as_gl000():
    result = check_text(b"import torch\ndef f(:\n", "broken.py", CheckOptions())
    assert [(f.code, f.location.line) for f in result.findings] == [("GL000", 2)]
