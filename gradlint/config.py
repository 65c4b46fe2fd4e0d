"""Settings from ``[tool.gradlint]`` in ``pyproject.toml``, overridden by the command line.

The file is the one named with ``--config``, or else the first ``pyproject.toml`` holding a
``[tool.gradlint]`` table found walking up from the first checked path (or the working directory), not
looking above a folder that contains ``.git``. Its folder is the project root: finding paths are relative to
it and the default cache lives there. Without a file the root is the working directory.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from gradlint import project
from gradlint.engine import Bounds, CheckOptions
from gradlint.findings import Confidence
from gradlint.suppressions import UNUSED_SUPPRESSION_CODE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older interpreters only
    import tomli as tomllib

CONFIG_FILE_NAME = "pyproject.toml"
DEFAULT_CACHE_DIR = ".gradlint_cache"
STDIN_PATH = "-"
# The selector for every code (ruff's convention), the same as the prefix "GL".
ALL_SELECTOR = "ALL"
_SELECTOR = re.compile(r"GL[0-9]{0,3}")
# More processes than this is a mistake (each one holds a parsed file), not a wish.
MAX_JOBS = 256


class ConfigError(Exception):
    """A configuration or command-line mistake the user can fix."""


@dataclass(frozen=True)
class FileConfig:
    """The checked ``[tool.gradlint]`` table; None: the key is absent."""

    source: Path | None = None
    paths: tuple[str, ...] | None = None
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] | None = None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    extend_ignore: tuple[str, ...] | None = None
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    confidence: str | None = None
    jobs: int | None = None
    cache_dir: str | None = None
    evidence: tuple[str, ...] | None = None
    # The bounds (``Bounds``' fields).
    max_file_size: int | None = None
    max_nodes: int | None = None
    max_nesting: int | None = None
    max_work: int | None = None
    max_memory: int | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class Overrides:
    """What the command line says; None: not given there."""

    paths: tuple[str, ...] = ()
    config_file: Path | None = None
    stdin_filename: str | None = None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] | None = None
    extend_ignore: tuple[str, ...] = ()
    confidence: str | None = None
    jobs: int | None = None
    cache_dir: Path | None = None
    no_cache: bool = False
    report_unused_ignores: bool = False
    no_context: bool = False


@dataclass(frozen=True)
class Settings:
    options: CheckOptions
    paths: tuple[Path, ...]  # existing files and folders; empty when reading standard input
    config_file: Path | None
    context: tuple[Path, ...] = ()  # analysed with the paths, not reported (see gradlint.project)


def load_settings(overrides: Overrides, cwd: Path) -> Settings:
    _check_stdin_usage(overrides)
    given = tuple(Path(path) for path in overrides.paths if path != STDIN_PATH)
    _check_exist(given, cwd, origin="")
    file_config = _load_file_config(overrides, cwd)
    root = file_config.source.parent if file_config.source else cwd
    select, ignore, report_unused = _selection(overrides, file_config)
    options = CheckOptions(
        root=root,
        select=select,
        ignore=ignore,
        per_file_ignores=tuple(
            (glob, frozenset(_codes(codes, f"per-file-ignores {glob!r} in {file_config.source}")))
            for glob, codes in file_config.per_file_ignores or ()
        ),
        confidence=Confidence.from_label(_first(overrides.confidence, file_config.confidence, "medium")),
        exclude=file_config.exclude or (),
        extend_exclude=file_config.extend_exclude or (),
        jobs=_first(overrides.jobs, file_config.jobs, 0),
        cache_dir=_cache_dir(overrides, file_config, root, cwd),
        report_unused_ignores=report_unused,
        bounds=Bounds(
            **{
                field.name: getattr(file_config, field.name)
                for field in dataclasses.fields(Bounds)
                if getattr(file_config, field.name) is not None
            }
        ),
    )
    context = () if overrides.no_context else _context(overrides, file_config, cwd)
    return Settings(
        options=options,
        paths=_paths(overrides, given, file_config, cwd),
        config_file=file_config.source,
        context=context,
    )


def split_codes(values: Sequence[str]) -> tuple[str, ...]:
    """``("GL001,GL010", "GL01")`` -> ``("GL001", "GL010", "GL01")``."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def known_codes() -> frozenset[str]:
    from gradlint.rules import RULES_BY_CODE

    return frozenset(RULES_BY_CODE)


