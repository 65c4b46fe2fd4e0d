"""The language server, in a real session: a client speaks JSON-RPC to `gradlint server` over its standard input
and output (initialize, didOpen, publishDiagnostics, codeAction, hover, didChange, didSave, shutdown, exit)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

import pytest

pytest.importorskip("pygls")

TIMEOUT = 60  # seconds for one answer: the first check of a project imports and analyses everything

PARAMS = """\
import torch


def make_parameter():
    return torch.nn.Parameter(torch.ones(3))
"""
FIT = """\
import torch
from params import make_parameter


def loss():
    w = make_parameter()
    return (w.data * w * float(w.sum())).sum()
"""
CUT_LINE, CUT_START, CUT_END = 6, 25, 39  # `float(w.sum())`, 0-based as the protocol counts


class Client:
    """A minimal Language Server Protocol client over a subprocess's pipes."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gradlint", "server"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.capabilities: Dict[str, Any] = {}  # what the server said it can do, in its answer to initialize
        self.messages: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self.notifications: list[Dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            self.messages.put(json.loads(stream.read(int(headers["content-length"]))))

    def _send(self, message: Dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: Dict[str, Any]) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: Optional[Dict[str, Any]]) -> Any:
        self.next_id += 1
        self._send({"id": self.next_id, "method": method, "params": params})
        answer = self._wait(lambda message: message.get("id") == self.next_id and "method" not in message)
        assert "error" not in answer, answer
        return answer["result"]

    def diagnostics(self, uri: str) -> list[Dict[str, Any]]:
        """The next diagnostics published for ``uri``."""
        message = self._wait(
            lambda message: (
                message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri
            )
        )
        return message["params"]["diagnostics"]

    def _wait(self, wanted: Callable[[Dict[str, Any]], bool]) -> Dict[str, Any]:
        for position, message in enumerate(self.notifications):
            if wanted(message):
                return self.notifications.pop(position)
        while True:
            message = self.messages.get(timeout=TIMEOUT)
            if wanted(message):
                return message
            self.notifications.append(message)


@contextmanager
def session(project: Path) -> Iterator[Client]:
    """A client of a server started in ``project``, initialised; shut down and exited at the end."""
    client = Client(project)
    try:
        client.capabilities = client.request(
            "initialize", {"processId": None, "rootUri": project.as_uri(), "capabilities": {}}
        )["capabilities"]
        client.notify("initialized", {})
        yield client
        assert client.request("shutdown", None) is None
        client.notify("exit", {})
        assert client.process.wait(timeout=TIMEOUT) == 0
    finally:
        if client.process.poll() is None:
            client.process.kill()
        client.process.wait()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.gradlint]\npaths = ["src"]\nignore = ["GL020"]\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src/params.py").write_text(PARAMS)
    (tmp_path / "src/fit.py").write_text(FIT)
    return tmp_path


