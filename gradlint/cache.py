"""Per-file results kept between runs, so that an unchanged file is not analysed again.

An entry is found by a key naming the file and is valid only for the digest of the content it was computed
from. All entries for one gradlint version, Python version and salt (the engine passes a fingerprint of the
checker's own code) live in one file, read once when the cache opens and rewritten atomically on ``close()``
when something changed; if another run rewrote it meanwhile, its entries are merged in first.

The cache is a convenience: a missing, unreadable or corrupt entry is a miss (every entry carries a checksum
of its key, digest and value), and a folder that cannot be written to adds a line to ``warnings`` instead of
failing the run.

gradlint owns its cache folder: it creates it (with a ``CACHEDIR.TAG`` and a ``.gitignore``) or adopts an
empty one, and removes only files it wrote (those of other versions and salts, which can never be read
again). A folder that holds anything else is neither read nor written, with a warning. Entries are pickles,
so a cache folder is as trusted as the code it sits next to: do not reuse one from a source you do not trust.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
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
_TAG_NAME = "CACHEDIR.TAG"
_GITIGNORE = ".gitignore"
_PREFIX = "gradlint-"
# The entry files gradlint writes (and their temporary files), also as 0.1.0 named them.
_ENTRY_FILE = re.compile(rf"\.?{_PREFIX}[\w.-]+\.pickle|[\w.]+-py\d+-[0-9a-f]{{32}}\.pickle|\.tmp-\w+\.pickle")

_Entries = Dict[str, Tuple[str, bytes, str]]  # path key -> (content digest, pickled value, checksum)


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _checksum(key: str, digest: str, value: bytes) -> str:
    return content_digest(b"\0".join((key.encode("utf-8", "surrogatepass"), digest.encode(), value)))


class Cache:
    def __init__(self, directory: Path, salt: str) -> None:
        self.directory = Path(directory)
        version = f"{__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
        self.file = self.directory / f"{_PREFIX}{version}-{content_digest(salt.encode())}.pickle"
        self.warnings: list[str] = []
        self.usable = self._check_ownership()
        self._stamp = self._file_stamp()
        self._entries = self._read() if self.usable else {}
        self._changed: _Entries = {}

    def get(self, path_key: str, digest: str) -> object | None:
        entry = self._entries.get(path_key)
        if entry is None or entry[0] != digest:
            return None
        try:
            return pickle.loads(entry[1])
        except Exception:  # one naming a class that no longer exists: recompute
            return None

    def put(self, path_key: str, digest: str, value: object) -> None:
        self.put_pickled(path_key, digest, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def put_pickled(self, path_key: str, digest: str, pickled: bytes) -> None:
        """``put`` for a value that is pickled already."""
        entry = (digest, pickled, _checksum(path_key, digest, pickled))
        self._entries[path_key] = entry
        self._changed[path_key] = entry

    def close(self) -> None:
        if not self._changed or not self.usable:
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

    def _check_ownership(self) -> bool:
        """Whether the folder is missing, empty, or holds only what gradlint writes (else a warning)."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return True  # missing, or not a readable folder: writing will say why
        # Without gradlint's tag, a .gitignore is the user's.
        own = {_TAG_NAME, _GITIGNORE} if _TAG_NAME in names else set()
        strangers = sorted(name for name in names if name not in own and not _ENTRY_FILE.fullmatch(name))
        if strangers:
            self.warnings.append(
                f"not using {self.directory} as the cache: it holds files gradlint did not write "
                f"(such as {strangers[0]!r}); give the cache a folder of its own"
            )
        return not strangers

    def _read(self) -> _Entries:
        try:
            with open(self.file, "rb") as stream:
                entries = pickle.load(stream)
        except Exception:  # missing, unreadable or corrupt: start afresh
            return {}
        if not isinstance(entries, dict):
            return {}
        return {key: entry for key, entry in entries.items() if _intact(key, entry)}

    def _file_stamp(self) -> tuple[int, int, int] | None:
        """Changes whenever the file is replaced (a new inode) or rewritten."""
        try:
            status = self.file.stat()
        except OSError:
            return None
        return (status.st_ino, status.st_mtime_ns, status.st_size)

    def _prepare_directory(self) -> None:
        if (self.directory / _TAG_NAME).is_file():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / _GITIGNORE).write_text("*\n", encoding="utf-8")
        (self.directory / _TAG_NAME).write_text(CACHEDIR_TAG, encoding="utf-8")

    def _write_atomically(self, entries: _Entries) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=f".{_PREFIX}", suffix=".pickle")
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
        """Entry files of other versions of gradlint (or of its code) can never be read again."""
        for other in self.directory.iterdir():
            if other != self.file and _ENTRY_FILE.fullmatch(other.name) and not other.name.startswith("."):
                try:
                    other.unlink()
                except OSError:
                    pass


def _intact(key: object, entry: object) -> bool:
    if not (isinstance(key, str) and isinstance(entry, tuple) and len(entry) == 3):
        return False
    digest, value, checksum = entry
    return (
        isinstance(digest, str)
        and isinstance(value, bytes)
        and isinstance(checksum, str)
        and checksum == _checksum(key, digest, value)
    )
