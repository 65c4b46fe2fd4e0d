"""The language server: ``gradlint server`` speaks the Language Server Protocol on standard input and output.

A thin layer over the engine. When a Python file is opened, changed or saved, it is checked as the command line
would check it: with the ``[tool.gradlint]`` settings found from it and the rest of its project as context
(:mod:`gradlint.project`), and with the editor's unsaved texts in place of what is on disk. Every open file of
that project is reported in the same check and gets its diagnostics; a notebook document is checked from its
cells as the editor holds them, and each cell gets its own. Code actions offer each finding's
fix and a suppression comment; hovering over a finding shows its rule's explanation and the reasoning chain.
The cache makes each check after the first cost the edited file and the whole-program solve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import ServerTextPosition, ServerTextRange, TextDocument

from gradlint import __version__, engine, notebooks
from gradlint.config import ConfigError, Overrides, Settings, load_settings
from gradlint.discovery import exclusion_patterns, is_excluded, relative_posix
from gradlint.engine import CheckOptions
from gradlint.findings import Edit, Finding, Location
from gradlint.fixes.apply import applicable
from gradlint.report import RULES_DOC_URL, chain_text, severity
from gradlint.rules import RULES_BY_CODE
from gradlint.suppressions import silencing_edit

SOURCE = "gradlint"
_SEVERITIES = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "note": types.DiagnosticSeverity.Information,
}


class GradlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "gradlint",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[
                    types.NotebookDocumentFilterWithCells(
                        cells=[types.NotebookCellLanguage(language="python")], notebook="jupyter-notebook"
                    )
                ],
                save=True,
            ),
        )
        self.findings: Dict[str, List[Finding]] = {}  # by document URI, from the last check

    # ------------------------------------------------------------------------------------------ checking
    def check(self, uri: str) -> None:
        """Check the document at ``uri`` with its project as context, and publish the diagnostics of the open
        documents of that project (an edit in one file can change the findings of another)."""
        path = _path(uri)
        if path is None or not _is_python(path):
            return
        settings = self._settings(path)
        if settings is None:
            return
        options = settings.options
        root = options.root
        open_documents = {
            document_path: document
            for document in self.workspace.text_documents.values()
            for document_path in [_path(document.uri)]
            if document_path is not None
            and _is_python(document_path)
            and document_path.exists()
            and (document_path == path or relative_posix(document_path, root) is not None)
            and not _excluded(document_path, options)
        }
        if _excluded(path, options):
            self.publish(self.workspace.get_text_document(uri), [])
            return
        if path not in open_documents:  # a new file, not saved yet: checked alone with the project as context
            open_documents = {path: self.workspace.get_text_document(uri)}
        displays = {document_path: _display(document_path, root) for document_path in open_documents}
        contents = {
            displays[document_path]: document.source.encode("utf-8")
            for document_path, document in open_documents.items()
        }
        if path.exists():
            result = engine.check(list(open_documents), options, settings.context, contents)
        else:
            result = engine.check_text(contents[displays[path]], displays[path], options, settings.context, file=path)
        by_display: Dict[str, List[Finding]] = {display: [] for display in displays.values()}
        for finding in result.findings:
            if finding.location.path in by_display:
                by_display[finding.location.path].append(finding)
        for document_path, document in open_documents.items():
            self.publish(document, by_display[displays[document_path]])

    def check_notebook(self, uri: str) -> None:
        """Check the notebook document at ``uri`` (its cells as the editor holds them), with its project as
        context, and publish each cell's diagnostics."""
        path = _path(uri)
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        if path is None or notebook is None:
            return
        settings = self._settings(path)
        if settings is None:
            return
        cells = [self.workspace.get_text_document(cell.document) for cell in notebook.cells]
        findings: List[List[Finding]] = [[] for _ in cells]
        if not _excluded(path, settings.options):
            display = _display(path, settings.options.root)
            data = notebooks.from_cells(
                [
                    (cell.kind == types.NotebookCellKind.Code, document.source)
                    for cell, document in zip(notebook.cells, cells)
                ]
            )
            if path.exists():
                result = engine.check([path], settings.options, settings.context, {display: data})
            else:
                result = engine.check_text(data, display, settings.options, settings.context, file=path)
            for finding in result.findings:
                cell = finding.location.cell or 0
                if finding.location.path == display and 0 < cell <= len(cells):
                    findings[cell - 1].append(finding)
        for document, found in zip(cells, findings):
            self.publish(document, found)

    def _settings(self, path: Path) -> Optional[Settings]:
        """The settings and context for the file at ``path``, as for `gradlint - --stdin-filename PATH`."""
        try:
            return load_settings(Overrides(paths=("-",), stdin_filename=str(path)), self._workspace_folder(path))
        except ConfigError as error:
            self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"gradlint: {error}"))
            return None

    def _workspace_folder(self, path: Path) -> Path:
        folders = [folder for folder in (_path(uri) for uri in self.workspace.folders) if folder is not None]
        containing = [folder for folder in folders if relative_posix(path, folder) is not None]
        return max(containing, key=lambda folder: len(folder.parts)) if containing else path.parent

    def publish(self, document: TextDocument, findings: Sequence[Finding]) -> None:
        self.findings[document.uri] = list(findings)
        diagnostics = [self._diagnostic(document, finding) for finding in findings]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=document.uri, diagnostics=diagnostics, version=document.version)
        )

    def _diagnostic(self, document: TextDocument, finding: Finding) -> types.Diagnostic:
        message = finding.message
        if finding.chain:
            message += f"\nchain: {chain_text(finding)}"
        return types.Diagnostic(
            range=_range(document, finding.location),
            message=message,
            severity=_SEVERITIES[severity(finding)],
            code=finding.code,
            code_description=types.CodeDescription(href=f"{RULES_DOC_URL}#{finding.code.lower()}-{finding.rule}"),
            source=SOURCE,
        )

    # ----------------------------------------------------------------------------------------- answers
    def at(self, uri: str, where: types.Range) -> List[Finding]:
        """The findings of the last check whose range meets ``where`` (in the document's characters)."""
        document = self.workspace.get_text_document(uri)
        wanted = document.range_from_client_units(where)
        return [finding for finding in self.findings.get(uri, []) if _meets(_server_range(finding.location), wanted)]

    def code_actions(self, uri: str, where: types.Range) -> List[types.CodeAction]:
        document = self.workspace.get_text_document(uri)
        actions = []
        for finding in self.at(uri, where):
            diagnostic = self._diagnostic(document, finding)
            if finding.autofix is not None and applicable(finding, unsafe=True):
                safety = "" if finding.autofix.safe else " (unsafe)"
                actions.append(
                    types.CodeAction(
                        title=f"{finding.code}: {finding.autofix.title}{safety}",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        edit=_workspace_edit(document, finding.autofix.edits),
                        is_preferred=finding.autofix.safe,
                    )
                )
            line = finding.location.line
            text = document.lines[line - 1].rstrip("\r\n") if line <= len(document.lines) else ""
            actions.append(
                types.CodeAction(
                    title=f"{finding.code}: silence on this line with `# gradlint: ignore[{finding.code}]`",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=_workspace_edit(document, [silencing_edit(finding.location.path, text, line, finding.code)]),
                )
            )
        return actions

    def hover(self, uri: str, position: types.Position) -> Optional[types.Hover]:
        found = self.at(uri, types.Range(position, position))
        if not found:
            return None
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(_explanation(finding) for finding in found)
            )
        )


