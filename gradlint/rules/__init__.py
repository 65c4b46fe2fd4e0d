"""The rule catalogue: one module per family, one small class per rule."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Type

from gradlint.rules import (
    branching,
    caching,
    casts,
    construct,
    data_attr,
    detach,
    distributed,
    fills,
    functions,
    grad_mode,
    numpy,
    ranges,
    requires_grad,
    sampling,
    scalars,
    zero_gradient,
)
from gradlint.rules.base import Rule
from gradlint.rules.builtin import UnparsableFile, UnusedSuppression

FAMILIES = (
    detach,
    scalars,
    data_attr,
    numpy,
    construct,
    ranges,
    grad_mode,
    casts,
    caching,
    fills,
    branching,
    requires_grad,
    zero_gradient,
    sampling,
    distributed,
    functions,
)

ALL_RULES: Tuple[Type[Rule], ...] = tuple(
    sorted(
        (
            value
            for family in FAMILIES
            for value in vars(family).values()
            if isinstance(value, type)
            and issubclass(value, Rule)
            and value is not Rule
            and value.__module__ == family.__name__
        ),
        key=lambda rule: rule.code,
    )
)
# Every code gradlint reports: the rules of the analysis and the checker's own (GL000, GL900).
CATALOGUE: Tuple[Type[Rule], ...] = tuple(
    sorted((*ALL_RULES, UnparsableFile, UnusedSuppression), key=lambda rule: rule.code)
)
RULES_BY_CODE: Dict[str, Type[Rule]] = {rule.code: rule for rule in CATALOGUE}

_INSTANCES: List[Rule] = []


def rule_instances() -> List[Rule]:
    """One instance of every rule, shared by all files of a process."""
    if not _INSTANCES:
        _INSTANCES.extend(rule() for rule in ALL_RULES)
    return _INSTANCES


def find_rule(code_or_name: str) -> Optional[Type[Rule]]:
    """The rule with this code (any case) or name, such as ``GL010`` or ``item-on-path``."""
    wanted = code_or_name.strip()
    return RULES_BY_CODE.get(wanted.upper()) or next((rule for rule in CATALOGUE if rule.name == wanted.lower()), None)


def family_of(rule: Type[Rule]) -> str:
    return rule.__module__.rsplit(".", 1)[-1]
