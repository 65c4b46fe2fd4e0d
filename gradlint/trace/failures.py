"""The one-paragraph messages for targets the trace cannot use (the CLI exits 2 on any of them)."""

from __future__ import annotations

from typing import Sequence

from gradlint.trace.results import Failure, FailureKind

_FORMS = (
    "a pytest node id (tests/test_x.py::test_name), a module and function (package.module:function, "
    "called with no arguments) or a Python script path"
)

_TEMPLATES = {
    FailureKind.NOT_FOUND: (
        "The trace target {target!r} was not found: {detail}. A target is " + _FORMS + ". Check the spelling, "
        "and run gradlint from the project root (or install the package) so the target can be imported."
    ),
    FailureKind.IMPORT_ERROR: (
        "The trace target {target!r} could not be imported: {detail}. Run the target on its own to see the "
        "full traceback (it is also in the output log), fix the error, and trace again."
    ),
    FailureKind.RAISED: (
        "The trace target {target!r} raised {detail}. The traceback is in the output log. Gradients and "
        "severing operations observed up to the error are still reported{extra}."
    ),
    FailureKind.NO_BACKWARD: (
        "The trace target {target!r} finished without calling backward() and returned no tensor to call it on, "
        "so no gradient could be observed. Make the target call loss.backward(), or return the scalar loss."
    ),
    FailureKind.NO_PARAMETERS: (
        "The trace target {target!r} ran, but no tensor that requires grad was seen, so there is no gradient "
        "to follow. Create the tensors you want gradients for with requires_grad=True (or as nn.Parameter)."
    ),
    FailureKind.UNKNOWN_PARAMETER: (
        "No parameter of the trace target {target!r} is called {detail}. The parameters seen were: {known}. "
        "Pass one of these names with --param, or none to report them all."
    ),
    FailureKind.INTERRUPTED: (
        "The trace of {target!r} was interrupted ({detail}) before the target finished. The gradients and "
        "severing operations observed until then are reported; the output log shows where the target was."
    ),
    FailureKind.NO_TORCH: (
        "Tracing runs the target under torch, which is not installed here. Install it (for example "
        "pip install 'torch-gradlint[trace]') and trace again."
    ),
}

_GRAPH_REUSE_NOTE = (
    ": a backward went through a graph that an earlier backward had already freed; the graph-reuse "
    "suspect names the tensor that was kept with its graph"
)


def failure(
    kind: FailureKind, target: str, detail: str = "", *, known: Sequence[str] = (), graph_reuse: bool = False
) -> Failure:
    message = _TEMPLATES[kind].format(
        target=target,
        detail=detail,
        known=", ".join(known) or "none",
        extra=_GRAPH_REUSE_NOTE if graph_reuse else "",
    )
    return Failure(kind, message, detail)
