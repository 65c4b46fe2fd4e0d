"""SARIF output, checked against what GitHub code scanning requires of an uploaded file (its "SARIF support
for code scanning" documentation) and, when jsonschema is installed, against a schema of those parts."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from test_report_common import BROKEN, DETACH, ITEM, SAMPLES

from gradlint import __version__
from gradlint.findings import Confidence
from gradlint.report import PROJECT_URL, RULES_DOC_URL, ReportContext
from gradlint.report.sarif import FINGERPRINT_KEY, SARIF_SCHEMA, heading_anchor, render
from gradlint.rules.base import Invalid, Rule, Valid
from gradlint.rules.docs import render_rule_page


class ItemOnPath(Rule):
    """`.item()` on a value that carries a gradient.

    What it does:
        Finds `.item()` calls on tensors that depend on a parameter.

    Why it cuts gradients:
        A Python number has no autograd history.

    When it is fine:
        For logging.
    """

    code = "GL002"
    name = "item-on-path"
    VALID = (Valid("x = 1\n"),)
    INVALID = (Invalid("w = torch.ones(1, requires_grad=True)\ny = w.item() * w\n", 2, 5, Confidence.HIGH),)


class DetachOnPath(Rule):
    """`.detach()` on a value that carries a gradient.

    What it does:
        Finds `.detach()` on a differentiable path.

    Why it cuts gradients:
        The result has no autograd history.

    When it is fine:
        For a deliberate stop-gradient.
    """

    code = "GL005"
    name = "detach-on-path"


CATALOGUE = (ItemOnPath, DetachOnPath)
LEVELS = {"none", "note", "warning", "error"}
PRECISIONS = {"very-high", "high", "medium", "low"}


def sarif(findings: list, rules: tuple = CATALOGUE) -> dict[str, Any]:
    return json.loads(render(findings, ReportContext(rules=rules)))


def test_log_and_tool() -> None:
    log = sarif(SAMPLES)
    assert (log["$schema"], log["version"]) == (SARIF_SCHEMA, "2.1.0")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == ("gradlint", __version__, PROJECT_URL)
    assert [rule["id"] for rule in driver["rules"]] == ["GL002", "GL005", "GL000"]
    assert run["columnKind"] == "unicodeCodePoints"


def test_every_rule_is_described() -> None:
    rules = sarif([])["runs"][0]["tool"]["driver"]["rules"]
    item = rules[0]
    page = render_rule_page(ItemOnPath)
    assert item == {
        "id": "GL002",
        "name": "item-on-path",
        "shortDescription": {"text": "`.item()` on a value that carries a gradient."},
        "fullDescription": {"text": "Finds `.item()` calls on tensors that depend on a parameter."},
        "help": {"text": page, "markdown": page},
        "helpUri": f"{RULES_DOC_URL}#{heading_anchor(page)}",
        "defaultConfiguration": {"level": "warning"},
        "properties": {
            "precision": "high",
            "tags": ["correctness", "pytorch", "autograd"],
            "problem.severity": "warning",
        },
    }
    assert rules[1]["properties"]["precision"] == "medium"  # no examples: the default


def test_one_result_in_full() -> None:
    (result,) = sarif([ITEM])["runs"][0]["results"]
    assert result == {
        "ruleId": "GL002",
        "ruleIndex": 0,
        "level": "warning",
        "message": {"text": "`.item()` turns `cell_a` into a Python number"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "src/sim/crystal.py", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 12, "startColumn": 10, "endLine": 12, "endColumn": 23},
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: result["partialFingerprints"][FINGERPRINT_KEY]},
        "rank": 90.0,
        "properties": {"confidence": "high", "precision": "high", "fix": "keep `cell_a` a tensor"},
        "relatedLocations": [
            {
                "id": position,
                "physicalLocation": {
                    "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": line},
                },
                "message": {"text": code},
            }
            for position, (code, path, line) in enumerate(
                [
                    ("cell_a", "src/sim/crystal.py", 12),
                    ("self.cell_a", "src/sim/model.py", 41),
                    ("config.cell_a", "src/sim/crystal.py", 7),
                ]
            )
        ],
    }


def test_fields_github_code_scanning_requires() -> None:
    log = sarif(SAMPLES)
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    for rule in rules:
        assert rule["id"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["properties"]["precision"] in PRECISIONS
        assert rule["defaultConfiguration"]["level"] in LEVELS
    assert len(run["results"]) == len(SAMPLES)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in LEVELS and result["message"]["text"]
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert "\\" not in uri and not uri.startswith("/")
        region = location["physicalLocation"]["region"]
        assert 1 <= region["startLine"] <= region["endLine"] and region["startColumn"] >= 1
        assert all(isinstance(value, str) and value for value in result["partialFingerprints"].values())
    assert [result["level"] for result in run["results"]] == ["error", "warning", "warning", "warning"]


def test_fingerprints_survive_line_moves_and_tell_repeats_apart() -> None:
    def fingerprint(findings: list, index: int = 0) -> str:
        return sarif(findings)["runs"][0]["results"][index]["partialFingerprints"][FINGERPRINT_KEY]

    moved = replace(ITEM, location=replace(ITEM.location, line=40, end_line=40))
    reindented = replace(ITEM, source_line="        y = 2 * cell_a.item()")
    edited = replace(ITEM, source_line="\ty = 3 * cell_a.item()")
    assert fingerprint([ITEM]) == fingerprint([moved]) == fingerprint([reindented])
    assert fingerprint([ITEM]) != fingerprint([edited])
    assert fingerprint([ITEM]) != fingerprint([replace(ITEM, code="GL005")], 0)
    assert fingerprint([ITEM, moved], 0) != fingerprint([ITEM, moved], 1)


def test_paths_become_uris() -> None:
    spaced = replace(DETACH, location=replace(DETACH.location, path="src\\my sim\\a.py"))
    absolute = replace(DETACH, location=replace(DETACH.location, path="/elsewhere/b.py"))
    results = sarif([spaced, absolute])["runs"][0]["results"]
    locations = [result["locations"][0]["physicalLocation"]["artifactLocation"] for result in results]
    assert locations == [{"uri": "src/my%20sim/a.py", "uriBaseId": "%SRCROOT%"}, {"uri": "file:///elsewhere/b.py"}]


def test_uncatalogued_codes_get_a_descriptor() -> None:
    (rule,) = sarif([BROKEN], rules=())["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "GL000" and rule["name"] == "unparsable-file"
    assert rule["defaultConfiguration"] == {"level": "error"}


def test_the_checkers_own_codes_are_described_with_their_level() -> None:
    from gradlint.rules import CATALOGUE as REAL_CATALOGUE

    rules = {rule["id"]: rule for rule in sarif([], rules=REAL_CATALOGUE)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["GL000"]["defaultConfiguration"] == {"level": "error"}
    assert rules["GL900"]["defaultConfiguration"] == {"level": "note"}
    assert rules["GL010"]["defaultConfiguration"] == {"level": "warning"}
    assert rules["GL900"]["help"]["markdown"].startswith("## GL900 `unused-suppression`")


def test_heading_anchor_follows_github() -> None:
    assert heading_anchor("# GL002: item-on-path\n\ntext") == "gl002-item-on-path"
    assert heading_anchor("intro\n## GL005 `.detach()` on a path") == "gl005-detach-on-a-path"


SCHEMA = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "rules": {"type": "array", "items": {"$ref": "#/definitions/rule"}},
                                },
                            }
                        },
                    },
                    "results": {"type": "array", "items": {"$ref": "#/definitions/result"}},
                },
            },
        },
    },
    "definitions": {
        "message": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}},
        "rule": {
            "type": "object",
            "required": ["id", "shortDescription", "fullDescription", "help"],
            "properties": {
                "id": {"type": "string"},
                "shortDescription": {"$ref": "#/definitions/message"},
                "fullDescription": {"$ref": "#/definitions/message"},
                "help": {"$ref": "#/definitions/message"},
                "properties": {"type": "object", "properties": {"precision": {"enum": sorted(PRECISIONS)}}},
            },
        },
        "result": {
            "type": "object",
            "required": ["ruleId", "message", "locations", "partialFingerprints"],
            "properties": {
                "ruleIndex": {"type": "integer", "minimum": 0},
                "level": {"enum": sorted(LEVELS)},
                "message": {"$ref": "#/definitions/message"},
                "rank": {"type": "number", "minimum": -1, "maximum": 100},
                "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
                "locations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["physicalLocation"],
                        "properties": {
                            "physicalLocation": {
                                "type": "object",
                                "required": ["artifactLocation", "region"],
                                "properties": {
                                    "artifactLocation": {"type": "object", "required": ["uri"]},
                                    "region": {
                                        "type": "object",
                                        "required": ["startLine"],
                                        "properties": {
                                            key: {"type": "integer", "minimum": 1}
                                            for key in ("startLine", "startColumn", "endLine", "endColumn")
                                        },
                                    },
                                },
                            }
                        },
                    },
                },
            },
        },
    },
}


def test_structure_against_a_schema_of_the_required_parts() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(sarif(SAMPLES), SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        broken = sarif(SAMPLES)
        del broken["runs"][0]["results"][0]["partialFingerprints"]
        jsonschema.validate(broken, SCHEMA)