def find_config_file(start: Path) -> tuple[Path, object] | None:
    """The nearest ``pyproject.toml`` with a ``[tool.gradlint]`` table at or above ``start``, with that table."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate_folder in (folder, *folder.parents):
        candidate = candidate_folder / CONFIG_FILE_NAME
        if candidate.is_file():
            table = _gradlint_table(_read_toml(candidate))
            if table is not None:
                return candidate, table
        if (candidate_folder / ".git").exists():
            return None
    return None


def _load_file_config(overrides: Overrides, cwd: Path) -> FileConfig:
    if overrides.config_file is not None:
        source = cwd / overrides.config_file
        table = _gradlint_table(_read_toml(source))
        if table is None:
            raise ConfigError(f"{source}: no [tool.gradlint] table")
        return parse_table(table, source.resolve())
    found = find_config_file(_search_start(overrides, cwd))
    return parse_table(found[1], found[0]) if found else FileConfig()


def _search_start(overrides: Overrides, cwd: Path) -> Path:
    for path in overrides.paths:
        if path != STDIN_PATH:
            return cwd / path
    if overrides.stdin_filename:
        return (cwd / overrides.stdin_filename).parent
    return cwd


def _gradlint_table(document: Mapping[str, Any]) -> object | None:
    tool = document.get("tool")
    return tool.get("gradlint") if isinstance(tool, dict) else None


def _read_toml(path: Path) -> Mapping[str, Any]:
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the file ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None


def parse_table(table: object, source: Path) -> FileConfig:
    """Check the ``[tool.gradlint]`` table of ``source``: every key known, every value of the right type."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.gradlint] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{source}: unknown key {key!r} in [tool.gradlint] (known keys: {known})")
        attribute, convert = _KEYS[key]
        try:
            values[attribute] = convert(value)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{source}: [tool.gradlint] {key}: {error}") from None
    return FileConfig(source=source, **values)


def _string_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"expected a list of strings, got {_describe(value)}")
    return tuple(value)


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {_describe(value)}")
    return value


def _confidence(value: object) -> str:
    label = _string(value)
    Confidence.from_label(label)
    return label


def _whole_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {_describe(value)}")
    return value


def _jobs(value: object) -> int:
    number = _whole_number(value)
    if not 0 <= number <= MAX_JOBS:
        raise ValueError(f"expected 0 (one per core) to {MAX_JOBS}, got {value}")
    return number


def _positive(value: object) -> int:
    number = _whole_number(value)
    if number < 1:
        raise ValueError(f"expected 1 or more, got {value}")
    return number


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number of seconds, got {_describe(value)}")
    if not 0 < value < float("inf"):
        raise ValueError(f"expected a positive number of seconds, got {value}")
    return float(value)


