"""Qualified names from a file's imports, without libcst's (costly) QualifiedNameProvider.

Imports are collected once per file, wherever they appear; a name resolves to the dotted path it was
imported as (``np.cos`` -> ``numpy.cos``, ``F.softplus`` -> ``torch.nn.functional.softplus``, a relative
``from .crystal import Crystal`` -> ``braggsim.crystal.Crystal``).
"""

from __future__ import annotations

from typing import Dict, Optional

from gradlint import lazy_cst as cst


def top_level(qualname: str) -> str:
    """``torch`` for ``torch.nn.functional.relu``."""
    return qualname.split(".", 1)[0]


def dotted(node: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` for a chain of names and attributes, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


class ImportTable:
    """Local names bound by import statements, mapped to what they import."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.aliases: Dict[str, str] = {}

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                name = dotted(alias.name)
                if name is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.aliases[alias.asname.name.value] = name
                else:
                    top = name.split(".", 1)[0]
                    self.aliases[top] = top
            return
        base = self._from_module(node)
        if base is None or isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            if not isinstance(alias.name, cst.Name):
                continue
            local = alias.name.value
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{base}.{alias.name.value}" if base else alias.name.value

    def _from_module(self, node: cst.ImportFrom) -> Optional[str]:
        name = dotted(node.module) if node.module is not None else ""
        if name is None:
            return None
        if not node.relative:
            return name
        package = self.package.split(".") if self.package else []
        up = len(node.relative) - 1
        if up > len(package):
            return None
        base = ".".join(package[: len(package) - up])
        return f"{base}.{name}" if base and name else (base or name)

    def resolve(self, name: str) -> Optional[str]:
        """The qualified name of a dotted local name whose first part was imported, else None."""
        head, _, rest = name.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target