def test_a_full_session(project: Path) -> None:
    uri = (project / "src/fit.py").as_uri()
    with session(project) as client:
        assert client.capabilities["codeActionProvider"] and client.capabilities["hoverProvider"]
        client.notify(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": FIT}}
        )
        # The parameter is made in another file: only the project's context makes the cut certain. GL020
        # (`w.data`) is ignored by the project's [tool.gradlint].
        (diagnostic,) = client.diagnostics(uri)
        assert (diagnostic["code"], diagnostic["source"], diagnostic["severity"]) == ("GL012", "gradlint", 2)
        assert diagnostic["range"] == {
            "start": {"line": CUT_LINE, "character": CUT_START},
            "end": {"line": CUT_LINE, "character": CUT_END},
        }
        assert diagnostic["message"].startswith("`float()` turns `w.sum()` into a Python number")

        actions = client.request(
            "textDocument/codeAction",
            {"textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}},
        )
        edits = {action["title"]: action["edit"]["changes"][uri] for action in actions}
        assert edits == {
            "GL012: Keep the tensor instead of a Python number (unsafe)": [
                {"range": diagnostic["range"], "newText": "w.sum()"}
            ],
            "GL012: silence on this line with `# gradlint: ignore[GL012]`": [
                {
                    "range": {"start": {"line": CUT_LINE, "character": 46}, "end": {"line": CUT_LINE, "character": 46}},
                    "newText": "  # gradlint: ignore[GL012]",
                }
            ],
        }

        hover = client.request(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": {"line": CUT_LINE, "character": CUT_START + 3}},
        )
        text = hover["contents"]["value"]
        assert text.startswith("**GL012** `python-scalar-of-tensor` (high confidence)")
        assert (
            "Reasoning chain: w.sum() ← make_parameter() (line 6) ← torch.nn.Parameter(torch.ones(3)) (src/params.py:5)"
        ) in text
        assert "`Tensor.__float__`" in text  # the rule's explanation
        assert (
            client.request(
                "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}
            )
            is None
        )

        excluded = (project / "build/generated.py").as_uri()  # build/ is excluded by default
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": excluded, "languageId": "python", "version": 1, "text": FIT}},
        )
        assert client.diagnostics(excluded) == []
        unsaved = (project / "src/scratch.py").as_uri()  # a new buffer, not on disk yet
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": unsaved, "languageId": "python", "version": 1, "text": FIT}},
        )
        assert [diagnostic["code"] for diagnostic in client.diagnostics(unsaved)] == ["GL012"]

        fixed = FIT.replace("float(w.sum())", "w.sum()")
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"range": diagnostic["range"], "text": "w.sum()"}],
            },
        )
        assert client.diagnostics(uri) == []
        (project / "src/fit.py").write_text(fixed)
        client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        assert client.diagnostics(uri) == []


def test_without_pygls_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradlint.cli import run

    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)
    monkeypatch.delitem(sys.modules, "gradlint.server", raising=False)
    assert run(["server"]) == 2
    assert capsys.readouterr().err.startswith("gradlint: error: the language server needs pygls (")


def test_a_notebook_session(project: Path) -> None:
    """A notebook as editors hold it open: cells as their own documents, diagnostics by cell."""
    notebook = (project / "notebooks/fit.ipynb").as_uri()  # not on disk: the editor's cells are all there is
    cells = [f"{notebook}#cell{index}" for index in range(3)]
    texts = [
        "# Fit",
        "import torch\nfrom params import make_parameter\n\nw = make_parameter()\n",
        "loss = (w * float(w.sum())).sum()\nloss.backward()\n",
    ]
    with session(project) as client:
        client.notify(
            "notebookDocument/didOpen",
            {
                "notebookDocument": {
                    "uri": notebook,
                    "notebookType": "jupyter-notebook",
                    "version": 1,
                    "cells": [{"kind": 1 if index == 0 else 2, "document": cell} for index, cell in enumerate(cells)],
                },
                "cellTextDocuments": [
                    {"uri": cell, "languageId": "markdown" if index == 0 else "python", "version": 1, "text": text}
                    for index, (cell, text) in enumerate(zip(cells, texts))
                ],
            },
        )
        assert client.diagnostics(cells[0]) == [] and client.diagnostics(cells[1]) == []
        (diagnostic,) = client.diagnostics(cells[2])
        assert diagnostic["code"] == "GL012"
        assert diagnostic["range"] == {"start": {"line": 0, "character": 12}, "end": {"line": 0, "character": 26}}

        actions = client.request(
            "textDocument/codeAction",
            {"textDocument": {"uri": cells[2]}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}},
        )
        assert actions[0]["edit"]["changes"] == {cells[2]: [{"range": diagnostic["range"], "newText": "w.sum()"}]}

        client.notify(
            "notebookDocument/didChange",
            {
                "notebookDocument": {"uri": notebook, "version": 2},
                "change": {
                    "cells": {
                        "textContent": [
                            {
                                "document": {"uri": cells[2], "version": 2},
                                "changes": [{"range": diagnostic["range"], "text": "w.sum()"}],
                            }
                        ]
                    }
                },
            },
        )
        assert client.diagnostics(cells[0]) == [] and client.diagnostics(cells[1]) == []
        assert client.diagnostics(cells[2]) == []
