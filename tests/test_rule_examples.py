"""One test per embedded rule example: INVALID examples report at their exact position, VALID ones do not."""

from __future__ import annotations

import pytest

from gradlint.engine import CheckOptions, check_text
from gradlint.findings import Confidence
from gradlint.rules import ALL_RULES

EVERYTHING = CheckOptions(confidence=Confidence.LOW)


def _examples(kind: str):
    for rule in ALL_RULES:
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, example, id=f"{rule.code}-{kind.lower()}-{index}")


def _findings_of(rule, code: str):
    return [finding for finding in check_text(code.encode(), "example.py", EVERYTHING).findings
            if finding.code == rule.code]


@pytest.mark.parametrize(("rule", "example"), list(_examples("INVALID")))
def test_invalid_example_is_reported_at_its_position(rule, example):
    findings = _findings_of(rule, example.code)
    positions = {(f.location.line, f.location.column): f for f in findings}
    assert (example.line, example.column) in positions, (
        f"{rule.code} expected at {example.line}:{example.column}, got {sorted(positions)}")
    finding = positions[(example.line, example.column)]
    assert finding.confidence >= example.confidence
    assert finding.rule == rule.name
    assert finding.source_line == example.code.splitlines()[example.line - 1]


@pytest.mark.parametrize(("rule", "example"), list(_examples("VALID")))
def test_valid_example_is_not_reported(rule, example):
    reported = [f for f in _findings_of(rule, example.code) if f.confidence >= Confidence.MEDIUM]
    assert reported == []


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_every_rule_documents_itself(rule):
    assert rule.code.startswith("GL") and len(rule.code) == 5 and rule.code[2:].isdigit()
    assert set(rule.sections()) == {"What it does", "Why it cuts gradients", "When it is fine"}
    assert rule.INVALID and rule.VALID
    assert rule.tokens


def test_codes_and_names_are_unique():
    assert len({rule.code for rule in ALL_RULES}) == len(ALL_RULES)
    assert len({rule.name for rule in ALL_RULES}) == len(ALL_RULES)
