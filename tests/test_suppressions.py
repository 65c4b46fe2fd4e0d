from __future__ import annotations

import pickle
from textwrap import dedent

from gradlint.findings import Confidence, Finding, Location
from gradlint.suppressions import Directives, Suppression, apply, parse


def finding(line: int, code: str = "GL002", end_line: int | None = None) -> Finding:
    return Finding(
        code=code,
        rule="rule-name",
        message="cut",
        location=Location("pkg/mod.py", line, 5, end_line or line, 9),
        confidence=Confidence.MEDIUM,
    )


def source(text: str) -> str:
    return dedent(text).lstrip("\n")


def test_trailing_gradlint_ignore_with_codes_and_reason() -> None:
    text = "y = w.item()  # gradlint: ignore[GL002, gl005] -- logged only\n"
    assert parse(text).suppressions == (
        Suppression(
            line=1,
            column=15,
            end_column=62,
            target_line=1,
            codes=("GL002", "GL005"),
            style="gradlint",
            reason="logged only",
            source_line="y = w.item()  # gradlint: ignore[GL002, gl005] -- logged only",
        ),
    )


def test_comment_only_line_applies_to_the_next_code_line() -> None:
    text = source(
        """
        # gradlint: ignore[GL002]
        # an ordinary comment
        y = w.item()
        """
    )
    (suppression,) = parse(text).suppressions
    assert (suppression.line, suppression.target_line, suppression.codes) == (1, 3, ("GL002",))


def test_bare_gradlint_ignore_covers_every_code() -> None:
    (suppression,) = parse("y = w.item()  # gradlint: ignore -- why\n").suppressions
    assert (suppression.codes, suppression.style, suppression.reason) == ((), "gradlint", "why")


def test_noqa_forms() -> None:
    text = source(
        """
        a = 1  # noqa
        b = 2  # noqa: E501, GL002,GL003
        c = 3  # noqa: E501
        d = 4  # NOQA:GL007
        """
    )
    found = [(s.line, s.codes, s.style) for s in parse(text).suppressions]
    assert found == [(1, (), "noqa"), (2, ("GL002", "GL003"), "noqa"), (4, ("GL007",), "noqa")]


def test_two_directives_in_one_comment() -> None:
    text = "y = w.item()  # noqa: E501  # gradlint: ignore[GL002]\n"
    assert [(s.style, s.codes, s.column) for s in parse(text).suppressions] == [("gradlint", ("GL002",), 29)]


def test_hash_inside_a_string_is_not_a_comment() -> None:
    text = 'label = "# gradlint: ignore[GL002]"\nother = "# noqa"  # real comment\n'
    assert parse(text).suppressions == ()


def test_skip_file_on_its_own_line_anywhere() -> None:
    assert parse("# gradlint: skip-file\nx = 1\n").skip_file
    assert parse("def f():\n    # gradlint: skip-file -- generated\n    return 1\n").skip_file
    assert parse("x = 1\n# gradlint: skip-file\n").skip_file
    assert not parse("x = 1  # gradlint: skip-file\n").skip_file
    assert not parse('x = "# gradlint: skip-file"\n').skip_file


def test_untokenizable_file_falls_back_to_line_scanning() -> None:
    text = 'y = w.item()  # noqa: GL002\nz = """never closed\n# gradlint: ignore[GL005]\n'
    found = [(s.line, s.codes) for s in parse(text).suppressions]
    assert found == [(1, ("GL002",)), (3, ("GL005",))]


def test_bad_indentation_falls_back_too() -> None:
    text = "if x:\n        a = 1\n    b = t.item()  # gradlint: ignore[GL002]\n"
    assert [(s.line, s.target_line) for s in parse(text).suppressions] == [(3, 3)]


def test_directives_are_picklable_plain_data() -> None:
    directives = parse("y = w.item()  # gradlint: ignore[GL002]\n# gradlint: skip-file\n")
    assert pickle.loads(pickle.dumps(directives)) == directives


def test_apply_drops_matching_findings_and_keeps_others_sorted() -> None:
    text = source(
        """
        a = w.item()  # gradlint: ignore[GL002]
        b = w.item()  # gradlint: ignore[GL005]
        c = w.item()  # noqa
        d = w.item()
        """
    )
    kept = apply([finding(4), finding(2), finding(1), finding(3), finding(1, "GL005")], parse(text))
    assert [(f.location.line, f.code) for f in kept] == [(1, "GL005"), (2, "GL002"), (4, "GL002")]


def test_multi_line_finding_is_silenced_on_its_first_line_only() -> None:
    text = "y = torch.tensor(  # gradlint: ignore[GL002]\n    [w.item()])\n"
    assert apply([finding(1, end_line=2)], parse(text)) == []
    text = "y = torch.tensor(\n    [w.item()])  # gradlint: ignore[GL002]\n"
    assert len(apply([finding(1, end_line=2)], parse(text))) == 1


def test_skip_file_drops_everything() -> None:
    assert apply([finding(2)], parse("# gradlint: skip-file\ny = w.item()\n"), report_unused=True) == []


def test_unused_suppressions_are_reported_when_asked() -> None:
    text = source(
        """
        a = w.item()  # gradlint: ignore[GL002, GL005] -- only one applies
        b = 1  # gradlint: ignore
        c = 2  # noqa
        d = 3  # noqa: E501, GL007
        """
    )
    directives = parse(text)
    assert len(apply([finding(1)], directives)) == 0
    unused = apply([finding(1)], directives, report_unused=True, path="pkg/mod.py")
    assert [(f.code, f.rule, f.location.line, f.location.column, f.message, f.confidence) for f in unused] == [
        (
            "GL900",
            "unused-suppression",
            1,
            15,
            "unused suppression of GL005: no such finding on line 1",
            Confidence.HIGH,
        ),
        ("GL900", "unused-suppression", 2, 8, "unused suppression: nothing to silence on line 2", Confidence.HIGH),
        (
            "GL900",
            "unused-suppression",
            4,
            8,
            "unused suppression of GL007: no such finding on line 4",
            Confidence.HIGH,
        ),
    ]
    first = unused[0]
    assert (first.location.path, first.location.end_column) == ("pkg/mod.py", 67)
    assert first.fix == "remove GL005 from the comment"
    assert first.source_line == "a = w.item()  # gradlint: ignore[GL002, GL005] -- only one applies"


def test_codes_of_rules_that_did_not_run_are_not_called_unused() -> None:
    directives = parse("a = 1  # gradlint: ignore[GL002, GL005]\n")
    unused = apply([], directives, report_unused=True, path="m.py", is_enabled=lambda code: code != "GL005")
    assert [f.message for f in unused] == ["unused suppression of GL002: no such finding on line 1"]


def test_empty_directives() -> None:
    assert parse("") == Directives()
    assert apply([finding(1)], Directives(), report_unused=True) == [finding(1)]
