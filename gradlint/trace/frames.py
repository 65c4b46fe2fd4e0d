"""Which code is the user's, and the user's frames of the running stack.

Each code object is classified once (a dict lookup afterwards), so walking the stack when an event
fires stays cheap. Library code is the standard library, installed packages, torch and gradlint;
the user's code is everything else, restricted to ``user_paths`` when those are given.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from pathlib import Path
from types import CodeType, FrameType
from typing import Iterable, Optional

from gradlint.trace.results import Frame

# Categories of code.
USER = 0  # the user's code: where sites are reported
OTHER = 1  # not a library, but outside the user paths (e.g. tests when the paths are src/)
LIBRARY = 2  # standard library and installed packages
TORCH = 3  # torch itself: calls from here are torch's own machinery
GRADLINT = 4  # this package

MAX_CHAIN = 12
# gradlint's modules that pass the program's own calls on to torch (the function mode, the hooks): an
# operation called from one of them is the program's. An operation called from any other gradlint code is
# gradlint's own work (an outer trace must not report it).
_PASS_THROUGH = ("mode.py", "creation.py", "engine.py", "finite_differences.py")
# Category of each file name, per set of user paths: files do not move between traces.
_FILE_CATEGORIES: dict[tuple[str, ...], dict[str, int]] = {}
_DISPLAY_PATHS: dict[str, dict[str, str]] = {}  # per trace root: file name -> display path


@functools.cache
def _package_dir(module_file: str) -> str:
    return os.path.dirname(os.path.abspath(module_file)) + os.sep


@functools.cache
def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    prefixes = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    prefixes.update(os.path.join(base, "lib") for base in {sys.base_prefix, sys.base_exec_prefix})
    return tuple(os.path.abspath(p) + os.sep for p in prefixes)


class CodeMap:
    """Classifies code objects and turns frames into display ``Frame`` records."""

    def __init__(self, user_paths: Iterable[str | os.PathLike[str]] = (), root: str | os.PathLike[str] = "."):
        import gradlint

        self.root = os.path.abspath(root)
        self.user_paths = tuple(os.path.abspath(p) for p in user_paths)
        self._gradlint = _package_dir(gradlint.__file__)
        self._pass_through = frozenset(os.path.join(self._gradlint, "trace", name) for name in _PASS_THROUGH)
        self._pass_through_files: dict[str, bool] = {}
        torch_file = getattr(sys.modules.get("torch"), "__file__", None)
        self._torch = _package_dir(torch_file) if torch_file else None
        self._libraries = _library_prefixes()
        overrides = sys.modules.get("torch.overrides")
        self._dispatch_code = overrides.handle_torch_function.__code__ if overrides else None
        self._categories = _FILE_CATEGORIES.setdefault(self.user_paths, {})
        self._paths = _DISPLAY_PATHS.setdefault(self.root, {})

    def category(self, code: CodeType) -> int:
        # By file name: a code object's hash is recomputed from its contents on every lookup.
        found = self._categories.get(code.co_filename)
        return self.category_of_file(code.co_filename) if found is None else found

    def category_of_file(self, filename: str) -> int:
        found = self._categories.get(filename)
        if found is None:
            found = self._categories[filename] = self._classify_path(filename)
        return found

    def _classify_path(self, filename: str) -> int:
        if filename.startswith("<"):
            return LIBRARY if filename.startswith("<frozen") else OTHER
        path = os.path.abspath(filename)
        if path.startswith(self._gradlint):
            return GRADLINT
        if self._torch and path.startswith(self._torch):
            return TORCH
        if any(part in ("site-packages", "dist-packages") for part in Path(path).parts):
            return LIBRARY
        if path.startswith(self._libraries):
            return LIBRARY
        if self.user_paths and not any(_is_within(path, base) for base in self.user_paths):
            return OTHER
        return USER

    def display_path(self, filename: str) -> str:
        shown = self._paths.get(filename)
        if shown is None:
            path = os.path.abspath(filename)
            shown = os.path.relpath(path, self.root) if _is_within(path, self.root) else path
            shown = self._paths[filename] = Path(shown).as_posix()
        return shown

    def filename(self, display_path: str) -> Optional[str]:
        """The file behind a display path produced by this map."""
        for filename, shown in self._paths.items():
            if shown == display_path:
                return filename
        return None

    def frame(self, frame: FrameType) -> Frame:
        code = frame.f_code
        return Frame(self.display_path(code.co_filename), frame.f_lineno, code.co_name)

    def entry(self, frame: Optional[FrameType], wrappers: tuple[str, ...] = ()) -> Optional[FrameType]:
        """The frame that called the operation being handled, or None when torch or gradlint itself called it.

        Skips gradlint's pass-through frames (the function modes and hooks, nested traces' included), torch's
        dispatch to a mode (``handle_torch_function`` and the API function that called it), and torch files
        named in ``wrappers`` (plumbing between the API and the operation, such as context managers).
        """
        while frame is not None:
            code = frame.f_code
            if self.category(code) == GRADLINT:
                if not self._passes_through(code.co_filename):
                    return None
            elif code is self._dispatch_code:
                frame = frame.f_back  # and then the API function that dispatched
            elif not (wrappers and code.co_filename.replace(os.sep, "/").endswith(wrappers)):
                break
            frame = frame.f_back if frame is not None else None
        if frame is None or self.category(frame.f_code) == TORCH:
            return None
        return frame

    def _passes_through(self, filename: str) -> bool:
        found = self._pass_through_files.get(filename)
        if found is None:
            found = self._pass_through_files[filename] = os.path.abspath(filename) in self._pass_through
        return found

    def user_frame(self, frame: Optional[FrameType]) -> Optional[FrameType]:
        """The first user frame from ``frame`` outward; failing that the first non-library one."""
        fallback = None
        while frame is not None:
            category = self.category(frame.f_code)
            if category == USER:
                return frame
            if category == OTHER and fallback is None:
                fallback = frame
            frame = frame.f_back
        return fallback

    def callers(self, frame: FrameType) -> list[FrameType]:
        """The user frames that called ``frame``'s function, innermost first, up to where gradlint called in."""
        found: list[FrameType] = []
        caller = frame.f_back
        while caller is not None and len(found) < MAX_CHAIN:
            category = self.category(caller.f_code)
            if category == GRADLINT:  # gradlint called into the traced program here
                break
            if category in (USER, OTHER):
                found.append(caller)
            caller = caller.f_back
        return found

    def chain(self, frame: FrameType) -> tuple[Frame, ...]:
        """``callers`` as ``Frame`` records."""
        return tuple(self.frame(caller) for caller in self.callers(frame))


def _is_within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)
