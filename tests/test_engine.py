"""The engine: unreadable input becomes GL000, every other file is still checked, and results are cached."""

from __future__ import annotations

import gc
from pathlib import Path

from gradlint import engine
from gradlint.engine import CheckOptions, analyse, check, check_text
from gradlint.findings import Confidence

CUT = "import torch\n\ndef f(x: torch.Tensor) -> torch.Tensor:\n    return x * x.detach()\n"


def _brief(result):
    return [(f.location.path, f.location.line, f.location.column, f.code) for f in result.findings]


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
    for text in (b"def add(a, b):\n    return a + b\n", b"class Settings:\n    scale = 1.0\n",
                 b"from .model import forward\n"):
        assert analyse(text, "plain.py", "pkg.plain").facts is not None


def test_analysis_frees_itself_without_the_cyclic_collector():
    """The engine pauses the collector while a file is analysed: no reference cycle may keep the tree alive."""
    sources = [CUT.encode(), *(path.read_bytes() for path in sorted(Path("src/braggsim").glob("*.py")))]
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # unreachable objects land in gc.garbage instead of being freed
    try:
        analysed = sum(analyse(data, f"file{number}.py", f"file{number}").facts is not None
                       for number, data in enumerate(sources))
        gc.collect()
        kept = {type(thing).__qualname__ for thing in gc.garbage
                if type(thing).__module__.startswith(("gradlint", "libcst"))}
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


def test_warm_run_reuses_the_cache_and_a_changed_file_is_reanalysed(tmp_path, monkeypatch):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.py").write_text(CUT)
    (source / "b.py").write_text(CUT.replace("detach()", "item()"))
    options = CheckOptions(root=tmp_path, cache_dir=tmp_path / ".gradlint_cache")
    cold = check([source], options)
    warm = check([source], options)
    assert warm.findings == cold.findings and warm.files_from_cache == 2
    analysed = []
    original = engine.analyse
    monkeypatch.setattr(engine, "analyse", lambda data, path, module: analysed.append(path) or original(
        data, path, module))
    (source / "b.py").write_text(CUT.replace("detach()", "tolist()"))
    changed = check([source], options)
    assert analysed == ["src/b.py"]
    assert [f.code for f in changed.findings] == ["GL001", "GL011"]
    assert changed.files_from_cache == 1


def test_scanning_never_writes_to_the_scanned_files(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(CUT)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    check([tmp_path], CheckOptions(root=tmp_path, cache_dir=tmp_path / "cache"))
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_many_files_go_through_the_process_pool(tmp_path):
    for index in range(engine.POOL_THRESHOLD + 2):
        (tmp_path / f"m{index:02d}.py").write_text(CUT)
    result = check([tmp_path], CheckOptions(root=tmp_path, jobs=2))
    assert len(result.findings) == engine.POOL_THRESHOLD + 2
    assert {f.code for f in result.findings} == {"GL001"}


def test_module_names_follow_packages(tmp_path):
    package = tmp_path / "pkg" / "sub"
    package.mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").touch()
    (package / "__init__.py").touch()
    assert engine._module_name(package / "mod.py") == "pkg.sub.mod"
    assert engine._module_name(package / "__init__.py") == "pkg.sub"
    assert engine._module_name(Path(tmp_path / "script.py")) == "script"
