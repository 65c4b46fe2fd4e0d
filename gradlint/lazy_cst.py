"""libcst for the rules' hooks and the fix kinds they declare, imported when a hook first needs it.

The rules are also the catalogue that settings are checked against (``--select GL010``) and that ``gradlint
rules`` lists; a run whose results all come from the cache reads the catalogue but never a syntax tree, so it
should not pay for importing libcst. ``from gradlint import lazy_cst as cst`` then ``cst.Call``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    import libcst

    value = getattr(libcst, name)
    globals()[name] = value  # later look-ups are plain module attributes
    return value
