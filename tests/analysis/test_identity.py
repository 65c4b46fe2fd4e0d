"""One module identity per file: same-named files keep their own facts, imports between siblings resolve, and a
file's findings do not depend on which other folders are checked with it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlint.analysis.identity import import_root
from gradlint.engine import CheckOptions, check
from gradlint.findings import Confidence

CUT_MODEL = """\
import torch

def f(x: torch.Tensor) -> torch.Tensor:
    return x * x.item()
"""
CLEAN_MODEL = """\
import torch

def g(x: torch.Tensor) -> torch.Tensor:
    return x * 2
"""
# Three versions of ``model``: whether the trainer's ``.item()`` cuts a gradient depends on which one it imports.
MODELS = {
    "parameter": """\
        import torch

        class Net(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.scale = torch.nn.Parameter(torch.ones(1))
    """,
    "number": """\
        class Net:
            def __init__(self) -> None:
                self.scale = 1.0
    """,
    "annotated": """\
        import torch

        class Net:
            def __init__(self, scale: torch.Tensor) -> None:
                self.scale = scale
    """,
}
HELPERS = {
    "detaching": """\
        import torch

        def settle(value):
            return value.detach()
    """,
    "passing": """\
        def settle(value):
            return value
    """,
}
TRAIN = """\
    import torch
    from {dot}model import Net
    from {dot}helpers import settle

    def loss(x: torch.Tensor, net: Net) -> torch.Tensor:
        return x * net.scale.item() + settle(x * net.scale)
"""


def write(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def findings_by_file(root: Path, paths: Sequence[str]) -> Dict[str, List[Tuple[int, int, str, str]]]:
    result = check([root / path for path in paths], CheckOptions(root=root, confidence=Confidence.LOW, jobs=1))
    found: Dict[str, List[Tuple[int, int, str, str]]] = {}
    for finding in result.findings:
        found.setdefault(finding.location.path, []).append(
            (finding.location.line, finding.location.column, finding.code, finding.confidence.label)
        )
    return found


def test_same_named_files_without_packages_keep_their_findings(tmp_path: Path) -> None:
    write(tmp_path, {"a/model.py": CUT_MODEL, "b/model.py": CLEAN_MODEL})
    alone = findings_by_file(tmp_path, ["a"])
    assert alone == {"a/model.py": [(4, 16, "GL010", "medium")]}
    assert findings_by_file(tmp_path, ["a", "b"]) == alone
    assert findings_by_file(tmp_path, ["b", "a"]) == alone


def test_fifty_folders_report_every_finding(tmp_path: Path) -> None:
    write(tmp_path, {f"run{index:02d}/model.py": CUT_MODEL for index in range(50)})
    found = findings_by_file(tmp_path, ["."])
    assert len(found) == 50 and all(findings == [(4, 16, "GL010", "medium")] for findings in found.values())


def test_imports_between_sibling_scripts_resolve_to_the_sibling(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/model.py": MODELS["parameter"],
            "a/helpers.py": HELPERS["passing"],
            "a/train.py": TRAIN.format(dot=""),
            "b/model.py": MODELS["number"],
            "b/helpers.py": HELPERS["detaching"],
            "b/train.py": TRAIN.format(dot=""),
        },
    )
    both = findings_by_file(tmp_path, ["a", "b"])
    # a's Net holds a parameter: its .item() cuts a gradient for sure; b's Net holds a number (what its .item()
    # cuts is no more than a received tensor), and b's helper detaches what b's trainer passes.
    assert both == {
        "a/train.py": [(6, 16, "GL010", "high")],
        "b/helpers.py": [(4, 12, "GL001", "medium")],
        "b/train.py": [(6, 16, "GL010", "medium")],
    }
    assert findings_by_file(tmp_path, ["a"]) == {"a/train.py": both["a/train.py"]}
    assert findings_by_file(tmp_path, ["b"]) == {name: both[name] for name in ("b/helpers.py", "b/train.py")}


def test_a_stub_next_to_its_module_keeps_both_and_imports_reach_the_module(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/model.py": MODELS["parameter"],
            "a/model.pyi": "import torch\n\nclass Net(torch.nn.Module):\n    scale: float\n",
            "a/helpers.py": HELPERS["passing"],
            "a/train.py": TRAIN.format(dot=""),
        },
    )
    assert findings_by_file(tmp_path, ["a"]) == {"a/train.py": [(6, 16, "GL010", "high")]}


def test_a_package_that_re_exports_a_function_named_like_its_module_resolves(tmp_path: Path) -> None:
    # ``ns.pkg.worker`` is a module and, through the package's import, also a function: a name inside the
    # module (a local function of ``balance``) belongs to the module, not to the function. Checked in a process
    # of its own with a time limit: following the alias again and again once grew the name without end.
    write(
        tmp_path,
        {
            "ns/pkg/__init__.py": "from ns.pkg.worker import worker\n",
            "ns/pkg/worker.py": """\
            import torch


            def balance(weights):
                def share(index):
                    return weights[index].detach()

                return [share(index) for index in range(len(weights))]


            def worker(module, inputs):
                return module(inputs) * balance(inputs)[0]
        """,
        },
    )
    completed = subprocess.run(
        [sys.executable, "-m", "gradlint", "ns", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (completed.returncode, completed.stdout.splitlines()[0]) == (
        1,
        "ns/pkg/worker.py:6:16: GL001 `.detach()` cuts the gradient of `weights[index]`: nothing computed from "
        "it reaches the parameters it depends on [medium]",
    )


def test_import_root_is_the_folder_a_module_is_imported_from() -> None:
    assert import_root("a/model.py", "model") == "a"
    assert import_root("model.py", "model") == ""
    assert import_root("src/pkg/sub/mod.py", "pkg.sub.mod") == "src"
    assert import_root("src/pkg/__init__.py", "pkg") == "src"
    assert import_root("pkg/__init__.py", "pkg") == ""


# ------------------------------------------------------------------------------------------- the property
FOLDERS = ("a", "b", "runs/a", "runs/b", "x/tests", "y/tests")


@st.composite
def trees(draw) -> Tuple[Dict[str, str], List[str]]:
    """Folders of sibling scripts or packages with the same file names, and a subset of the folders to check."""
    folders = draw(st.lists(st.sampled_from(FOLDERS), min_size=2, max_size=5, unique=True))
    files: Dict[str, str] = {}
    for folder in folders:
        package = draw(st.booleans())
        if package:
            files[f"{folder}/__init__.py"] = ""
        files[f"{folder}/model.py"] = MODELS[draw(st.sampled_from(sorted(MODELS)))]
        files[f"{folder}/helpers.py"] = HELPERS[draw(st.sampled_from(sorted(HELPERS)))]
        files[f"{folder}/train.py"] = TRAIN.format(dot="." if package else "")
    subset = draw(st.lists(st.sampled_from(folders), min_size=1, unique=True))
    return files, subset


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(trees())
def test_every_file_has_the_findings_it_has_when_its_whole_tree_is_checked(tree) -> None:
    files, subset = tree
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write(root, files)
        whole = findings_by_file(root, sorted({name.split("/")[0] for name in files}))
        part = findings_by_file(root, subset)
    checked = [name for name in files if any(name.startswith(f"{folder}/") for folder in subset)]
    for name in checked:
        assert part.get(name, []) == whole.get(name, []), name
    assert set(part) <= set(checked)
