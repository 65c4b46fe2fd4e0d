"""Writing back to the user's files, for the options that ask for it.

A file is rewritten only when its text changes, in its own encoding (a byte order mark kept) with its own line
endings, atomically (a temporary file beside it replaces it) and with its permissions; an unchanged file is
never touched, not even its modification time.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import tokenize
from pathlib import Path
from typing import Callable


def rewrite(path: Path, change: Callable[[str], str]) -> bool:
    """Replace the text of ``path`` by ``change(text)``; whether the file was written. Raises OSError.

    A symbolic link is followed: its target is rewritten, the link stays."""
    data = Path(os.path.realpath(path)).read_bytes()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    changed = change(text)
    if changed == text:
        return False
    replace(path, changed.encode(encoding))
    return True


def replace(path: Path, data: bytes) -> None:
    """Make ``data`` the content of the file at ``path`` (the target of a symbolic link), atomically and with
    the file's permissions. Raises OSError."""
    path = Path(os.path.realpath(path))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
