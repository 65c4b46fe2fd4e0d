"""The engine: unreadable input becomes GL000, every other file is still checked, and results are cached."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from pathlib import Path

import pytest

from gradlint import engine
from gradlint.engine import Bounds, CheckOptions, analyse, check, check_text
from gradlint.findings import Confidence

CUT = "import torch\n\ndef f(x: torch.Tensor) -> torch.Tensor:\n    return x * x.detach()\n"


def _brief(result):
    return [(f.location.path, f.location.line, f.location.column, f.code) for f in result.findings]


# Stand-ins for ``engine.analyse`` reach the worker processes when they are forked from the test.
needs_fork = pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork",
    reason="a stand-in for the analysis reaches the workers only when they are forked",
)


def _logging_analyse(log: Path):
    """``engine.analyse``, also appending each analysed path to ``log`` (written by the worker processes)."""
    original = engine.analyse

    def analyse_and_log(data, path, module, *bounds):
        with open(log, "a") as stream:
            stream.write(path + "\n")
        return original(data, path, module, *bounds)

    return analyse_and_log


def test_syntax_error_is_gl000_at_the_parser_position_and_other_files_are_checked(tmp_path):
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    (tmp_path / "good.py").write_text(CUT)
    result = check([tmp_path], CheckOptions(root=tmp_path))
    assert _brief(result) == [("bad.py", 1, 7, "GL000"), ("good.py", 4, 16, "GL001")]
    error = result.findings[0]
    assert error.message.startswith("cannot parse the file: ")
    assert error.source_line == "def f(:"
    assert result.files_checked == 2


def test_undecodable_file_is_gl000(tmp_path):
    (tmp_path / "latin.py").write_bytes(b"name = '\xe9t\xe9'\n")
    result = check([tmp_path], CheckOptions(root=tmp_path))
    assert _brief(result) == [("latin.py", 1, 1, "GL000")]
    assert "cannot decode the file" in result.findings[0].message


def test_coding_declaration_bom_and_crlf_are_honoured(tmp_path):
    (tmp_path / "declared.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n" + CUT.encode())
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf" + CUT.encode())
    (tmp_path / "crlf.py").write_bytes(CUT.replace("\n", "\r\n").encode())
    result = check([tmp_path], CheckOptions(root=tmp_path))
    assert _brief(result) == [("bom.py", 4, 16, "GL001"), ("crlf.py", 4, 16, "GL001"), ("declared.py", 6, 16, "GL001")]


def test_empty_file_has_no_findings(tmp_path):
    (tmp_path / "empty.py").write_bytes(b"")
    result = check([tmp_path], CheckOptions(root=tmp_path))
    assert result.findings == [] and result.files_checked == 1


def test_files_without_any_relevant_word_are_not_parsed():
    assert analyse(b"SCALE = 2.0\nOFFSET = SCALE * 3\n", "plain.py", "plain").facts is None
    assert analyse(CUT.encode(), "cut.py", "cut").facts is not None


def test_files_that_declare_or_import_are_part_of_the_program():
    """A helper or a configuration class carries values between files even when it never names torch."""
    for text in (
        b"def add(a, b):\n    return a + b\n",
        b"class Settings:\n    scale = 1.0\n",
        b"from .model import forward\n",
    ):
        assert analyse(text, "plain.py", "pkg.plain").facts is not None


def test_analysis_frees_itself_without_the_cyclic_collector():
    """The engine pauses the collector while a file is analysed: no reference cycle may keep the tree alive."""
    sources = [CUT.encode(), *(path.read_bytes() for path in sorted(Path("src/braggsim").glob("*.py")))]
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # unreachable objects land in gc.garbage instead of being freed
    try:
        analysed = sum(
            analyse(data, f"file{number}.py", f"file{number}").facts is not None for number, data in enumerate(sources)
        )
        gc.collect()
        kept = {
            type(thing).__qualname__
            for thing in gc.garbage
            if type(thing).__module__.startswith(("gradlint", "libcst"))
        }
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert analysed >= 8
    assert kept == set()


def test_skip_file_directive_skips_analysis():
    result = check_text(b"# gradlint: skip-file\n" + CUT.encode(), "skipped.py", CheckOptions())
    assert result.findings == []


def test_suppression_comment_silences_the_finding_on_its_line():
    text = CUT.replace("x.detach()", "x.detach()  # gradlint: ignore[GL001] -- stop-gradient on purpose")
    assert check_text(text.encode(), "ok.py", CheckOptions()).findings == []


def test_select_ignore_and_confidence_filter_findings():
    text = CUT + "\ndef g(x: torch.Tensor) -> torch.Tensor:\n    return x * float(x)\n"
    every = check_text(text.encode(), "m.py", CheckOptions(confidence=Confidence.LOW)).findings
    assert [(f.code, f.confidence.label) for f in every] == [("GL001", "medium"), ("GL012", "medium")]
    selected = check_text(text.encode(), "m.py", CheckOptions(select=frozenset({"GL01"}))).findings
    assert [f.code for f in selected] == ["GL012"]
    ignored = check_text(text.encode(), "m.py", CheckOptions(ignore=frozenset({"GL001"}))).findings
    assert [f.code for f in ignored] == ["GL012"]
    high = check_text(text.encode(), "m.py", CheckOptions(confidence=Confidence.HIGH)).findings
    assert high == []


def test_per_file_ignores_match_globs(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_cut.py").write_text(CUT)
    (tmp_path / "cut.py").write_text(CUT)
    options = CheckOptions(root=tmp_path, per_file_ignores=(("tests/*", frozenset({"GL001"})),))
    assert _brief(check([tmp_path], options)) == [("cut.py", 4, 16, "GL001")]


@needs_fork
def test_warm_run_reuses_the_cache_and_a_changed_file_is_reanalysed(tmp_path, monkeypatch):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.py").write_text(CUT)
    (source / "b.py").write_text(CUT.replace("detach()", "item()"))
    options = CheckOptions(root=tmp_path, cache_dir=tmp_path / ".gradlint_cache")
    cold = check([source], options)
    warm = check([source], options)
    assert warm.findings == cold.findings and warm.files_from_cache == 2
    log = tmp_path / "analysed.log"
    monkeypatch.setattr(engine, "analyse", _logging_analyse(log))
    (source / "b.py").write_text(CUT.replace("detach()", "tolist()"))
    changed = check([source], options)
    assert log.read_text().split() == ["src/b.py"]
    assert [f.code for f in changed.findings] == ["GL001", "GL011"]
    assert changed.files_from_cache == 1


def test_scanning_never_writes_to_the_scanned_files(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(CUT)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    check([tmp_path], CheckOptions(root=tmp_path, cache_dir=tmp_path / "cache"))
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_many_files_go_through_the_worker_processes(tmp_path):
    for index in range(18):
        (tmp_path / f"m{index:02d}.py").write_text(CUT)
    result = check([tmp_path], CheckOptions(root=tmp_path, jobs=2))
    assert len(result.findings) == 18
    assert {f.code for f in result.findings} == {"GL001"}


def test_module_names_follow_packages(tmp_path):
    package = tmp_path / "pkg" / "sub"
    package.mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").touch()
    (package / "__init__.py").touch()
    assert engine._module_name(package / "mod.py") == "pkg.sub.mod"
    assert engine._module_name(package / "__init__.py") == "pkg.sub"
    assert engine._module_name(Path(tmp_path / "script.py")) == "script"


# ------------------------------------------------------------------------------------- one file, one GL000
def _crashing_analyse(crash_on: str):
    """``engine.analyse``, except that the process dies natively on the file named ``crash_on``."""
    original = engine.analyse

    def analyse_or_crash(data, path, module, *bounds):
        if path.endswith(crash_on):
            os.kill(os.getpid(), signal.SIGSEGV)
        return original(data, path, module, *bounds)

    return analyse_or_crash


@needs_fork
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_that_crashes_its_process_is_one_gl000_and_every_other_file_is_reported(tmp_path, monkeypatch, jobs):
    for name in ("a.py", "boom.py", "c.py", "d.py"):
        (tmp_path / name).write_text(CUT)
    monkeypatch.setattr(engine, "analyse", _crashing_analyse("boom.py"))
    result = check([tmp_path], CheckOptions(root=tmp_path, jobs=jobs))
    assert _brief(result) == [
        ("a.py", 4, 16, "GL001"),
        ("boom.py", 1, 1, "GL000"),
        ("c.py", 4, 16, "GL001"),
        ("d.py", 4, 16, "GL001"),
    ]
    assert result.findings[1].message == "not analysed: the process analysing it stopped (killed by SIGSEGV)"


@needs_fork
def test_a_crash_is_not_cached(tmp_path, monkeypatch):
    (tmp_path / "boom.py").write_text(CUT)
    options = CheckOptions(root=tmp_path, cache_dir=tmp_path / "cache")
    with monkeypatch.context() as patched:
        patched.setattr(engine, "analyse", _crashing_analyse("boom.py"))
        assert [f.code for f in check([tmp_path / "boom.py"], options).findings] == ["GL000"]
    again = check([tmp_path / "boom.py"], options)
    assert [f.code for f in again.findings] == ["GL001"] and again.files_from_cache == 0


def _nested_loops(depth: int) -> str:
    lines = ["import torch", "", "def f(x: torch.Tensor) -> torch.Tensor:"]
    lines += ["    " * (level + 1) + f"for i{level} in range(3):" for level in range(depth)]
    lines += ["    " * (depth + 1) + "x = x * 2", "    return x.detach()"]
    return "\n".join(lines) + "\n"


def test_a_file_past_the_work_bound_is_one_gl000_and_the_others_are_reported(tmp_path):
    (tmp_path / "loops.py").write_text(_nested_loops(30))  # each loop is interpreted twice: 2**30 rounds
    (tmp_path / "cut.py").write_text(CUT)
    result = check([tmp_path], CheckOptions(root=tmp_path, jobs=2))
    assert _brief(result) == [("cut.py", 4, 16, "GL001"), ("loops.py", 1, 1, "GL000")]
    assert result.findings[1].message == (
        "not analysed: interpreting it takes more than 64 steps per statement, as "
        "loops nested this deeply do (max-work)"
    )
    six_deep = check_text(_nested_loops(6).encode(), "six.py", CheckOptions(bounds=Bounds(max_work=1)))
    assert [f.code for f in six_deep.findings] == ["GL001"]  # the floor of the work bound: small files pass


def test_a_file_past_the_time_limit_is_one_gl000_and_the_others_are_reported(tmp_path):
    (tmp_path / "loops.py").write_text(_nested_loops(30))
    (tmp_path / "cut.py").write_text(CUT)
    unbounded_work = Bounds(timeout=1.0, max_work=2**40)
    result = check([tmp_path], CheckOptions(root=tmp_path, bounds=unbounded_work, jobs=2))
    assert _brief(result) == [("cut.py", 4, 16, "GL001"), ("loops.py", 1, 1, "GL000")]
    assert result.findings[1].message == "not analysed: its analysis took longer than the limit of 1 s (timeout)"


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="the memory limit needs /proc")
def test_a_file_past_the_memory_limit_is_one_gl000_and_the_others_are_reported(tmp_path):
    (tmp_path / "loops.py").write_text(_nested_loops(30))  # the interpreter's joins at the loops grow with the work
    (tmp_path / "cut.py").write_text(CUT)
    unbounded_work = Bounds(max_memory=50, max_work=2**40)
    result = check([tmp_path], CheckOptions(root=tmp_path, bounds=unbounded_work, jobs=2))
    assert _brief(result) == [("cut.py", 4, 16, "GL001"), ("loops.py", 1, 1, "GL000")]
    assert result.findings[1].message == (
        "not analysed: its analysis needed more than the limit of 50 MB of memory (max-memory)"
    )


def test_a_file_larger_than_the_limit_is_not_read(tmp_path):
    (tmp_path / "big.py").write_text(CUT + "#" * 100)
    (tmp_path / "cut.py").write_text(CUT)
    options = CheckOptions(root=tmp_path, bounds=Bounds(max_file_size=len(CUT) + 50))
    result = check([tmp_path], options)
    assert _brief(result) == [("big.py", 1, 1, "GL000"), ("cut.py", 4, 16, "GL001")]
    message = f"not analysed: the file is larger than the limit of {len(CUT) + 50} bytes (max-file-size)"
    assert result.findings[0].message == message
    assert [f.message for f in check_text((CUT + "#" * 100).encode(), "-", options).findings] == [message]


def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    (tmp_path / "cut.py").write_text(CUT)
    result = check([fifo, Path("/dev/zero"), tmp_path / "cut.py"], CheckOptions(root=tmp_path))
    assert [(f.location.path, f.code, f.message) for f in result.findings] == [
        ("/dev/zero", "GL000", "cannot read the file: it is not a regular file"),
        (
            "cut.py",
            "GL001",
            "`.detach()` cuts the gradient of `x`: nothing computed from it reaches the parameters it depends on",
        ),
        ("pipe.py", "GL000", "cannot read the file: it is not a regular file"),
    ]


# ------------------------------------------------------------------------------------- deep and long syntax
def _chain(calls: int) -> str:
    return f"import torch\n\ndef f(x: torch.Tensor):\n    y = x{'.clone()' * calls}\n    return y.item()\n"


def _sum(terms: int) -> str:
    return f"import torch\n\ndef f(x: torch.Tensor):\n    y = {' + '.join(['x'] * terms)}\n    return x * y.item()\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_chain(250), [("deep.py", 5, 12, "GL010")]),
        (_sum(500), [("deep.py", 5, 16, "GL010")]),
    ],
)
def test_valid_deep_code_is_analysed_and_keeps_its_findings(tmp_path, text, expected):
    (tmp_path / "deep.py").write_text(text)
    assert _brief(check([tmp_path], CheckOptions(root=tmp_path))) == expected


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("import torch\nx = " + "(" * 1300 + "1" + ")" * 1300 + "\n", 2, 205, "too many nested parentheses"),
        ("import torch\nx = " + "[" * 3000 + "1" + "]" * 3000 + "\n", 2, 205, "too many nested parentheses"),
        ("import torch\nx = " + "f(" * 1000 + "1" + ")" * 1000 + "\n", 2, 406, "too many nested parentheses"),
    ],
)
@pytest.mark.parametrize("jobs", [1, 2])
def test_nesting_python_refuses_is_one_gl000_and_the_other_files_are_reported(
    tmp_path, text, line, column, message, jobs
):
    (tmp_path / "deep.py").write_text(text)
    (tmp_path / "cut.py").write_text(CUT)
    result = check([tmp_path], CheckOptions(root=tmp_path, jobs=jobs))
    assert _brief(result) == [("cut.py", 4, 16, "GL001"), ("deep.py", line, column, "GL000")]
    assert result.findings[1].message == f"cannot parse the file: {message}"


def test_nesting_beyond_the_bound_is_one_gl000(tmp_path):
    (tmp_path / "sum.py").write_text(_sum(30_000))
    (tmp_path / "chain.py").write_text(_chain(250))
    result = check([tmp_path], CheckOptions(root=tmp_path, bounds=Bounds(max_nesting=400)))
    assert _brief(result) == [("chain.py", 1, 1, "GL000"), ("sum.py", 1, 1, "GL000")]
    assert result.findings[0].message == "not analysed: its syntax is nested more than 400 levels deep (max-nesting)"
    assert result.findings[1].message in (
        result.findings[0].message,
        "not analysed: its syntax is nested too deeply for the analysis",
    )


def test_more_syntax_nodes_than_the_bound_is_one_gl000(tmp_path):
    (tmp_path / "table.py").write_text("import torch\n\nTABLE = [" + "1, " * 1000 + "]\n")
    (tmp_path / "cut.py").write_text(CUT)
    result = check([tmp_path], CheckOptions(root=tmp_path, bounds=Bounds(max_nodes=1000)))
    assert _brief(result) == [("cut.py", 4, 16, "GL001"), ("table.py", 1, 1, "GL000")]
    assert result.findings[1].message == (
        "not analysed: its syntax has 1006 nodes, more than the limit of 1000 (max-nodes)"
    )


# ------------------------------------------------------------------------------------- syntax errors
@pytest.mark.parametrize("prefix", ["", "import torch\n"])
def test_a_syntax_error_is_at_the_line_python_gives(prefix):
    text = prefix + "\ndef f(:\n    pass\n"
    (finding,) = check_text(text.encode(), "bad.py", CheckOptions()).findings
    assert (finding.location.line, finding.location.column, finding.message, finding.source_line) == (
        len(prefix.splitlines()) + 2,
        7,
        "cannot parse the file: invalid syntax",
        "def f(:",
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="newer syntax is valid here")
@pytest.mark.parametrize("prefix", ["", "import torch\n"])
def test_syntax_of_a_newer_python_is_gl000_whether_or_not_the_file_mentions_torch(prefix):
    for text in ("type Vector = list[float]\n", "def first[T](items: list[T]) -> T:\n    return items[0]\n"):
        findings = check_text((prefix + text).encode(), "new.py", CheckOptions()).findings
        assert [(f.code, f.location.line) for f in findings] == [("GL000", len(prefix.splitlines()) + 1)]


# ------------------------------------------------------------------------------------- lines and positions
ODD_BREAKS = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("odd", ODD_BREAKS)
def test_characters_that_splitlines_breaks_at_do_not_shift_lines(odd):
    text = (
        f"import torch\n# a comment with {odd} in it\ns = 'a string with {odd} in it'\n\n"
        "def f(x: torch.Tensor) -> torch.Tensor:\n"
        "    # gradlint: ignore[GL010] -- the own-line suppression applies to the next line\n"
        "    return x * x.item()\n\n"
        "def g(x: torch.Tensor) -> torch.Tensor:\n    y = x * 2\n    return x * y.item()\n"
    )
    result = check_text(text.encode(), "odd.py", CheckOptions(report_unused_ignores=True))
    (finding,) = result.findings
    assert (finding.code, finding.location.line, finding.location.column) == ("GL010", 11, 16)
    assert finding.source_line == "    return x * y.item()"
    assert finding.message.startswith("`.item()` turns `y` into a Python number")
    assert [(step.code, step.line) for step in finding.chain] == [("y", 11), ("x * 2", 10), ("x", 9)]


def test_a_form_feed_before_a_statement_counts_as_a_column():
    """libcst drops such a form feed when it writes the code back: positions come from the source itself."""
    text = (
        "import torch\n\n\x0cdef g(x: torch.Tensor) -> torch.Tensor:\n    y = x * 2\n    return x * y.item()\n"
        "\x0cz = torch.ones(2, requires_grad=True).item() + torch.ones(2, requires_grad=True)\n"
    )
    findings = check_text(text.encode(), "ff.py", CheckOptions(confidence=Confidence.LOW)).findings
    assert [(f.location.line, f.location.column, f.location.end_column) for f in findings] == [(5, 16, 24), (6, 6, 46)]
    assert [(step.code, step.line) for step in findings[0].chain] == [("y", 5), ("x * 2", 4), ("x", 3)]
    assert findings[1].message.startswith("`.item()` turns `torch.ones(2, requires_grad=True)` into")
