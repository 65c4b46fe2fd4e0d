"""The checker never crashes: on any valid program it returns facts or nothing, on invalid text a GL000; and it
finds the same in worker processes and from its cache as in one process."""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlint.engine import CheckOptions, analyse, check, check_text
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


# The same inputs through the worker processes (two of them) and the cache, cold and warm: the same findings as
# checking each text on its own in this process.
POOLED = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def pooled_findings_match_each_text_alone(texts: list[bytes]) -> None:
    def brief(findings, path):
        return [
            (f.code, f.location.line, f.location.column, f.message, f.confidence)
            for f in findings
            if f.location.path == path
        ]

    alone = {
        f"m{index}.py": check_text(text, f"m{index}.py", CheckOptions(confidence=Confidence.LOW)).findings
        for index, text in enumerate(texts)
    }
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, text in zip(alone, texts):
            (root / name).write_bytes(text)
        options = CheckOptions(root=root, confidence=Confidence.LOW, jobs=2, cache_dir=root / "cache")
        cold = check([root], options)
        warm = check([root], options)
    assert warm.findings == cold.findings and warm.files_from_cache == len(texts)
    for name, findings in alone.items():
        assert brief(cold.findings, name) == brief(findings, name)


@POOLED
@given(hypothesmith.from_grammar())
def test_programs_from_the_grammar_give_the_same_findings_in_workers_and_from_the_cache(source):
    pooled_findings_match_each_text_alone([(PREFIX + source).encode(), source.encode()])


@POOLED
@given(hypothesmith.from_node())
def test_programs_from_libcst_nodes_give_the_same_findings_in_workers_and_from_the_cache(source):
    pooled_findings_match_each_text_alone([(PREFIX + source).encode(), source.encode()])


@POOLED
@given(st.lists(st.binary(max_size=200), min_size=2, max_size=4))
def test_arbitrary_bytes_give_the_same_findings_in_workers_and_from_the_cache(texts):
    pooled_findings_match_each_text_alone(texts)
