from __future__ import annotations

import json

from test_report_common import DETACH, ITEM, SAMPLES

from gradlint import __version__
from gradlint.findings import Confidence, Finding, Location
from gradlint.report import ReportContext
from gradlint.report.json import SCHEMA_VERSION, render


def test_document_layout() -> None:
    document = json.loads(render(SAMPLES, ReportContext(files_checked=7)))
    assert list(document) == ["schema_version", "gradlint_version", "files_checked", "baseline", "findings"]
    assert document["baseline"] is None
    assert (document["schema_version"], document["gradlint_version"], document["files_checked"]) == (
        SCHEMA_VERSION,
        __version__,
        7,
    )
    assert [finding["code"] for finding in document["findings"]] == ["GL000", "GL002", "GL005", "GL002"]


def test_baseline_commit_and_existing_findings() -> None:
    document = json.loads(render([ITEM], ReportContext(baseline_commit="main", existing=4)))
    assert document["baseline"] == {"commit": "main", "existing": 4}


def test_one_finding_in_full() -> None:
    (item,) = json.loads(render([ITEM], ReportContext()))["findings"]
    assert item == {
        "path": "src/sim/crystal.py",
        "line": 12,
        "column": 10,
        "end_line": 12,
        "end_column": 23,
        "cell": None,
        "code": "GL002",
        "rule": "item-on-path",
        "message": "`.item()` turns `cell_a` into a Python number",
        "confidence": "high",
        "fix": "keep `cell_a` a tensor",
        "use": None,
        "chain": [
            {"code": "cell_a", "path": "src/sim/crystal.py", "line": 12, "cell": None},
            {"code": "self.cell_a", "path": "src/sim/model.py", "line": 41, "cell": None},
            {"code": "config.cell_a", "path": "src/sim/crystal.py", "line": 7, "cell": None},
            {"code": "params", "path": None, "line": None, "cell": None},
        ],
        "autofix": None,
    }


def test_empty_fields_are_null_and_paths_use_forward_slashes() -> None:
    finding = Finding(
        "GL005", "detach-on-path", "m", Location("src\\win\\a.py", 1, 1, 1, 4), Confidence.LOW, use="escapes"
    )
    (item,) = json.loads(render([finding], ReportContext()))["findings"]
    assert (item["path"], item["fix"], item["use"], item["chain"]) == ("src/win/a.py", None, "escapes", [])


def test_text_is_kept_as_written() -> None:
    text = render([DETACH], ReportContext())
    assert '"message": "50% of w, detached: no gradient\\nreaches it"' in text
    assert render([], ReportContext()).endswith("}\n")
