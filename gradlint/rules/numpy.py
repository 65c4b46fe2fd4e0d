"""NumPy conversions: ``.numpy()``, NumPy and SciPy functions on tensors, ``torch.from_numpy``."""

from __future__ import annotations

from gradlint.analysis import torch_api as api
from gradlint.findings import Confidence
from gradlint.fixes.twins import TorchTwin
from gradlint.rules.base import Invalid, Rule, TensorMethodRule, Valid


class NumpyMethod(TensorMethodRule):
    """`.numpy()` on a value that carries a gradient.

    What it does:
        Reports `t.numpy()` (including `t.detach().cpu().numpy()` chains) where `t` is computed from
        differentiable inputs and the array goes back into computation, is returned, or is stored.

    Why it cuts gradients:
        A NumPy array has no autograd history. PyTorch refuses `.numpy()` on a tensor that requires grad, so
        code usually detaches first; either way, whatever is computed from the array is a constant and the
        parameters behind `t` get no gradient through it.

    When it is fine:
        Saving, plotting and logging results (reported at low confidence, hidden by default).
    """

    code = "GL030"
    name = "numpy-method"
    tokens = ("numpy",)
    stored_confidence = Confidence.LOW  # a number kept is a record
    methods = frozenset({"numpy"})
    message = "`.numpy()` turns `{subject}` into a NumPy array: its gradient stops here"
    fix = "stay in torch: most NumPy functions have a torch counterpart of the same name"
    kept_fix = (
        "to plot, save or log the values, this is the right form (`.detach().cpu().numpy()`); to compute "
        "with them, stay in torch"
    )
    INVALID = [
        Invalid(
            """\
import numpy as np
import torch

def smooth(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    blurred = np.convolve(image.numpy(), kernel.numpy(), mode="same")
    return torch.from_numpy(blurred) * image.sum()
""",
            line=5,
            column=27,
            fixed="""\
import torch

def smooth(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    blurred = torch.nn.functional.conv1d(image[None, None], kernel.flip(0)[None, None], padding="same")[0, 0]
    return blurred * image.sum()
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import numpy as np
import torch

def save(image: torch.Tensor, path: str) -> None:
    np.save(path, image.detach().cpu().numpy())
"""
        ),
        Valid(
            """\
import matplotlib.pyplot as plt
import torch

def show(image: torch.Tensor, reconstruction: torch.Tensor) -> None:
    figure, axes = plt.subplots(1, 2)
    axes[0].imshow(image.detach().cpu().numpy())
    axes[1].imshow(reconstruction.detach().cpu().numpy())
    figure.savefig("reconstruction.png")
"""
        ),
    ]

    def receiver(self, site, ctx):
        return ctx.precut(site.receiver)  # `.detach().cpu().numpy()`: the gradient the chain started from


class NumpyFunctionOnTensor(Rule):
    """A NumPy or SciPy function applied to a value that carries a gradient.

    What it does:
        Reports calls such as `np.cos(t)`, `np.asarray(t)`, `np.linalg.norm(t)` or `scipy.special.j1(t)` where
        an argument is computed from differentiable inputs.

    Why it cuts gradients:
        NumPy converts its arguments with `Tensor.__array__`, which drops the autograd history (and fails on
        tensors that require grad). The result is an array, or a tensor rebuilt from one, with no gradient
        back to the parameters.

    When it is fine:
        NumPy on values that were never differentiable (configuration, masks computed from constants), and on
        results that are only saved or displayed.
    """

    code = "GL031"
    name = "numpy-function-on-tensor"
    tokens = ("np.", "numpy", "scipy")
    autofix = TorchTwin()
    stored_confidence = Confidence.LOW  # a number kept is a record
    INVALID = [
        Invalid(
            """\
import numpy as np
import torch

def direction(phi: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor([np.cos(phi), np.sin(phi), 0.0]) * phi
""",
            line=5,
            column=29,
            fixed="""\
import numpy as np
import torch

def direction(phi: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.cos(phi), torch.sin(phi), torch.zeros_like(phi)])
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import numpy as np
import torch

def grid(size: int) -> torch.Tensor:
    return torch.from_numpy(np.linspace(0.0, 1.0, size))
"""
        ),
    ]

    def on_call(self, site, ctx):
        if site.callee is None or site.callee.split(".", 1)[0] not in api.NUMPY_MODULES:
            return None
        live = [(arg, value) for arg, value in zip(site.node.args, site.args) if not value.is_constant()]
        if not live:
            return None
        arg, value = live[0]
        mark = ctx.report(
            self,
            site.node,
            receiver=value.sym,
            subject=arg.value,
            message=f"`{site.callee}()` converts `{{subject}}` to a NumPy array: its gradient stops here",
            fix="use the torch function of the same name on the tensor",
        )
        return self.with_fix(mark, ctx, site)


class FromNumpyOfTensor(Rule):
    """`torch.from_numpy` of an array computed from a differentiable tensor.

    What it does:
        Reports `torch.from_numpy(a)` where `a` came from a tensor that carries a gradient (through `.numpy()`
        or a NumPy function).

    Why it cuts gradients:
        The round trip tensor -> array -> tensor gives a new leaf with no autograd history: the gradient of
        the original tensor ends at the conversion to NumPy, and the tensor built here looks innocent.

    When it is fine:
        Arrays loaded from files or computed from constants.
    """

    code = "GL032"
    name = "from-numpy-of-tensor"
    tokens = ("from_numpy",)
    INVALID = [
        Invalid(
            """\
import torch

def shift(vectors: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    moved = vectors.detach().numpy() + 1.0
    return torch.from_numpy(moved) * offset
""",
            line=5,
            column=12,
            fixed="""\
import torch

def shift(vectors: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    moved = vectors + 1.0
    return moved * offset
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import numpy as np
import torch

def load(path: str) -> torch.Tensor:
    return torch.from_numpy(np.load(path))
"""
        ),
    ]

    def on_call(self, site, ctx):
        if site.callee != "torch.from_numpy" or not site.args:
            return None
        return ctx.report(
            self,
            site.node,
            receiver=ctx.precut(site.args[0]),
            subject=site.node.args[0].value,
            message="`torch.from_numpy({subject})` rebuilds a tensor whose gradient was cut on the way to NumPy",
            fix="keep the computation in torch so that the tensor keeps its history",
        )
