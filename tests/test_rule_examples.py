"""One test per embedded rule example: INVALID examples report at their exact position, their fixed versions and
the VALID examples do not."""

from __future__ import annotations

import pytest

from gradlint.engine import CheckOptions, check_text
from gradlint.findings import Confidence
from gradlint.rules import ALL_RULES, CATALOGUE

EVERYTHING = CheckOptions(confidence=Confidence.LOW, report_unused_ignores=True)


def _examples(kind: str):
    for rule in CATALOGUE:
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, example, id=f"{rule.code}-{kind.lower()}-{index}")


def _findings_of(rule, code: str):
    return [finding for finding in _findings(code) if finding.code == rule.code]


def _findings(code: str):
    return check_text(code.encode(), "example.py", EVERYTHING).findings


@pytest.mark.parametrize(("rule", "example"), list(_examples("INVALID")))
def test_invalid_example_is_reported_at_its_position(rule, example):
    findings = _findings_of(rule, example.code)
    positions = {(f.location.line, f.location.column): f for f in findings}
    assert (example.line, example.column) in positions, (
        f"{rule.code} expected at {example.line}:{example.column}, got {sorted(positions)}"
    )
    finding = positions[(example.line, example.column)]
    assert finding.confidence >= example.confidence
    assert finding.rule == rule.name
    assert finding.source_line == example.code.splitlines()[example.line - 1]


@pytest.mark.parametrize(("rule", "example"), list(_examples("VALID")))
def test_valid_example_is_not_reported(rule, example):
    reported = [f for f in _findings_of(rule, example.code) if f.confidence >= Confidence.MEDIUM]
    assert reported == []


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda rule: rule.code)
def test_fixed_example_is_clean_and_a_fix_of_the_example(rule):
    """The rule page's "Use instead": nothing reported at the default confidence, by any rule, and it is the
    example itself with the reported line changed: the same functions and classes."""
    example = rule.INVALID[0]
    assert [f for f in _findings(example.fixed) if f.confidence >= Confidence.MEDIUM] == []
    fixed_lines = example.fixed.splitlines()
    assert example.fixed != example.code
    assert rule.fixed_elsewhere or example.code.splitlines()[example.line - 1] not in fixed_lines
    definitions = [line for line in example.code.splitlines() if line.lstrip().startswith(("def ", "class "))]
    assert definitions and all(line in fixed_lines for line in definitions)


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda rule: rule.code)
def test_every_rule_documents_itself(rule):
    assert rule.code.startswith("GL") and len(rule.code) == 5 and rule.code[2:].isdigit()
    assert set(rule.sections()) == {"What it does", "Why it cuts gradients", "When it is fine"}
    assert rule.INVALID and rule.INVALID[0].fixed


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_every_analysis_rule_names_its_tokens(rule):
    assert rule.tokens


def test_codes_and_names_are_unique():
    assert len({rule.code for rule in CATALOGUE}) == len(CATALOGUE)
    assert len({rule.name for rule in CATALOGUE}) == len(CATALOGUE)
