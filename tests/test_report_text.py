from __future__ import annotations

from dataclasses import replace

from test_report_common import DETACH, ITEM, SAMPLES, SPANNING

from gradlint.report import ReportContext
from gradlint.report.text import render


def test_one_line_per_finding_and_a_summary() -> None:
    assert render(SAMPLES, ReportContext(files_checked=7)) == (
        "src/broken.py:1:1: GL000 cannot parse the file: invalid syntax [high]\n"
        "src/sim/crystal.py:12:10: GL002 `.item()` turns `cell_a` into a Python number [high]\n"
        "src/sim/crystal.py:30:5: GL005 50% of w, detached: no gradient reaches it [medium]\n"
        "src/sim/other.py:3:11: GL002 `.item()` inside `torch.tensor` [low]\n"
        "Found 4 findings (GL002: 2, GL000: 1, GL005: 1) in 7 files.\n"
    )


def test_no_findings() -> None:
    assert render([], ReportContext(files_checked=1)) == "No findings in 1 file.\n"
    assert render([], ReportContext(files_checked=0, statistics=True)) == "No findings in 0 files.\n"


def test_show_source_adds_caret_chain_and_fix() -> None:
    assert render([ITEM], ReportContext(files_checked=1, show_source=True)) == (
        "src/sim/crystal.py:12:10: GL002 `.item()` turns `cell_a` into a Python number [high]\n"
        "   |\n"
        "12 | \ty = 2 * cell_a.item()\n"
        "   | \t        ^^^^^^^^^^^^^\n"
        "   = chain: cell_a ← self.cell_a (src/sim/model.py:41) ← config.cell_a (line 7) ← params\n"
        "   = fix: keep `cell_a` a tensor\n"
        "Found 1 finding (GL002: 1) in 1 file.\n"
    )


def test_caret_of_a_multi_line_finding_runs_to_the_end_of_its_first_line() -> None:
    lines = render([SPANNING], ReportContext(show_source=True)).splitlines()
    assert lines[1:4] == [
        "  |",
        "3 |     out = torch.tensor([",
        "  |           ^^^^^^^^^^^^^^",
    ]


def test_finding_without_source_shows_no_source_block() -> None:
    text = render([replace(DETACH, source_line="")], ReportContext(show_source=True))
    assert text.splitlines()[1] == "Found 1 finding (GL005: 1) in 0 files."


def test_statistics_table() -> None:
    text = render(SAMPLES, ReportContext(files_checked=7, statistics=True))
    assert text.splitlines()[-6:] == [
        "Found 4 findings (GL002: 2, GL000: 1, GL005: 1) in 7 files.",
        "",
        "code   rule             count",
        "GL002  item-on-path         2",
        "GL000  unparsable-file      1",
        "GL005  detach-on-path       1",
    ]


def test_colour_only_when_asked() -> None:
    plain = render([ITEM], ReportContext())
    coloured = render([ITEM], ReportContext(color=True))
    assert "\x1b[" not in plain
    assert coloured.splitlines()[0] == (
        "\x1b[1msrc/sim/crystal.py:12:10:\x1b[0m \x1b[31m\x1b[1mGL002\x1b[0m "
        "`.item()` turns `cell_a` into a Python number \x1b[2m[high]\x1b[0m"
    )
