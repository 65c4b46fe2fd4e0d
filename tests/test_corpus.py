"""The real-world corpus (bench/corpus/cases.toml) and its runner, on a scratch repository built here."""

from __future__ import annotations

import collections
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("corpus_runner", ROOT / "bench" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["corpus_runner"] = corpus
_spec.loader.exec_module(corpus)

RULE_FAMILIES = {
    "detach",
    "scalars",
    "data_attr",
    "numpy",
    "construct",
    "ranges",
    "grad_mode",
    "casts",
    "caching",
    "fills",
    "branching",
}


def test_the_corpus_is_large_enough_and_covers_every_family():
    cases = corpus.load_cases(corpus.CASES)
    kinds = collections.Counter(case.kind for case in cases)
    per_repository = collections.Counter(case.repo for case in cases)
    assert kinds["bug"] >= 40 and kinds["deliberate"] >= 20
    assert len(per_repository) >= 15 and max(per_repository.values()) <= 4
    assert RULE_FAMILIES <= {case.family for case in cases if case.kind == "bug"}
    assert all(len(case.commit) == 40 and (case.kind == "deliberate" or len(case.parent) == 40) for case in cases)


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def mirrors(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository `someone/physics` with a cut (first commit) fixed by the second."""
    repository = tmp_path / "mirrors" / "someone+physics"
    (repository / "physics").mkdir(parents=True)
    _git(repository, "init", "-q")
    _git(repository, "config", "user.email", "t@example.org")
    _git(repository, "config", "user.name", "t")
    (repository / "physics" / "__init__.py").write_text("")
    model = repository / "physics" / "model.py"
    model.write_text(
        "import torch\n\n\ndef energy(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:\n"
        "    scale = w.sum().item()\n    print(w.mean().item())\n    return x * scale\n"
    )
    _git(repository, "add", ".")
    _git(repository, "commit", "-qm", "cut")
    parent = _git(repository, "rev-parse", "HEAD")
    model.write_text(model.read_text().replace("w.sum().item()", "w.sum()"))
    _git(repository, "commit", "-qam", "fix")
    return tmp_path / "mirrors", parent, _git(repository, "rev-parse", "HEAD")


def test_the_runner_checks_each_file_at_the_commit_it_cites(mirrors, tmp_path, capsys):
    folder, parent, fix = mirrors
    cases = tmp_path / "cases.toml"
    cases.write_text(f"""\
[[case]]
id = "physics-bug"
kind = "bug"
repo = "someone/physics"
commit = "{fix}"
parent = "{parent}"
path = "physics/model.py"
lines = [5]
package = "physics"
family = "scalars"

[[case]]
id = "physics-log"
kind = "deliberate"
repo = "someone/physics"
commit = "{fix}"
path = "physics/model.py"
lines = [6]
package = "physics"
family = "scalars"
""")
    assert corpus.main([str(folder), "--cases", str(cases), "--work", str(tmp_path / "work")]) == 0
    table = {
        tuple(line.split()[:2]): line.split()[2:]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith(("alone", "package", "project"))
    }
    assert table[("alone", "medium")][:4] == ["1/1", "(100%)", "0/1", "(0%)"]
    assert table[("alone", "low")][:4] == ["1/1", "(100%)", "1/1", "(100%)"]
    assert table[("alone", "grep")][:4] == ["1/1", "(100%)", "1/1", "(100%)"]
    assert table[("project", "medium")][:2] == ["1/1", "(100%)"]


def test_a_case_whose_mirror_is_missing_is_skipped_with_a_reason(tmp_path, capsys):
    cases = tmp_path / "cases.toml"
    cases.write_text(
        '[[case]]\nid = "x"\nkind = "deliberate"\nrepo = "nobody/nothing"\ncommit = "'
        + "0" * 40
        + '"\npath = "a.py"\nlines = [1]\npackage = ""\nfamily = "detach"\n'
    )
    assert corpus.main([str(tmp_path), "--cases", str(cases), "--work", str(tmp_path / "work")]) == 0
    assert "skipped: x: no mirror of nobody/nothing" in capsys.readouterr().out
