from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

from gradlint.engine import CheckOptions, check
from gradlint.findings import Confidence, Finding


@pytest.fixture
def scan(tmp_path):
    """Write a package of files and check it at every confidence: ``scan({"pkg/a.py": "..."})``."""

    def run(files: Dict[str, str], confidence: Confidence = Confidence.LOW) -> List[Finding]:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
            if path.parent != tmp_path:
                (path.parent / "__init__.py").touch()
        roots = sorted({tmp_path / Path(name).parts[0] for name in files})
        return check(roots, CheckOptions(root=tmp_path, confidence=confidence)).findings

    return run
