"""Run a target in this process and leave the process as it was.

Saved and restored: ``sys.argv``, ``sys.path``, the working directory, torch's default dtype and
anomaly mode, the random states (torch's CPU generator, Python's ``random``, numpy's global generator
when numpy is loaded), and the user's modules: modules of non-library code are set aside before the
target runs (so it imports them afresh, from ``pythonpath`` first) and put back after.

Every pass of a target starts from the same ``Randomness``, so a diagnosis pass repeats the first one.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Optional, Sequence

import torch

from gradlint.trace.frames import GRADLINT, LIBRARY, TORCH, CodeMap


@dataclass(frozen=True)
class Randomness:
    """The random states a run starts from: torch's CPU (and, once initialized, CUDA) generators, Python's and
    numpy's global ones."""

    torch_state: torch.Tensor
    python_state: Any
    numpy_state: Optional[Any]
    cuda_states: Optional[list[torch.Tensor]]

    @classmethod
    def capture(cls) -> Randomness:
        numpy = sys.modules.get("numpy")
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        return cls(torch.get_rng_state(), random.getstate(), numpy.random.get_state() if numpy else None, cuda)

    def apply(self) -> None:
        torch.set_rng_state(self.torch_state)
        random.setstate(self.python_state)
        numpy = sys.modules.get("numpy")
        if numpy is not None and self.numpy_state is not None:
            numpy.random.set_state(self.numpy_state)
        if self.cuda_states is not None:
            torch.cuda.set_rng_state_all(self.cuda_states)


def _module_file(module: ModuleType) -> Optional[str]:
    found = getattr(module, "__file__", None)
    if found:
        return found
    paths = list(getattr(module, "__path__", None) or ())
    return os.path.join(paths[0], "__init__.py") if paths else None


class Isolation:
    def __init__(self, codes: CodeMap, pythonpath: Sequence[str] = (), randomness: Optional[Randomness] = None):
        self.codes = codes
        self.pythonpath = [os.path.abspath(p) for p in pythonpath]
        self.randomness = randomness
        self._saved_modules: dict[str, ModuleType] = {}

    def _is_user_module(self, name: str, module: object) -> bool:
        if name == "__main__" or not isinstance(module, ModuleType):
            return False
        filename = _module_file(module)
        if not filename:
            return False
        return self.codes.category_of_file(filename) not in (LIBRARY, TORCH, GRADLINT)

    def __enter__(self) -> Isolation:
        self._argv = list(sys.argv)
        self._path = list(sys.path)
        self._cwd = os.getcwd()
        self._dtype = torch.get_default_dtype()
        self._anomaly = torch.is_anomaly_enabled()
        self._outer_randomness = Randomness.capture()
        if self.randomness is not None:
            self.randomness.apply()
        self._saved_modules = {
            name: module for name, module in list(sys.modules.items()) if self._is_user_module(name, module)
        }
        for name in self._saved_modules:
            del sys.modules[name]
        sys.path[:0] = self.pythonpath
        return self

    def __exit__(self, *exc_info: object) -> None:
        for name, module in list(sys.modules.items()):
            if self._is_user_module(name, module):
                del sys.modules[name]
        sys.modules.update(self._saved_modules)
        sys.argv[:] = self._argv
        sys.path[:] = self._path
        os.chdir(self._cwd)
        torch.set_default_dtype(self._dtype)
        torch.set_anomaly_enabled(self._anomaly)
        self._outer_randomness.apply()
