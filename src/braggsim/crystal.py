"""The crystal: unit cell, orientation (misset, spindle steps, mosaic domains) and structure factors."""

from __future__ import annotations

import functools

import numpy as np
import torch

from braggsim.config import CrystalConfig, TensorSpec
from braggsim.geometry import (
    axis_angle_rotation,
    dual_basis,
    rotate_rows,
    rotation_xyz,
    standard_basis,
)


class Crystal:
    def __init__(self, config: CrystalConfig, spec: TensorSpec) -> None:
        self.config = config
        self.spec = spec

    @property
    def reciprocal_basis(self) -> torch.Tensor:
        """Rows a*, b*, c* (1/Å) of the cell in the standard setting, before any rotation."""
        config = self.config
        lengths = torch.stack(
            [self.spec.tensor(length) for length in (config.cell_a, config.cell_b, config.cell_c)]
        )
        angles = torch.stack(
            [self._radians(angle) for angle in (config.cell_alpha, config.cell_beta, config.cell_gamma)]
        )
        return dual_basis(standard_basis(lengths, angles))

    def misset_rotation(self) -> torch.Tensor:
        config = self.config
        angles = [self._radians(angle) for angle in (config.misset_x, config.misset_y, config.misset_z)]
        return rotation_xyz(*angles)

    def real_basis(self) -> torch.Tensor:
        """Rows a, b, c (Å) after the misset.

        As in nanoBragg, the misset turns the reciprocal vectors and the real-space ones follow from them.
        """
        return dual_basis(rotate_rows(self.reciprocal_basis, self.misset_rotation()))

    def phi_rotations(self) -> torch.Tensor:
        """Spindle rotations (phi_steps, 3, 3) at phi_start + i * oscillation / phi_steps."""
        config = self.config
        start = self._radians(config.phi_start)
        step = self._radians(config.oscillation) / config.phi_steps
        angles = start + step * torch.arange(config.phi_steps, dtype=self.spec.dtype, device=self.spec.device)
        return axis_angle_rotation(self._spindle_axis(), angles)

    def mosaic_rotations(self) -> torch.Tensor:
        """One rotation (mosaic_domains, 3, 3) per mosaic domain.

        Each turns about a seeded random axis, by the spread times a seeded standard normal deviate.
        """
        axes, deviates = self._mosaic_draws()
        spread = self._radians(self.config.mosaic_spread)
        angles = spread * deviates
        return axis_angle_rotation(axes, angles)

    def oriented_bases(self) -> torch.Tensor:
        """Real-space cell vectors (phi_steps, mosaic_domains, 3, 3).

        For each spindle step and mosaic domain: turned by the spindle, then by the domain's mosaic rotation.
        """
        real = self.real_basis()
        phi = self.phi_rotations()
        mosaic = self.mosaic_rotations()
        return rotate_rows(real, mosaic[None] @ phi[:, None])

    def structure_factors(self, hkl: torch.Tensor) -> torch.Tensor:
        """|F| of the reflection nearest to each fractional hkl (..., 3): its table value, else default_F."""
        default = self.spec.tensor(self.config.default_F)
        if self.config.hkl_table is None:
            return default
        known, values, reach = self._table_grid
        # The nearest reflection only selects a table entry: these integer indices never enter the maths.
        h_index, k_index, l_index = torch.round(hkl).clamp(-reach, reach).long().unbind(-1)
        return torch.where(known[h_index, k_index, l_index], values[h_index, k_index, l_index], default)

    @functools.cached_property
    def _table_grid(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """The hkl table as dense grids (known, values) indexed by h, k, l modulo their size, and its reach.

        Indices beyond the table clamp to +-reach, which no entry occupies. Built once per crystal: the table
        holds plain floats, so the grids carry no gradient.
        """
        table = self.config.hkl_table or {}
        reach = 1 + max((abs(index) for key in table for index in key), default=0)
        size = 2 * reach + 1
        known = torch.zeros((size, size, size), dtype=torch.bool, device=self.spec.device)
        values = torch.zeros((size, size, size), dtype=self.spec.dtype, device=self.spec.device)
        if table:
            keys = torch.tensor(list(table), dtype=torch.long, device=self.spec.device).unbind(-1)
            known[keys] = True
            values[keys] = torch.tensor(list(table.values()), dtype=self.spec.dtype, device=self.spec.device)
        return known, values, reach

    def _mosaic_draws(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Seeded unit rotation axes (mosaic_domains, 3) and standard normal deviates (mosaic_domains,)."""
        rng = np.random.default_rng(self.config.mosaic_seed)
        axes = rng.normal(size=(self.config.mosaic_domains, 3))
        axes /= np.linalg.norm(axes, axis=1, keepdims=True)
        deviates = rng.normal(size=self.config.mosaic_domains)
        return self.spec.tensor(axes), self.spec.tensor(deviates)

    def _spindle_axis(self) -> torch.Tensor:
        # Component by component, so that an axis given as tensors keeps its gradient.
        axis = torch.stack([self.spec.tensor(component) for component in self.config.spindle_axis])
        return axis / torch.linalg.vector_norm(axis)

    def _radians(self, degrees: float | torch.Tensor) -> torch.Tensor:
        return torch.deg2rad(self.spec.tensor(degrees))
