"""One module identity per file, so that no file's facts replace another's.

A file's facts name its definitions and what it imports by dotted module names, as Python would import them.
Files in folders without ``__init__.py`` (experiment, script and test folders) often share a name:
``a/model.py`` and ``b/model.py`` are both ``model``. Python tells them apart by where the importing script
lives; so does this module. A file's *import root* is the folder its top-level package or module sits in
(``a`` for ``a/model.py``, ``src`` for ``src/pkg/sub/mod.py``). When a top-level name belongs to files of more
than one root, every name under it is qualified with its root in the facts of each file of those roots:
``a/train.py``'s ``from model import Net`` then finds ``a/model.py``'s class. Of two files of one root with one
module name (``model.py`` and ``model.pyi``), the one Python would not import gets a name of its own. A file of
another root that imports such a name cannot know which one it would get, and sees code it cannot see. Names
that no two roots share stay as they are, so a run over one folder and a run over many see the same program.
"""

from __future__ import annotations

import dataclasses
from typing import AbstractSet, Callable, Dict, List, Sequence, Tuple, TypeVar

from gradlint.analysis.facts import ModuleFacts
from gradlint.analysis.nested import rebuilt

# Fields of the facts' references and marks (ParamRef.function, AttrRef.cls, GlobalRef.module...) that hold a
# qualified name.
QUALIFIED_FIELDS = frozenset({"function", "cls", "module"})

_Item = TypeVar("_Item")


def distinct_modules(facts: Sequence[ModuleFacts], files: Sequence[Tuple[str, str]] = ()) -> List[ModuleFacts]:
    """``facts`` with every module name unique, and the references between them resolved root by root.

    ``files`` are the (path, module name) of every file checked, also those without facts (which a run does not
    analyse when they mention nothing the rules look for): a script importing its sibling ``model`` must not get
    another folder's ``model`` because its own had nothing to say.
    """
    claims = sorted({(module.path, module.module) for module in facts} | set(files))
    roots = {path: import_root(path, module) for path, module in claims}
    holders: Dict[str, Dict[str, List[Tuple[str, str]]]] = {}  # top-level name -> root -> its (path, module)s
    for path, module in claims:
        holders.setdefault(_top(module), {}).setdefault(roots[path], []).append((path, module))
    # A name that several roots hold is qualified with its root everywhere in their files; of twins (two files
    # of one root with one module name), only the one Python would not import is set apart.
    shared = {name for name, by_root in holders.items() if len(by_root) > 1}
    tags: Dict[Tuple[str, str], str] = {}  # (shared top-level name, root) -> the name that stands for it there
    own_tags: Dict[str, str] = {}  # path of a file Python would not import, of two with one module name in one root
    for name, by_root in sorted(holders.items()):
        for root, files_there in sorted(by_root.items()):
            tag = name
            if name in shared:
                tag = tags[(name, root)] = f"{name}@{len(tags)}"
            twins: Dict[str, List[str]] = {}
            for path, module in files_there:
                twins.setdefault(module, []).append(path)
            for paths in twins.values():
                imported = min(paths, key=_import_preference)
                own_tags.update((path, f"{tag}~{number}") for number, path in enumerate(paths) if path != imported)
    if not shared and not own_tags:
        return list(facts)
    result = []
    for file_facts in facts:
        root = roots[file_facts.path]
        own_tag = own_tags.get(file_facts.path)
        if own_tag is not None or any((name, root) in tags for name in shared):
            file_facts = _renamed(file_facts, _renamer(file_facts.module, root, shared, tags, own_tag))
        result.append(file_facts)
    return result


def import_root(path: str, module: str) -> str:
    """The folder (as a path like ``path``, "" for the top) that ``module`` is imported from."""
    folders = path.replace("\\", "/").split("/")[:-1]
    depth = module.count(".") + (1 if path.endswith(("__init__.py", "__init__.pyi")) else 0)
    return "/".join(folders[: len(folders) - depth] if depth else folders)


def _top(qualname: str) -> str:
    return qualname.split(".", 1)[0]


def _import_preference(path: str) -> Tuple[int, str]:
    """Of files with one module name in one folder, Python imports a package first, then a module; a stub never."""
    if path.endswith(("__init__.py", "__init__.pyi")):
        rank = 0
    elif path.endswith(".py"):
        rank = 1
    else:
        rank = 2
    return rank, path


def _renamer(
    own_module: str, root: str, shared: AbstractSet[str], tags: Dict[Tuple[str, str], str], own_tag: str | None
) -> Callable[[str], str]:
    def rename(qualname: str) -> str:
        top, dot, rest = qualname.partition(".")
        if own_tag is not None and (qualname == own_module or qualname.startswith(own_module + ".")):
            return own_tag + qualname[len(top) :]
        if top not in shared:
            return qualname
        tag = tags.get((top, root))
        return tag + dot + rest if tag is not None else qualname

    return rename


def _renamed(module: ModuleFacts, rename: Callable[[str], str]) -> ModuleFacts:
    """A copy of ``module`` with every qualified name passed through ``rename``."""
    walker = _Rewriter(rename)
    return dataclasses.replace(
        module,
        module=rename(module.module),
        aliases={local: rename(target) for local, target in module.aliases.items()},
        functions={rename(name): walker.value(function) for name, function in module.functions.items()},
        classes={
            rename(name): dataclasses.replace(info, bases=tuple(map(rename, info.bases)))
            for name, info in module.classes.items()
        },
        equations=[walker.value(equation) for equation in module.equations],
        calls=[walker.value(call) for call in module.calls],
        uses={walker.value(mark): walker.value(fact) for mark, fact in module.uses.items()},
        candidates=[walker.value(candidate) for candidate in module.candidates],
    )


class _Rewriter:
    """Rebuilds nested facts (dataclasses, tuples, frozensets) with renamed qualified names, without recursion,
    sharing what is shared in the original and keeping what needs no change."""

    def __init__(self, rename: Callable[[str], str]) -> None:
        self.rename = rename
        self.done: Dict[int, Tuple[object, object]] = {}  # id -> (original, rebuilt); the original keeps the id

    def value(self, item: _Item) -> _Item:
        return rebuilt(item, _parts, self._rebuilt, self.done)

    def _rebuilt(self, item: object) -> object:
        if isinstance(item, (tuple, frozenset)):
            parts = [self.done[id(part)][1] for part in item]
            changed = any(new is not old for new, old in zip(parts, item))
            return type(item)(parts) if changed else item
        if not dataclasses.is_dataclass(item) or isinstance(item, type):
            return item
        changes = {}
        for field in dataclasses.fields(item):
            old = getattr(item, field.name)
            new = self.rename(old) if field.name in QUALIFIED_FIELDS and isinstance(old, str) else self.done[id(old)][1]
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(item, **changes) if changes else item


def _parts(item: object) -> Tuple[object, ...]:
    """What ``item`` is made of, where a qualified name may hide; () for what holds none."""
    if isinstance(item, (tuple, frozenset)):
        return tuple(item)
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return tuple(getattr(item, field.name) for field in dataclasses.fields(item))
    return ()
