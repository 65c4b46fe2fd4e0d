"""Simulation inputs: crystal, detector and beam settings, and the dtype/device they are simulated in.

Every numeric physical setting accepts a Python float or a tensor; a tensor that requires grad stays in
the autograd graph all the way to the image. Counts and sizes are plain ints.
Units: lengths of the unit cell and the wavelength in Å, detector lengths in mm, angles in degrees,
fluence in photons per Å².
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import numpy as np


@dataclass
class CrystalConfig:
    cell_a: float | torch.Tensor = 100.0
    cell_b: float | torch.Tensor = 100.0
    cell_c: float | torch.Tensor = 100.0
    cell_alpha: float | torch.Tensor = 90.0
    cell_beta: float | torch.Tensor = 90.0
    cell_gamma: float | torch.Tensor = 90.0
    # Misset: rotation about lab x, then y, then z, applied to the crystal in its standard setting.
    misset_x: float | torch.Tensor = 0.0
    misset_y: float | torch.Tensor = 0.0
    misset_z: float | torch.Tensor = 0.0
    # Spindle rotation: phi_steps samples starting at phi_start, spaced oscillation / phi_steps apart.
    phi_start: float | torch.Tensor = 0.0
    oscillation: float | torch.Tensor = 0.0
    phi_steps: int = 1
    spindle_axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    # Mosaicity: mosaic_domains seeded random rotations whose RMS angle is mosaic_spread.
    mosaic_spread: float | torch.Tensor = 0.0
    mosaic_domains: int = 1
    mosaic_seed: int = 0
    n_cells: tuple[int, int, int] = (10, 10, 10)
    # Structure factor of every reflection missing from hkl_table (of every reflection without a table).
    default_F: float | torch.Tensor = 100.0
    hkl_table: Mapping[tuple[int, int, int], float] | None = None

    def __post_init__(self) -> None:
        _require_positive(phi_steps=self.phi_steps, mosaic_domains=self.mosaic_domains)
        _require_positive(**{f"n_cells[{axis}]": count for axis, count in enumerate(self.n_cells)})
        if not any(self.spindle_axis):
            raise ValueError("spindle_axis must not be the zero vector")


@dataclass
class DetectorConfig:
    distance: float | torch.Tensor = 100.0
    pixel_size: float | torch.Tensor = 0.1
    fast_pixels: int = 256
    slow_pixels: int = 256
    # Where the direct beam meets the unrotated detector, measured from the corner of the first pixel.
    beam_center_fast: float | torch.Tensor = 12.8
    beam_center_slow: float | torch.Tensor = 12.8
    # Detector rotation about lab x, then y, then z, about the sample.
    rotation_x: float | torch.Tensor = 0.0
    rotation_y: float | torch.Tensor = 0.0
    rotation_z: float | torch.Tensor = 0.0

    def __post_init__(self) -> None:
        _require_positive(fast_pixels=self.fast_pixels, slow_pixels=self.slow_pixels)


@dataclass
class BeamConfig:
    wavelength: float | torch.Tensor = 1.0
    fluence: float | torch.Tensor = 1.0e9
    # Kahn polarization factor: 0 for an unpolarized beam, 1 for one fully polarized along lab x.
    polarization: float | torch.Tensor = 0.0


@dataclass(frozen=True)
class TensorSpec:
    """The dtype and device every tensor of one simulation is created with."""

    dtype: torch.dtype
    device: torch.device

    def tensor(self, value: float | torch.Tensor | Sequence[float] | np.ndarray) -> torch.Tensor:
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    @classmethod
    def infer(
        cls,
        configs: Sequence[object],
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> TensorSpec:
        """Explicit arguments win; else the first tensor setting decides; else torch's defaults."""
        tensors = [
            value
            for config in configs
            for value in (getattr(config, item.name) for item in fields(config))
            if isinstance(value, torch.Tensor)
        ]
        if dtype is None:
            floating = [value.dtype for value in tensors if value.dtype.is_floating_point]
            dtype = floating[0] if floating else torch.get_default_dtype()
        if device is None:
            device = tensors[0].device if tensors else torch.empty(0).device
        return cls(dtype=dtype, device=torch.device(device))


def _require_positive(**counts: int) -> None:
    for name, count in counts.items():
        if count < 1:
            raise ValueError(f"{name} must be a positive integer, got {count}")