def _explanation(finding: Finding) -> str:
    parts = [f"**{finding.code}** `{finding.rule}` ({finding.confidence.label} confidence)", "", finding.message]
    if finding.chain:
        parts += ["", f"Reasoning chain: {chain_text(finding)}"]
    if finding.fix:
        parts += ["", f"Fix: {finding.fix}"]
    rule = RULES_BY_CODE.get(finding.code)
    if rule is not None:
        sections = rule.sections()
        parts += [
            "",
            sections.get("Why it cuts gradients", ""),
            "",
            "When it is fine: " + sections.get("When it is fine", ""),
        ]
    return "\n".join(parts)


def _excluded(path: Path, options: CheckOptions) -> bool:
    return is_excluded(path, root=options.root, patterns=exclusion_patterns(options.exclude, options.extend_exclude))


def _is_python(path: Path) -> bool:
    return path.suffix in (".py", ".pyi")


def _path(uri: str) -> Optional[Path]:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def _display(path: Path, root: Path) -> str:
    relative = relative_posix(path, root)
    return relative if relative is not None else path.as_posix()


def _server_range(location: Location) -> ServerTextRange:
    return ServerTextRange(
        ServerTextPosition(location.line - 1, location.column - 1),
        ServerTextPosition(location.end_line - 1, location.end_column - 1),
    )


def _range(document: TextDocument, location: Location) -> types.Range:
    return document.range_to_client_units(_server_range(location))


def _meets(first: ServerTextRange, second: ServerTextRange) -> bool:
    return first.start <= second.end and second.start <= first.end


def _workspace_edit(document: TextDocument, edits: Sequence[Edit]) -> types.WorkspaceEdit:
    text_edits = [types.TextEdit(range=_range(document, edit.location), new_text=edit.content) for edit in edits]
    return types.WorkspaceEdit(changes={document.uri: text_edits})


def build() -> GradlintServer:
    server = GradlintServer()

    for method in (types.TEXT_DOCUMENT_DID_OPEN, types.TEXT_DOCUMENT_DID_CHANGE, types.TEXT_DOCUMENT_DID_SAVE):
        server.feature(method)(lambda ls, params: ls.check(params.text_document.uri))
    for method in (
        types.NOTEBOOK_DOCUMENT_DID_OPEN,
        types.NOTEBOOK_DOCUMENT_DID_CHANGE,
        types.NOTEBOOK_DOCUMENT_DID_SAVE,
    ):
        server.feature(method)(lambda ls, params: ls.check_notebook(params.notebook_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: GradlintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.findings.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix])
    )
    def code_action(ls: GradlintServer, params: types.CodeActionParams) -> List[types.CodeAction]:
        return ls.code_actions(params.text_document.uri, params.range)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: GradlintServer, params: types.HoverParams) -> Optional[types.Hover]:
        return ls.hover(params.text_document.uri, params.position)

    return server


def serve() -> None:
    """Serve one client on standard input and output until it exits."""
    build().start_io()
