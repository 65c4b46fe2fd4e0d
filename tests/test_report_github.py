from __future__ import annotations

from test_report_common import BROKEN, DETACH, ITEM, SAMPLES, SPANNING

from gradlint.findings import Confidence, Finding, Location
from gradlint.report import ReportContext
from gradlint.report.github import annotation, render, step_summary


def test_annotations_most_important_first() -> None:
    assert render(SAMPLES, ReportContext()).splitlines() == [
        (
            "::error file=src/broken.py,line=1,col=1,endLine=1,endColumn=1,title=GL000 unparsable-file"
            "::cannot parse the file: invalid syntax [high]"
        ),
        (
            "::warning file=src/sim/crystal.py,line=12,col=10,endLine=12,endColumn=22,title=GL002 item-on-path"
            "::`.item()` turns `cell_a` into a Python number [high]"
            "%0Achain: cell_a ← self.cell_a (src/sim/model.py:41) ← config.cell_a (line 7) ← params"
            "%0Afix: keep `cell_a` a tensor"
        ),
        (
            "::warning file=src/sim/crystal.py,line=30,col=5,endLine=30,endColumn=16,title=GL005 detach-on-path"
            "::50%25 of w, detached: no gradient%0Areaches it [medium]"
        ),
        (
            "::warning file=src/sim/other.py,line=3,endLine=5,title=GL002 item-on-path"
            "::`.item()` inside `torch.tensor` [low]"
        ),
    ]


def test_low_confidence_findings_come_after_any_higher_ones() -> None:
    order = [
        line.split(",title=")[1].split("::")[0]
        for line in render([SPANNING, DETACH, ITEM], ReportContext()).splitlines()
    ]
    assert order == ["GL002 item-on-path", "GL005 detach-on-path", "GL002 item-on-path"]


def test_properties_escape_colon_comma_percent_and_line_breaks() -> None:
    odd = Finding("GL005", "a,b:c", "x\r\ny", Location("dir,1/a:b%.py", 2, 1, 2, 3), Confidence.LOW)
    assert annotation(odd) == (
        "::warning file=dir%2C1/a%3Ab%25.py,line=2,col=1,endLine=2,endColumn=2,title=GL005 a%2Cb%3Ac::x%0D%0Ay [low]"
    )


def test_unused_suppression_is_a_notice() -> None:
    unused = Finding("GL900", "unused-suppression", "unused", Location("a.py", 4, 8, 4, 30), Confidence.HIGH)
    assert annotation(unused).startswith("::notice file=a.py,line=4,")


def test_step_summary_lists_everything_as_a_table() -> None:
    assert step_summary([DETACH, BROKEN], ReportContext()) == (
        "### gradlint: 2 findings\n"
        "\n"
        "| Location | Code | Rule | Confidence | Message |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| `src/broken.py:1:1` | GL000 | unparsable-file | high | cannot parse the file: invalid syntax |\n"
        "| `src/sim/crystal.py:30:5` | GL005 | detach-on-path | medium | 50% of w, detached: no gradient reaches it |\n"
    )


def test_step_summary_escapes_pipes_and_handles_no_findings() -> None:
    piped = Finding("GL005", "r", "a | b", Location("a.py", 1, 1, 1, 2), Confidence.LOW)
    assert step_summary([piped], ReportContext()).splitlines()[-1] == "| `a.py:1:1` | GL005 | r | low | a \\| b |"
    assert step_summary([], ReportContext()) == "### gradlint: 0 findings\n"
