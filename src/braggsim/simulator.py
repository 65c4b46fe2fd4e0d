"""The kinematic diffraction image of a crystal on a pixel detector, vectorized over pixels."""

from __future__ import annotations

import torch

from braggsim.beam import Beam
from braggsim.config import BeamConfig, CrystalConfig, DetectorConfig, TensorSpec
from braggsim.crystal import Crystal
from braggsim.detector import Detector
from braggsim.physics import (
    R_E_SQUARED,
    lattice_factor,
    polarization_factor,
    scattering_vectors,
)

# Orientation samples (spindle steps x mosaic domains x pixels) evaluated at once: bounds forward memory.
SAMPLES_PER_CHUNK = 1 << 18


class Simulator:
    """Photons per pixel: r_e^2 * fluence * |F|^2 * |F_latt|^2 * polarization * solid angle.

    |F|^2 |F_latt|^2 is averaged over spindle steps and mosaic domains. The dtype and device come from the
    arguments, else from the first tensor setting, else from torch's defaults.
    """

    def __init__(
        self,
        crystal: CrystalConfig,
        detector: DetectorConfig,
        beam: BeamConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        self.spec = TensorSpec.infer((crystal, detector, beam), dtype, device)
        self.crystal = Crystal(crystal, self.spec)
        self.detector = Detector(detector, self.spec)
        self.beam = Beam(beam, self.spec)

    def run(self, chunk_rows: int | None = None) -> torch.Tensor:
        """The image (slow_pixels, fast_pixels), computed ``chunk_rows`` detector rows at a time."""
        rows = self.default_chunk_rows() if chunk_rows is None else chunk_rows
        if rows < 1:
            raise ValueError(f"chunk_rows must be a positive integer, got {rows}")
        bases = self.crystal.oriented_bases()
        slow_pixels = self.detector.config.slow_pixels
        chunks = [
            self._simulate_rows(bases, start, min(start + rows, slow_pixels))
            for start in range(0, slow_pixels, rows)
        ]
        return torch.cat(chunks, dim=0)

    def default_chunk_rows(self) -> int:
        config = self.crystal.config
        samples_per_row = config.phi_steps * config.mosaic_domains * self.detector.config.fast_pixels
        return max(1, SAMPLES_PER_CHUNK // samples_per_row)

    def _simulate_rows(self, bases: torch.Tensor, row_start: int, row_stop: int) -> torch.Tensor:
        positions = self.detector.pixel_positions(row_start, row_stop)
        diffracted = positions / torch.linalg.vector_norm(positions, dim=-1, keepdim=True)
        incident = self.beam.incident()
        scattering = scattering_vectors(diffracted, incident, self.beam.wavelength())
        hkl = torch.einsum("pmvi,rfi->pmrfv", bases, scattering)
        lattice = lattice_factor(hkl, self.crystal.config.n_cells)
        amplitude = self.crystal.structure_factors(hkl)
        intensity = (amplitude**2 * lattice**2).mean(dim=(0, 1))
        polarization = polarization_factor(
            incident, diffracted, self.beam.polarization_axis(), self.beam.kahn_factor()
        )
        solid_angle = self.detector.solid_angles(positions)
        fluence = self.beam.fluence()
        return R_E_SQUARED * fluence * intensity * polarization * solid_angle
