"""Sample findings shared by the reporter tests, and tests of the helpers every reporter uses."""

from __future__ import annotations

import pytest

from gradlint.findings import Confidence, Finding, Location, Step
from gradlint.report import FORMATS, ReportContext, RuleCount, chain_text, counts_by_rule, ranked, render, severity

ITEM = Finding(
    code="GL002",
    rule="item-on-path",
    message="`.item()` turns `cell_a` into a Python number",
    location=Location("src/sim/crystal.py", 12, 10, 12, 23),
    confidence=Confidence.HIGH,
    chain=(
        Step("cell_a", "src/sim/crystal.py", 12),
        Step("self.cell_a", "src/sim/model.py", 41),
        Step("config.cell_a", "src/sim/crystal.py", 7),
        Step("params", "", 0),
    ),
    fix="keep `cell_a` a tensor",
    source_line="\ty = 2 * cell_a.item()\n",
)
DETACH = Finding(
    code="GL005",
    rule="detach-on-path",
    message="50% of w, detached: no gradient\nreaches it",
    location=Location("src/sim/crystal.py", 30, 5, 30, 17),
    confidence=Confidence.MEDIUM,
    source_line="    w = w.detach()",
)
SPANNING = Finding(
    code="GL002",
    rule="item-on-path",
    message="`.item()` inside `torch.tensor`",
    location=Location("src/sim/other.py", 3, 11, 5, 6),
    confidence=Confidence.LOW,
    source_line="    out = torch.tensor([",
)
BROKEN = Finding(
    code="GL000",
    rule="unparsable-file",
    message="cannot parse the file: invalid syntax",
    location=Location("src/broken.py", 1, 1, 1, 2),
    confidence=Confidence.HIGH,
)
SAMPLES = [BROKEN, ITEM, DETACH, SPANNING]  # sorted by path, line, column, code


def test_chain_shows_places_that_differ_from_the_finding() -> None:
    assert chain_text(ITEM) == "cell_a ← self.cell_a (src/sim/model.py:41) ← config.cell_a (line 7) ← params"
    assert chain_text(DETACH) == ""


def test_ranked_puts_confidence_first_then_code() -> None:
    assert ranked(SAMPLES) == [BROKEN, ITEM, DETACH, SPANNING]
    assert ranked([SPANNING, DETACH, ITEM]) == [ITEM, DETACH, SPANNING]


def test_counts_by_rule_most_frequent_first() -> None:
    assert counts_by_rule(SAMPLES) == [
        RuleCount("GL002", "item-on-path", 2),
        RuleCount("GL000", "unparsable-file", 1),
        RuleCount("GL005", "detach-on-path", 1),
    ]


def test_severity() -> None:
    assert [severity(finding) for finding in SAMPLES] == ["error", "warning", "warning", "warning"]
    unused = Finding("GL900", "unused-suppression", "m", Location("a.py", 1, 1, 1, 2), Confidence.HIGH)
    assert severity(unused) == "note"


def test_render_dispatches_by_name() -> None:
    assert FORMATS == ("text", "json", "github", "sarif")
    assert render("text", [], ReportContext(files_checked=2)) == "No findings in 2 files.\n"
    with pytest.raises(ValueError, match="unknown report format 'xml'"):
        render("xml", [], ReportContext())


def test_a_site_only_the_trace_saw_shows_the_line_python_numbers(tmp_path) -> None:
    from gradlint.rank import Suspect
    from gradlint.report.suspects import as_findings

    (tmp_path / "sim.py").write_text("import torch\n# a section\x0c break\x1c and \u2028 more\nw = x.detach()\n")
    suspect = Suspect("sim.py", 3, "run", 1, (), (), ("w",), ("w",), True, True)
    (finding,) = as_findings([suspect], tmp_path)
    assert (finding.source_line, finding.location.column, finding.location.end_column) == ("w = x.detach()", 1, 15)
