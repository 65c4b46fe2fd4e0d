"""Per-file results kept between runs, so that an unchanged file is not analysed again.

An entry is found by a key naming the file and is valid only for the digest of the content it was computed
from. All entries for one gradlint version, Python version and salt (the engine passes a fingerprint of the
checker's own code) live in one file, read once when the cache opens and rewritten atomically on ``close()``
when something changed; if another run rewrote it meanwhile, its entries are merged in first. Writing removes
the files of other versions and salts, which can never be read again.

The cache is a convenience: a missing, corrupt or unreadable entry is a miss, and a folder that cannot be
written to adds a line to ``warnings`` instead of failing the run. Entries are pickles, so a cache folder is
as trusted as the code it sits next to: do not reuse one from a source you do not trust.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Dict, Tuple

from gradlint import __version__

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by gradlint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)

_Entries = Dict[str, Tuple[str, bytes]]  # path key -> (content digest, pickled value)


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Cache:
    def __init__(self, directory: Path, salt: str) -> None:
        self.directory = Path(directory)
        version = f"{__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
        self.file = self.directory / f"{version}-{content_digest(salt.encode())}.pickle"
        self.warnings: list[str] = []
        self._stamp = self._file_stamp()
        self._entries = self._read()
        self._changed: _Entries = {}

    def get(self, path_key: str, digest: str) -> object | None:
        entry = self._entries.get(path_key)
        if entry is None or entry[0] != digest:
            return None
        try:
            return pickle.loads(entry[1])
        except Exception:  # a damaged entry, or one naming a class that no longer exists: recompute
            return None

    def put(self, path_key: str, digest: str, value: object) -> None:
        entry = (digest, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        self._entries[path_key] = entry
        self._changed[path_key] = entry

    def close(self) -> None:
        if not self._changed:
            return
        entries = self._entries
        if self._file_stamp() != self._stamp:
            entries = {**self._read(), **self._changed}
        try:
            self._prepare_directory()
            self._write_atomically(entries)
        except OSError as error:
            self.warnings.append(f"cannot write the cache in {self.directory}: {error.strerror or error}")
        self._changed = {}

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _read(self) -> _Entries:
        try:
            with open(self.file, "rb") as stream:
                entries = pickle.load(stream)
        except Exception:  # missing, unreadable or corrupt: start afresh
            return {}
        return entries if isinstance(entries, dict) else {}

    def _file_stamp(self) -> tuple[int, int, int] | None:
        """Changes whenever the file is replaced (a new inode) or rewritten."""
        try:
            status = self.file.stat()
        except OSError:
            return None
        return (status.st_ino, status.st_mtime_ns, status.st_size)

    def _prepare_directory(self) -> None:
        if self.directory.is_dir():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / ".gitignore").write_text("*\n", encoding="utf-8")
        (self.directory / "CACHEDIR.TAG").write_text(CACHEDIR_TAG, encoding="utf-8")

    def _write_atomically(self, entries: _Entries) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(entries, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self.file)
        except BaseException:
            os.unlink(temporary)
            raise
        self._stamp = self._file_stamp()
        self._remove_superseded()

    def _remove_superseded(self) -> None:
        """Entries written by other versions of gradlint (or of its code) can never be read again."""
        for other in self.directory.glob("*.pickle"):
            if other != self.file and not other.name.startswith(".tmp-"):
                try:
                    other.unlink()
                except OSError:
                    pass
