"""Tensors kept beyond the computation that made them: memoised functions and objects, module-level caches,
``__init__``."""

from __future__ import annotations

import functools
from typing import FrozenSet, Optional

from gradlint import lazy_cst as cst
from gradlint.analysis import torch_api as api
from gradlint.analysis.imports import dotted
from gradlint.analysis.values import COMPUTATION, AttrUseMark
from gradlint.findings import Confidence
from gradlint.rules.base import GRADIENT_WORDS, Invalid, Rule, Valid
from gradlint.rules.syntax import walk

_MEMOISERS = frozenset({"functools.lru_cache", "functools.cache", "functools.cached_property"})


class CachedDifferentiableFunction(Rule):
    """`functools.lru_cache`, `cache` or `cached_property` on a function that returns differentiable tensors.

    What it does:
        Reports memoising decorators on functions and properties whose result is computed from differentiable
        inputs or attributes.

    Why it cuts gradients:
        The memoised tensor keeps the autograd graph of the first call. The next backward through it fails
        ("Trying to backward through the graph a second time"), and after an optimizer step changes the
        parameter in place the cached value is stale: the fit never sees the new parameter. `lru_cache` also
        hashes tensors by identity, so equal values miss the cache while the same tensor hits it.

    When it is fine:
        Caching values computed from constants or configuration (sizes, index grids, masks).
    """

    code = "GL080"
    name = "cached-differentiable-function"
    tokens = ("lru_cache", "cache")
    INVALID = [
        Invalid(
            """\
import functools
import torch

class Crystal:
    def __init__(self, cell: torch.Tensor) -> None:
        self.cell = cell

    @functools.cached_property
    def volume(self) -> torch.Tensor:
        return torch.prod(self.cell)
""",
            line=8,
            column=6,
            fixed="""\
import torch

class Crystal:
    def __init__(self, cell: torch.Tensor) -> None:
        self.cell = cell

    @property
    def volume(self) -> torch.Tensor:
        return torch.prod(self.cell)
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import functools
import torch

@functools.lru_cache(maxsize=None)
def pixel_grid(size: int) -> torch.Tensor:
    return torch.arange(size, dtype=torch.float64)
"""
        ),
    ]

    def on_function(self, node, returns, ctx):
        for decorator in node.decorators:
            expression = decorator.decorator
            name = ctx.qualname(expression.func if isinstance(expression, cst.Call) else expression)
            if name in _MEMOISERS:
                ctx.report(
                    self,
                    expression,
                    receiver=returns,
                    subject=node.name,
                    message="`{subject}` memoises a tensor with its autograd graph: the next backward fails, "
                    "and later parameter updates are never seen",
                    fix="compute `{subject}` on every call (or cache only values built from constants)",
                    use=COMPUTATION,
                )


class ModuleLevelTensorCache(Rule):
    """A differentiable tensor stored in a module-level container.

    What it does:
        Reports `CACHE[key] = t`, `CACHE.append(t)`, `CACHE.setdefault(key, t)` and the like, where `CACHE` is
        a dict, list or set bound at module level and `t` is computed from differentiable inputs.

    Why it cuts gradients:
        A tensor that outlives its forward pass keeps that pass's graph. Reused in the next iteration, its
        backward fails ("Trying to backward through the graph a second time"), or, where the graph holds no
        saved tensors, it silently keeps the parameter values of the first iteration.

    When it is fine:
        Caches of constants, shapes, index grids and detached results kept for reporting.
    """

    code = "GL081"
    name = "module-level-tensor-cache"
    tokens = GRADIENT_WORDS
    INVALID = [
        Invalid(
            """\
import torch

_ROTATIONS = {}

def rotation(angles: torch.Tensor, key: str) -> torch.Tensor:
    if key not in _ROTATIONS:
        _ROTATIONS[key] = torch.matrix_exp(angles)
    return _ROTATIONS[key]
""",
            line=7,
            column=9,
            fixed="""\
import torch

def rotation(angles: torch.Tensor, key: str) -> torch.Tensor:
    return torch.matrix_exp(angles)
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

_GRIDS = {}

def grid(size: int) -> torch.Tensor:
    if size not in _GRIDS:
        _GRIDS[size] = torch.arange(size)
    return _GRIDS[size]
"""
        ),
    ]

    def on_store(self, target, owner, value, source, ctx):
        if not isinstance(target, cst.Subscript) or not ctx.is_module_container(target.value):
            return None
        return self._report(target, target.value, value, ctx)

    def on_call(self, site, ctx):
        if site.method not in api.CONTAINER_STORES or not site.args:
            return None
        container = site.node.func.value
        if not ctx.is_module_container(container):
            return None
        return self._report(site.node, container, site.args[-1], ctx)

    def _report(self, node, container, value, ctx):
        ctx.report(
            self,
            node,
            receiver=ctx.precut(value) if not value.is_constant() else value.sym,
            subject=container,
            message="storing a differentiable tensor in the module-level `{subject}` keeps its graph alive "
            "across iterations",
            fix="recompute the value in each forward pass, or cache only constants",
            use=COMPUTATION,
        )
        return None


