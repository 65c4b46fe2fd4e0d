"""Python numbers from tensors: ``.item()``, ``.tolist()``, ``float()``/``int()``/``complex()``, ``math.*``."""

from __future__ import annotations

from gradlint.analysis import torch_api as api
from gradlint.findings import Confidence
from gradlint.fixes.scalars import KeepTensor
from gradlint.fixes.twins import MathTwin
from gradlint.rules.base import Invalid, Rule, TensorMethodRule, Valid

# Where a number taken from a tensor is only recorded, the conversion is right; keeping the tensor would keep
# every step's graph alive.
RECORDED = (
    "to record or log the value, this is the right form (take it after `backward()`: it keeps no graph); "
    "to compute with it, keep the tensor"
)


class ItemOnDifferentiable(TensorMethodRule):
    """`.item()` on a value that carries a gradient.

    What it does:
        Reports `.item()` on a tensor computed from differentiable inputs when the Python number it returns
        goes back into computation, is returned, or is stored.

    Why it cuts gradients:
        `.item()` copies a one-element tensor into a Python `float` or `int`. Python numbers have no autograd
        history: whatever is computed from the number is a constant, so the parameters behind the tensor get
        no gradient along this path. Unlike `float(t)`, `.item()` does not even warn. On a GPU it also
        synchronises the device.

    When it is fine:
        Logging, printing, progress bars, early-stopping checks and other uses that only look at the value
        (reported at low confidence, hidden by default).
    """

    code = "GL010"
    name = "item-on-differentiable"
    tokens = (".item(",)
    stored_confidence = Confidence.LOW  # a number kept is a record
    methods = frozenset({"item"})
    autofix = KeepTensor()
    message = "`.item()` turns `{subject}` into a Python number: its gradient stops here"
    fix = "keep the tensor: use `{subject}` (a 0-dim tensor broadcasts like a number)"
    kept_fix = RECORDED
    INVALID = [
        Invalid(
            """\
import torch

def reciprocal_a(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    volume = torch.dot(a, torch.cross(b, c, dim=0))
    return torch.cross(b, c, dim=0) / volume.item()
""",
            line=5,
            column=39,
            fixed="""\
import torch

def reciprocal_a(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    volume = torch.dot(a, torch.cross(b, c, dim=0))
    return torch.cross(b, c, dim=0) / volume
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import logging
import torch

def train_step(model: torch.nn.Module, x: torch.Tensor, history: list) -> torch.Tensor:
    loss = model(x).square().mean()
    logging.info("loss %.4f", loss.item())
    history.append(loss.item())
    return loss
"""
        ),
        Valid(
            """\
import torch

def train(model: torch.nn.Module, batches: list, optimizer: torch.optim.Optimizer, meter) -> list:
    history = []
    for x in batches:
        loss = model(x).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        meter.update(loss.item())
    return history
"""
        ),
        Valid(
            """\
import torch
from typing import Union

def check(computed: torch.Tensor, expected: Union[float, torch.Tensor], tolerance: float) -> tuple:
    error = abs(computed - expected)
    details = {
        "computed": computed.item(),
        "expected": expected.item() if isinstance(expected, torch.Tensor) else expected,
        "error": error.item(),
    }
    return bool(error < tolerance), details
"""
        ),
    ]


class TolistOnDifferentiable(TensorMethodRule):
    """`.tolist()` on a value that carries a gradient.

    What it does:
        Reports `.tolist()` on a tensor computed from differentiable inputs when the list goes back into
        computation, is returned, or is stored.

    Why it cuts gradients:
        `.tolist()` copies the tensor into nested Python lists of numbers, which have no autograd history.
        Rebuilding a tensor from the list (`torch.tensor(values)`) gives a constant: the parameters behind the
        original tensor receive no gradient through it.

    When it is fine:
        Serialising results, logging, and building plots or reports (reported at low confidence, hidden by
        default).
    """

    code = "GL011"
    name = "tolist-on-differentiable"
    tokens = (".tolist(",)
    stored_confidence = Confidence.LOW  # a number kept is a record
    methods = frozenset({"tolist"})
    message = "`.tolist()` turns `{subject}` into Python numbers: its gradient stops here"
    fix = "keep the tensor and index it (`{subject}[0]`), or unpack with `.unbind()`"
    kept_fix = RECORDED
    INVALID = [
        Invalid(
            """\
import torch

def centre(positions: torch.Tensor) -> torch.Tensor:
    x, y = positions.mean(dim=0).tolist()
    return torch.stack([positions[:, 0] - x, positions[:, 1] - y])
""",
            line=4,
            column=12,
            fixed="""\
import torch

def centre(positions: torch.Tensor) -> torch.Tensor:
    x, y = positions.mean(dim=0).unbind()
    return torch.stack([positions[:, 0] - x, positions[:, 1] - y])
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import json
import torch

def save(positions: torch.Tensor, path: str) -> None:
    with open(path, "w") as handle:
        json.dump(positions.mean(dim=0).tolist(), handle)
"""
        ),
    ]