def _per_file_ignores(value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise TypeError(f"expected a table of glob = [codes], got {_describe(value)}")
    result = []
    for glob, codes in value.items():
        try:
            result.append((glob, _string_list(codes)))
        except TypeError as error:
            raise TypeError(f"{glob!r}: {error}") from None
    return tuple(result)


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


_KEYS: dict[str, tuple[str, Callable[[object], Any]]] = {
    "paths": ("paths", _string_list),
    "exclude": ("exclude", _string_list),
    "extend-exclude": ("extend_exclude", _string_list),
    "select": ("select", _string_list),
    "extend-select": ("extend_select", _string_list),
    "ignore": ("ignore", _string_list),
    "extend-ignore": ("extend_ignore", _string_list),
    "per-file-ignores": ("per_file_ignores", _per_file_ignores),
    "confidence": ("confidence", _confidence),
    "jobs": ("jobs", _jobs),
    "cache-dir": ("cache_dir", _string),
    "evidence": ("evidence", _string_list),
    "max-file-size": ("max_file_size", _positive),
    "max-nodes": ("max_nodes", _positive),
    "max-nesting": ("max_nesting", _positive),
    "max-work": ("max_work", _positive),
    "max-memory": ("max_memory", _positive),
    "timeout": ("timeout", _seconds),
}


def _context(overrides: Overrides, file_config: FileConfig, cwd: Path) -> tuple[Path, ...]:
    """The rest of the project: its configured paths (or its whole root) and its evidence."""
    if file_config.source is not None:
        folder = file_config.source.parent
        sources = tuple(folder / path for path in file_config.paths) if file_config.paths else (folder,)
        return project.context_paths(folder, sources, file_config.evidence)
    root = project.find_root(_search_start(overrides, cwd))
    return project.context_paths(root, (root,) if root is not None else (), file_config.evidence)


def _check_stdin_usage(overrides: Overrides) -> None:
    if STDIN_PATH in overrides.paths:
        if len(overrides.paths) > 1:
            raise ConfigError("'-' (standard input) cannot be combined with other paths")
    elif overrides.stdin_filename is not None:
        raise ConfigError("--stdin-filename needs '-' among the paths")


def _paths(overrides: Overrides, given: tuple[Path, ...], file_config: FileConfig, cwd: Path) -> tuple[Path, ...]:
    if overrides.paths:
        return given
    if file_config.paths and file_config.source:
        configured = tuple(file_config.source.parent / path for path in file_config.paths)
        _check_exist(configured, cwd, origin=f" (configured in {file_config.source})")
        return configured
    return (Path("."),)


def _check_exist(paths: Sequence[Path], cwd: Path, origin: str) -> None:
    for path in paths:
        if not (cwd / path).exists():
            raise ConfigError(f"path does not exist: {path}{origin}")
        if not ((cwd / path).is_file() or (cwd / path).is_dir()):
            raise ConfigError(f"not a file or folder: {path}{origin} (to check standard input, give '-')")


def _cache_dir(overrides: Overrides, file_config: FileConfig, root: Path, cwd: Path) -> Path | None:
    if overrides.no_cache:
        return None
    if overrides.cache_dir is not None:
        return cwd / overrides.cache_dir
    return root / (file_config.cache_dir or DEFAULT_CACHE_DIR)


def _selection(overrides: Overrides, file_config: FileConfig) -> tuple[frozenset | None, frozenset, bool]:
    """The selected and ignored codes or prefixes (None: every code), and whether unused suppressions are reported.

    ``select`` and ``ignore`` on the command line replace the file's; ``extend-select`` and ``extend-ignore``
    from both add to them. An ignored code is never reported. GL900 is reported when it is selected by name or
    prefix (not merely by selecting nothing) or with ``--report-unused-ignores``.
    """
    in_file = f"in {file_config.source}"
    select: tuple[str, ...] | None = None
    if overrides.select is not None:
        select, origin = _codes(overrides.select, "--select"), "--select"
    elif file_config.select is not None:
        select, origin = _codes(file_config.select, f"select {in_file}"), f"select {in_file}"
    extend_select = (
        *_codes(file_config.extend_select or (), f"extend-select {in_file}"),
        *_codes(overrides.extend_select, "--extend-select"),
    )
    if select is not None and not select and not extend_select:  # an unset shell variable, an empty list
        raise ConfigError(
            f"{origin} names no rule, which would report nothing: name codes or prefixes "
            "(GL010, GL01, ALL), or leave it out to report every rule"
        )
    if overrides.ignore is not None:
        ignore = _codes(overrides.ignore, "--ignore")
    else:
        ignore = _codes(file_config.ignore or (), f"ignore {in_file}")
    ignore += (
        *_codes(file_config.extend_ignore or (), f"extend-ignore {in_file}"),
        *_codes(overrides.extend_ignore, "--extend-ignore"),
    )
    chosen = (*(select or ()), *extend_select)
    unused_selected = any(UNUSED_SUPPRESSION_CODE.startswith(prefix) for prefix in chosen)
    report_unused = overrides.report_unused_ignores or unused_selected
    if select is not None:
        select = (*select, *extend_select)
        if report_unused and not unused_selected:
            select += (UNUSED_SUPPRESSION_CODE,)
    if any(UNUSED_SUPPRESSION_CODE.startswith(prefix) for prefix in ignore):
        report_unused = False
    return (None if select is None else frozenset(select)), frozenset(ignore), report_unused


def _codes(selectors: Sequence[str], origin: str) -> tuple[str, ...]:
    """Check rule codes and prefixes (``ALL`` is every code) and return them in upper case."""
    if not selectors:
        return ()
    known = known_codes()
    codes = []
    for selector in selectors:
        code = selector.strip().upper()
        if code == ALL_SELECTOR:
            code = "GL"
        if not (_SELECTOR.fullmatch(code) and any(candidate.startswith(code) for candidate in known)):
            raise ConfigError(f"unknown rule code {selector!r} in {origin}")
        codes.append(code)
    return tuple(codes)


def _first(*candidates: Any) -> Any:
    """The first candidate that is not None (the last one is the default)."""
    return next((candidate for candidate in candidates if candidate is not None), candidates[-1])