class DerivedTensorInInit(Rule):
    """A tensor computed in `__init__` from differentiable inputs and kept on `self`.

    What it does:
        Reports `self.x = <computation>` in `__init__` where the computation depends on differentiable
        inputs or attributes (parameters, tensor-annotated arguments and configuration fields).

    Why it cuts gradients:
        The derived tensor is computed once, with the graph of that moment, and every later forward pass
        reuses it: the second backward through it fails, and after an optimizer step updates the parameter
        in place, the derived value still holds the old one. The fit silently stops seeing the parameter.

    When it is fine:
        Storing the inputs themselves (`self.cell_a = config.cell_a`), derived values of constants, and
        modules or containers of parameters (a `ModuleList` of copied layers, `dict(named_parameters())`):
        they hold the leaves, which optimizers update in place. Compute derived quantities in a method or
        property, so that each forward pass builds them anew.
    """

    code = "GL082"
    name = "derived-tensor-in-init"
    tokens = GRADIENT_WORDS
    INVALID = [
        Invalid(
            """\
import torch

class Detector(torch.nn.Module):
    def __init__(self, distance: float) -> None:
        super().__init__()
        self.distance = torch.nn.Parameter(torch.tensor(distance))
        self.inverse_distance = 1.0 / self.distance

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels * self.inverse_distance
""",
            line=7,
            column=9,
            confidence=Confidence.HIGH,
            fixed="""\
import torch

class Detector(torch.nn.Module):
    def __init__(self, distance: float) -> None:
        super().__init__()
        self.distance = torch.nn.Parameter(torch.tensor(distance))

    @property
    def inverse_distance(self) -> torch.Tensor:
        return 1.0 / self.distance

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels * self.inverse_distance
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import copy
import torch

class Ensemble(torch.nn.Module):
    def __init__(self, layer: torch.nn.Module, count: int) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList()
        for _ in range(count):
            self.layers.append(copy.deepcopy(layer))
        self.shared = dict(layer.named_parameters())
"""
        ),
    ]

    def on_store(self, target, owner, value, source, ctx):
        function = ctx.function
        if not isinstance(target, cst.Attribute) or not function.is_init or owner.cls != function.cls:
            return None
        if not value.derived or value.module_instance:
            return None
        mark = ctx.report(
            self,
            target,
            receiver=value.sym,
            subject=target,
            message="`{subject}` is computed once in `__init__` from differentiable inputs: later forward passes "
            "reuse its old graph and never see parameter updates",
            fix="compute it in a method or property, so that every forward pass builds it anew",
        )
        ctx.judged_by(mark, AttrUseMark(owner.cls, target.attr.value))  # as much as the attribute is used
        return None


class MemoisedTensor(Rule):
    """A differentiable tensor memoised on an object: filed under a key in one of its containers and handed back
    from there on later calls.

    What it does:
        Reports `self.cache[key] = t` in a method that also returns `self.cache[...]` (the memo's look-up),
        where `t` is computed from differentiable inputs or parameters.

    Why it cuts gradients:
        The first call's tensor keeps the first call's graph. Handed back on a later call, after an optimizer
        step, it holds the old parameter values and a graph that the first backward already freed: the
        parameters get no fresh gradient (or the backward fails with "Trying to backward through the graph a
        second time").

    When it is fine:
        Memos of constants (index grids, positions built from integers) and of values computed without
        gradient, and memos the code clears whenever the parameters change.
    """

    code = "GL083"
    name = "memoised-tensor"
    tokens = GRADIENT_WORDS
    INVALID = [
        Invalid(
            """\
import torch

class Rotary(torch.nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.freqs = torch.nn.Parameter(torch.ones(dim))
        self.cache = {}

    def forward(self, t: torch.Tensor, key: int) -> torch.Tensor:
        if key in self.cache:
            return self.cache[key]
        freqs = t[:, None] * self.freqs
        self.cache[key] = freqs
        return freqs
""",
            line=13,
            column=9,
            confidence=Confidence.HIGH,
            fixed="""\
import torch

class Rotary(torch.nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.freqs = torch.nn.Parameter(torch.ones(dim))
        self.cache = {}

    def forward(self, t: torch.Tensor, key: int) -> torch.Tensor:
        freqs = t[:, None] * self.freqs
        return freqs
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

class Positions(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cache = {}

    def grid(self, n: int) -> torch.Tensor:
        if n in self.cache:
            return self.cache[n]
        grid = torch.arange(n).float() / n
        self.cache[n] = grid
        return grid
"""
        ),
    ]

    def on_store(self, target, owner, value, source, ctx):
        function = ctx.function
        if (
            not isinstance(target, cst.Subscript)
            or function.node is None
            or function.is_init
            or not isinstance(target.value, cst.Attribute)
            or not _hands_back(function.node, target.value)
        ):
            return None
        ctx.report(
            self,
            target,
            receiver=ctx.precut(value) if not value.is_constant() else value.sym,
            subject=target.value,
            message="a differentiable tensor memoised in `{subject}` is handed back on later calls with its old "
            "graph and old parameter values",
            fix="compute the value on every call, or memoise only values computed without gradient",
            use=COMPUTATION,
        )
        return None


def _hands_back(function: cst.FunctionDef, container: cst.Attribute) -> bool:
    """Whether ``function`` returns an item of ``container`` (the same attribute path): a memo's look-up."""
    return dotted(container) in _returned_item_paths(function)


@functools.lru_cache(maxsize=2)  # the functions being interpreted; no older tree kept alive
def _returned_item_paths(function: cst.FunctionDef) -> FrozenSet[Optional[str]]:
    """The paths of the containers whose items ``function`` returns (``return self.cache[n]``)."""
    return frozenset(
        dotted(node.value.value)
        for node in walk(function.body)
        if isinstance(node, cst.Return) and isinstance(node.value, cst.Subscript)
    )
