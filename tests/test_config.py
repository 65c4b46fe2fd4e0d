from __future__ import annotations

from pathlib import Path

import pytest

from gradlint import config
from gradlint.config import ConfigError, Overrides, find_config_file, load_settings, split_codes
from gradlint.engine import Bounds, CheckOptions
from gradlint.findings import Confidence

CODES = frozenset({"GL000", "GL001", "GL002", "GL010", "GL011", "GL900"})


@pytest.fixture(autouse=True)
def fixed_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Code validation is tested against a fixed catalogue, independent of the rules that exist."""
    monkeypatch.setattr(config, "known_codes", lambda: CODES)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def error_of(overrides: Overrides, cwd: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(overrides, cwd)
    return str(caught.value)


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(Overrides(), tmp_path)
    assert settings.config_file is None
    assert settings.paths == (Path("."),)
    assert settings.options == CheckOptions(root=tmp_path, cache_dir=tmp_path / ".gradlint_cache")


def test_every_key_of_the_table(tmp_path: Path) -> None:
    write(tmp_path / "src/a.py", "")
    write(
        tmp_path / "pyproject.toml",
        """
[tool.gradlint]
paths = ["src"]
exclude = ["gen"]
extend-exclude = ["tests/fixtures"]
select = ["GL0"]
ignore = ["gl011"]
per-file-ignores = { "tests/*" = ["GL002"], "docs/*.py" = ["GL01"] }
confidence = "high"
jobs = 3
cache-dir = ".cache/gl"
max-file-size = 1_000
max-nodes = 2_000
max-nesting = 30
max-work = 4
max-memory = 500
timeout = 2.5
""",
    )
    settings = load_settings(Overrides(), tmp_path)
    assert settings.config_file == tmp_path / "pyproject.toml"
    assert settings.paths == (tmp_path / "src",)
    assert settings.options == CheckOptions(
        root=tmp_path,
        select=frozenset({"GL0"}),
        ignore=frozenset({"GL011"}),
        per_file_ignores=(("tests/*", frozenset({"GL002"})), ("docs/*.py", frozenset({"GL01"}))),
        confidence=Confidence.HIGH,
        exclude=("gen",),
        extend_exclude=("tests/fixtures",),
        jobs=3,
        cache_dir=tmp_path / ".cache/gl",
        bounds=Bounds(max_file_size=1000, max_nodes=2000, max_nesting=30, max_work=4, max_memory=500, timeout=2.5),
    )


def test_command_line_overrides_the_file(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.gradlint]\nselect = ["GL001"]\nignore = ["GL002"]\nconfidence = "high"\njobs = 3\n',
    )
    write(tmp_path / "lib/x.py", "")
    overrides = Overrides(
        paths=("lib",),
        select=("GL010",),
        ignore=(),
        confidence="low",
        jobs=1,
        cache_dir=Path("elsewhere"),
        report_unused_ignores=True,
    )
    settings = load_settings(overrides, tmp_path)
    assert settings.paths == (Path("lib"),)
    options = settings.options
    assert (options.select, options.ignore, options.confidence, options.jobs) == (
        frozenset({"GL010", "GL900"}),  # --report-unused-ignores selects GL900
        frozenset(),
        Confidence.LOW,
        1,
    )
    assert options.cache_dir == tmp_path / "elsewhere"
    assert options.report_unused_ignores is True


def test_no_cache(tmp_path: Path) -> None:
    assert load_settings(Overrides(no_cache=True), tmp_path).options.cache_dir is None


def test_file_is_found_walking_up_from_the_first_path(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\nconfidence = "low"\n')
    write(tmp_path / "pkg/pyproject.toml", "[project]\nname = 'no-table-here'\n")
    write(tmp_path / "pkg/deep/mod.py", "")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    settings = load_settings(Overrides(paths=(str(tmp_path / "pkg/deep/mod.py"),)), elsewhere)
    assert settings.config_file == tmp_path / "pyproject.toml"
    assert settings.options.root == tmp_path
    assert settings.options.confidence is Confidence.LOW


def test_search_stops_at_a_git_root(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\nconfidence = "low"\n')
    (tmp_path / "repo/.git").mkdir(parents=True)
    write(tmp_path / "repo/src/a.py", "")
    assert find_config_file(tmp_path / "repo/src/a.py") is None
    assert find_config_file(tmp_path / "repo") is None
    found = find_config_file(tmp_path)
    assert found is not None and found[0] == tmp_path / "pyproject.toml"


def test_search_for_stdin_starts_at_the_stdin_filename(tmp_path: Path) -> None:
    write(tmp_path / "proj/pyproject.toml", '[tool.gradlint]\nconfidence = "high"\n')
    settings = load_settings(Overrides(paths=("-",), stdin_filename="proj/pkg/mod.py"), tmp_path)
    assert settings.config_file == tmp_path / "proj/pyproject.toml"
    assert settings.paths == ()


def test_explicit_config_file(tmp_path: Path) -> None:
    write(tmp_path / "conf/gradlint.toml", "[tool.gradlint]\njobs = 2\n")
    settings = load_settings(Overrides(config_file=Path("conf/gradlint.toml")), tmp_path)
    assert settings.config_file == tmp_path / "conf/gradlint.toml"
    assert settings.options.root == tmp_path / "conf"
    assert settings.options.jobs == 2


def test_explicit_config_file_without_table(tmp_path: Path) -> None:
    write(tmp_path / "other.toml", "[tool.black]\n")
    assert (
        error_of(Overrides(config_file=Path("other.toml")), tmp_path)
        == f"{tmp_path / 'other.toml'}: no [tool.gradlint] table"
    )


def test_missing_config_file(tmp_path: Path) -> None:
    message = error_of(Overrides(config_file=Path("absent.toml")), tmp_path)
    assert message.startswith(f"{tmp_path / 'absent.toml'}: cannot read the file (")


def test_invalid_toml(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint\n")
    assert error_of(Overrides(), tmp_path).startswith(f"{tmp_path / 'pyproject.toml'}: not valid TOML (")


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nselcet = ['GL001']\n")
    assert error_of(Overrides(), tmp_path) == (
        f"{tmp_path / 'pyproject.toml'}: unknown key 'selcet' in [tool.gradlint] (known keys: cache-dir, "
        "confidence, evidence, exclude, extend-exclude, extend-ignore, extend-select, ignore, jobs, max-file-size, "
        "max-memory, max-nesting, max-nodes, max-work, paths, per-file-ignores, select, timeout)"
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('select = "GL001"', "select: expected a list of strings, got str 'GL001'"),
        ("paths = [1]", "paths: expected a list of strings, got list [1]"),
        ("jobs = true", "jobs: expected a whole number, got bool True"),
        ("jobs = -1", "jobs: expected 0 (one per core) to 256, got -1"),
        ("jobs = 100000000000", "jobs: expected 0 (one per core) to 256, got 100000000000"),
        ("max-file-size = 0", "max-file-size: expected 1 or more, got 0"),
        ("max-nodes = -5", "max-nodes: expected 1 or more, got -5"),
        ("max-work = 2.5", "max-work: expected a whole number, got float 2.5"),
        ('max-nesting = "deep"', "max-nesting: expected a whole number, got str 'deep'"),
        ("timeout = 0", "timeout: expected a positive number of seconds, got 0"),
        ("timeout = nan", "timeout: expected a positive number of seconds, got nan"),
        ("timeout = true", "timeout: expected a number of seconds, got bool True"),
        ('confidence = "certain"', "confidence: unknown confidence 'certain': expected low, medium or high"),
        ("cache-dir = 3", "cache-dir: expected a string, got int 3"),
        ('per-file-ignores = ["x"]', "per-file-ignores: expected a table of glob = [codes], got list ['x']"),
        (
            'per-file-ignores = { "t/*" = "GL001" }',
            "per-file-ignores: 't/*': expected a list of strings, got str 'GL001'",
        ),
    ],
)
def test_wrong_types_name_the_key(tmp_path: Path, line: str, problem: str) -> None:
    write(tmp_path / "pyproject.toml", f"[tool.gradlint]\n{line}\n")
    assert error_of(Overrides(), tmp_path) == f"{tmp_path / 'pyproject.toml'}: [tool.gradlint] {problem}"


def test_table_that_is_not_a_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool]\ngradlint = 3\n")
    assert error_of(Overrides(), tmp_path) == f"{tmp_path / 'pyproject.toml'}: [tool.gradlint] must be a table"


def test_unknown_codes(tmp_path: Path) -> None:
    assert error_of(Overrides(select=("GL001", "GL999")), tmp_path) == "unknown rule code 'GL999' in --select"
    assert error_of(Overrides(ignore=("E501",)), tmp_path) == "unknown rule code 'E501' in --ignore"
    assert error_of(Overrides(select=("GL05",)), tmp_path) == "unknown rule code 'GL05' in --select"
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\nper-file-ignores = { "t/*" = ["GL3"] }\n')
    assert (
        error_of(Overrides(), tmp_path)
        == f"unknown rule code 'GL3' in per-file-ignores 't/*' in {tmp_path / 'pyproject.toml'}"
    )
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\nignore = ["GL0000"]\n')
    assert error_of(Overrides(), tmp_path) == f"unknown rule code 'GL0000' in ignore in {tmp_path / 'pyproject.toml'}"


def test_prefixes_and_lower_case_are_accepted(tmp_path: Path) -> None:
    options = load_settings(Overrides(select=("gl01", "GL", "GL900")), tmp_path).options
    assert options.select == frozenset({"GL01", "GL", "GL900"})


def test_missing_paths(tmp_path: Path) -> None:
    assert error_of(Overrides(paths=("nope.py",)), tmp_path) == "path does not exist: nope.py"
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\npaths = ["src"]\n')
    assert error_of(Overrides(), tmp_path) == (
        f"path does not exist: {tmp_path / 'src'} (configured in {tmp_path / 'pyproject.toml'})"
    )


def test_stdin_usage_errors(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "")
    assert (
        error_of(Overrides(paths=("-", "a.py")), tmp_path) == "'-' (standard input) cannot be combined with other paths"
    )
    assert (
        error_of(Overrides(paths=("a.py",), stdin_filename="x.py"), tmp_path)
        == "--stdin-filename needs '-' among the paths"
    )


def test_split_codes() -> None:
    assert split_codes(("GL001, GL002", "GL01", " ,")) == ("GL001", "GL002", "GL01")


@pytest.mark.parametrize(
    ("table", "overrides", "select", "ignore", "report_unused"),
    [
        # extend-select and extend-ignore add to select and ignore, from the file and the command line alike
        (
            'select = ["GL01"]\nextend-select = ["GL001"]',
            Overrides(extend_select=("GL011",)),
            {"GL01", "GL001", "GL011"},
            set(),
            False,
        ),
        (
            'ignore = ["GL01"]\nextend-ignore = ["GL011"]',
            Overrides(extend_ignore=("GL002",)),
            None,
            {"GL01", "GL011", "GL002"},
            False,
        ),
        # --select replaces the file's select, but the file's extend-select still adds to it
        ('select = ["GL01"]\nextend-select = ["GL001"]', Overrides(select=("GL00",)), {"GL00", "GL001"}, set(), False),
        # --ignore replaces the file's ignore; extend-ignore still applies
        ('ignore = ["GL01"]\nextend-ignore = ["GL011"]', Overrides(ignore=()), None, {"GL011"}, False),
        # extend-select without a select: every code is selected already
        ('extend-select = ["GL001"]', Overrides(), None, set(), False),
        # ALL is every code, unused suppressions included
        ("", Overrides(select=("ALL",)), {"GL"}, set(), True),
        ("", Overrides(select=("all",), ignore=("GL9",)), {"GL"}, {"GL9"}, False),
        ('ignore = ["ALL"]', Overrides(), None, {"GL"}, False),
        # GL900 is reported when selected by name, or with --report-unused-ignores, unless ignored
        ('extend-select = ["GL900"]', Overrides(), None, set(), True),
        ('select = ["GL010"]', Overrides(report_unused_ignores=True), {"GL010", "GL900"}, set(), True),
        ("", Overrides(report_unused_ignores=True, extend_ignore=("GL900",)), None, {"GL900"}, False),
    ],
)
def test_selection(
    tmp_path: Path, table: str, overrides: Overrides, select: set[str] | None, ignore: set[str], report_unused: bool
) -> None:
    write(tmp_path / "pyproject.toml", f"[tool.gradlint]\n{table}\n")
    options = load_settings(overrides, tmp_path).options
    assert options.select == (None if select is None else frozenset(select))
    assert (options.ignore, options.report_unused_ignores) == (frozenset(ignore), report_unused)


def test_unknown_code_in_extend_keys_names_where(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\nextend-ignore = ["GL999"]\n')
    assert error_of(Overrides(), tmp_path) == (
        f"unknown rule code 'GL999' in extend-ignore in {tmp_path / 'pyproject.toml'}"
    )
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\n")
    assert error_of(Overrides(extend_select=("XYZ",)), tmp_path) == "unknown rule code 'XYZ' in --extend-select"


def test_a_selection_of_nothing_is_an_error_not_silence(tmp_path: Path) -> None:
    nothing = (
        "names no rule, which would report nothing: name codes or prefixes (GL010, GL01, ALL), or leave it out "
        "to report every rule"
    )
    assert error_of(Overrides(select=()), tmp_path) == f"--select {nothing}"
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nselect = []\n")
    assert error_of(Overrides(), tmp_path) == f"select in {tmp_path / 'pyproject.toml'} {nothing}"
    # Selecting nothing and then something is explicit: only that something.
    assert load_settings(Overrides(select=(), extend_select=("GL010",)), tmp_path).options.select == {"GL010"}
