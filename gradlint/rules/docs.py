"""Rule pages, written from the rules themselves: `gradlint explain` prints one, `docs/rules.md` holds all.

Regenerate the committed catalogue with ``python -m gradlint.rules.docs docs/rules.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Type

from gradlint.rules import CATALOGUE, family_of
from gradlint.rules.base import Rule

_INTRODUCTION = """\
# Rules

Every rule reports an operation that cuts or zeroes gradients, and only where it sits on a differentiable
path: the analysis follows values from their gradient sources (parameters, `requires_grad=True`, tensor-annotated
arguments and fields) through assignments, calls, attributes and returns, and follows each cut value to where it
is used. A cut value that only feeds logging, printing, formatting, assertions, branch conditions, shapes or
indices is reported at low confidence, which is hidden by default (`--confidence low` shows it).

Confidence: **high**, the cut value certainly carries a gradient (it comes from `requires_grad=True`, an
`nn.Parameter` or a module with parameters) and goes on into computation; **medium**, it likely does (it comes
from a tensor-annotated argument or field), or it escapes to code gradlint cannot see; **low**, gradlint cannot
tell, or the value is only looked at.

gradlint changes no file unless asked to: `--add-noqa` adds suppression comments, and `--fix` applies the fixes
that some rules offer to repair the cut mechanically. `gradlint --fix` applies the safe ones (which change
nothing but the gradient), `--fix --unsafe-fixes` the unsafe ones too (which may also change values in their
last bits, shapes or types in cases gradlint cannot rule out), and `--diff` shows them without writing. A
rule's **Fix safety** section says which, and when. Findings at low confidence are never fixed.
"""
NO_FIX = (
    "No automatic fix: how to keep the gradient depends on what the code means. The fix that each "
    "finding suggests is a starting point."
)


def render_rule_page(rule: Type[Rule]) -> str:
    """One rule's page in markdown, in the order What it does / Why / Example / Use instead / When it is fine.

    The example is the rule's first invalid example and "Use instead" that example's fixed version.
    """
    sections = rule.sections()
    parts = [f"## {rule.code} `{rule.name}`", "", rule.summary(), "", f"Family: `{family_of(rule)}`.", ""]
    for title in ("What it does", "Why it cuts gradients"):
        parts += [f"### {title}", "", sections.get(title, ""), ""]
    if rule.INVALID:
        example = rule.INVALID[0]
        parts += ["### Example", "", "```python", example.code.rstrip(), "```", ""]
        parts += ["### Use instead", "", "```python", example.fixed.rstrip(), "```", ""]
    parts += ["### When it is fine", "", sections.get("When it is fine", ""), ""]
    parts += ["### Fix safety", "", _fix_safety(rule), ""]
    return "\n".join(parts)


def _fix_safety(rule: Type[Rule]) -> str:
    if rule.autofix is None:
        return NO_FIX
    summary, safety = rule.autofix.documentation()
    return f"The fix rewrites {summary[0].lower()}{summary[1:]}\n\n{safety}"


def render_catalogue() -> str:
    index = ["| Code | Name | Summary | Fix |", "| --- | --- | --- | --- |"]
    index += [
        f"| {rule.code} | `{rule.name}` | {rule.summary()} | {'yes' if rule.autofix else ''} |" for rule in CATALOGUE
    ]
    pages = [render_rule_page(rule) for rule in CATALOGUE]
    return "\n".join([_INTRODUCTION, *index, "", *pages]).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    text = render_catalogue()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