class PythonScalarOfTensor(Rule):
    """`float()` or `complex()` of a value that carries a gradient.

    What it does:
        Reports `float(t)` and `complex(t)` where `t` is computed from differentiable inputs and the number
        goes back into computation, is returned, or is stored.

    Why it cuts gradients:
        The conversion calls `Tensor.__float__` (or `__complex__`), which returns a plain Python number with
        no autograd history. A value computed from it is a constant to autograd. PyTorch warns about this only
        in some cases; the gradient is lost silently in the rest.

    When it is fine:
        Numbers only logged or printed (reported at low confidence, hidden by default). `int(t)` and
        `round(t)` are not reported: a whole number is a step, whose gradient is zero wherever it exists, so
        nothing differentiable is lost by the conversion itself (a count, a size, an index).
    """

    code = "GL012"
    name = "python-scalar-of-tensor"
    tokens = ("float(", "complex(")
    kept_fix = RECORDED
    autofix = KeepTensor()
    stored_confidence = Confidence.LOW  # a number kept is a record
    INVALID = [
        Invalid(
            """\
import torch

def wavenumber(wavelength: torch.Tensor) -> torch.Tensor:
    return 2 * torch.pi / torch.as_tensor(float(wavelength))
""",
            line=4,
            column=43,
            fixed="""\
import torch

def wavenumber(wavelength: torch.Tensor) -> torch.Tensor:
    return 2 * torch.pi / wavelength
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch

def pad(image: torch.Tensor, border: torch.Tensor) -> torch.Tensor:
    width = int(border)
    return torch.nn.functional.pad(image, (width, width))
"""
        ),
    ]

    def on_call(self, site, ctx):
        if site.callee not in api.PYTHON_SCALARS or site.callee in api.INTEGER_CONVERSIONS or len(site.args) != 1:
            return None
        mark = ctx.report(
            self,
            site.node,
            receiver=site.args[0].sym,
            subject=site.node.args[0].value,
            message=f"`{site.callee}()` turns `{{subject}}` into a Python number: its gradient stops here",
            fix="keep the tensor: use `{subject}` directly, or `.to(dtype)` to change its type",
        )
        return self.with_fix(mark, ctx, site)


class MathOnTensor(Rule):
    """A `math` or `cmath` function applied to a value that carries a gradient.

    What it does:
        Reports calls such as `math.cos(t)`, `math.radians(t)` or `math.sqrt(t)` where `t` is computed from
        differentiable inputs.

    Why it cuts gradients:
        The `math` module works on Python floats: it silently converts the tensor with `Tensor.__float__` and
        returns a float with no autograd history. The code looks right and runs, but the parameters behind
        `t` get no gradient through the call.

    When it is fine:
        `math` on plain Python numbers (configuration values, constants). For tensors, `torch` has the same
        functions (`torch.cos`, `torch.deg2rad`, `torch.sqrt`). The functions that return whole numbers
        (`math.floor`, `math.ceil`, `math.trunc`) are steps, whose gradient is zero anyway: counts and sizes,
        not reported.
    """

    code = "GL013"
    name = "math-on-tensor"
    tokens = ("math",)
    autofix = MathTwin()
    stored_confidence = Confidence.LOW  # a number kept is a record
    INVALID = [
        Invalid(
            """\
import math
import torch

def polarization(two_theta: torch.Tensor) -> torch.Tensor:
    cos2 = math.cos(two_theta) ** 2
    return 0.5 * (1 + cos2) * torch.ones_like(two_theta)
""",
            line=5,
            column=12,
            fixed="""\
import math
import torch

def polarization(two_theta: torch.Tensor) -> torch.Tensor:
    cos2 = torch.cos(two_theta) ** 2
    return 0.5 * (1 + cos2) * torch.ones_like(two_theta)
""",
        ),
        Invalid(
            """\
import math
import torch

def cell_angle(alpha: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return b * math.cos(math.radians(alpha))
""",
            line=5,
            column=25,
        ),
    ]
    VALID = [
        Valid(
            """\
import math
import torch

def polarization(two_theta: torch.Tensor, kahn: float = 0.0) -> torch.Tensor:
    psi = math.radians(90.0) * kahn
    return 0.5 * (1 + torch.cos(two_theta) ** 2 - psi * torch.sin(two_theta))
"""
        ),
    ]

    def on_call(self, site, ctx):
        if (
            site.callee is None
            or site.callee.split(".", 1)[0] not in api.MATH_MODULES
            or not site.args
            or site.callee in api.INTEGER_CONVERSIONS
        ):
            return None
        mark = ctx.report(
            self,
            site.node,
            receiver=site.args[0].sym,
            subject=site.node.args[0].value,
            message=f"`{site.callee}()` converts `{{subject}}` to a Python float: its gradient stops here",
            fix=f"use `torch.{site.callee.split('.', 1)[1]}` on the tensor"
            if site.callee.split(".", 1)[1] not in ("radians", "degrees")
            else "use `torch.deg2rad` / `torch.rad2deg`, or multiply by `torch.pi / 180`",
        )
        return self.with_fix(mark, ctx, site)
