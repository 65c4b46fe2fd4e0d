"""docs/rules.md is generated from the rules: it must match them."""

from __future__ import annotations

import re
from pathlib import Path

from gradlint.rules import ALL_RULES
from gradlint.rules.docs import render_catalogue, render_rule_page

DOC = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def test_committed_catalogue_is_current():
    assert DOC.read_text(encoding="utf-8") == render_catalogue(), (
        "docs/rules.md is stale: run `python -m gradlint.rules.docs docs/rules.md`"
    )


def test_rule_page_has_every_section_and_the_examples():
    rule = ALL_RULES[0]
    page = render_rule_page(rule)
    headings = [line for line in page.splitlines() if line.startswith("#")]
    assert headings == [
        f"## {rule.code} `{rule.name}`",
        "### What it does",
        "### Why it cuts gradients",
        "### Example",
        "### Use instead",
        "### When it is fine",
        "### Fix safety",
    ]
    example, fixed = page.split("### Use instead")
    assert f"```python\n{rule.INVALID[0].code.rstrip()}\n```" in example
    assert fixed.startswith(f"\n\n```python\n{rule.INVALID[0].fixed.rstrip()}\n```")


def test_every_rule_page_says_whether_and_how_its_fix_is_safe():
    for rule in ALL_RULES:
        section = render_rule_page(rule).split("### Fix safety\n\n", 1)[1]
        if rule.autofix is None:
            assert section.startswith("No automatic fix"), rule.code
        else:
            safety = rule.autofix.documentation()[1]
            assert section.startswith("The fix rewrites") and re.match(r"(Safe|Unsafe)\b", safety), rule.code
