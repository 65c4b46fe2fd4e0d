"""Per-pixel physics: scattering vectors, the lattice (shape) factor and the polarization factor."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

CLASSICAL_ELECTRON_RADIUS = 2.8179403262e-5  # Å
R_E_SQUARED = CLASSICAL_ELECTRON_RADIUS**2  # Å², the Thomson cross-section per steradian


def scattering_vectors(
    diffracted: torch.Tensor, incident: torch.Tensor, wavelength: torch.Tensor
) -> torch.Tensor:
    """S = (d - i) / lambda in 1/Å for unit diffracted directions d and the unit incident direction i."""
    return (diffracted - incident) / wavelength


def sincg(x: torch.Tensor, count: int) -> torch.Tensor:
    """sin(count * x) / sin(x): the interference of ``count`` unit cells, equal to +-count at x = k * pi.

    Near the poles the limit count * cos(count * x) / cos(x) is used; neither branch divides by zero, so
    the gradient is finite everywhere.
    """
    tolerance = math.sqrt(torch.finfo(x.dtype).eps)
    sin_x = torch.sin(x)
    near_pole = sin_x.abs() < tolerance
    ratio = torch.sin(count * x) / torch.where(near_pole, 1.0, sin_x)
    limit = count * torch.cos(count * x) / torch.where(near_pole, torch.cos(x), 1.0)
    return torch.where(near_pole, limit, ratio)


def lattice_factor(hkl: torch.Tensor, n_cells: Sequence[int]) -> torch.Tensor:
    """Amplitude of a parallelepiped of n_cells unit cells at fractional Miller indices hkl (..., 3)."""
    factor_h, factor_k, factor_l = (
        sincg(torch.pi * hkl[..., axis], count) for axis, count in enumerate(n_cells)
    )
    return factor_h * factor_k * factor_l


def polarization_factor(
    incident: torch.Tensor,
    diffracted: torch.Tensor,
    polarization_axis: torch.Tensor,
    kahn_factor: torch.Tensor,
) -> torch.Tensor:
    """Kahn's factor 0.5 * (1 + cos^2 2theta - K cos 2psi sin^2 2theta).

    psi is the azimuth of the diffracted ray about the beam, from the polarization axis; the term
    cos 2psi sin^2 2theta is computed as e^2 - b^2 from the components of the diffracted direction
    perpendicular to the beam along the polarization axis (e) and across it (b), which needs no angle.
    """
    cos_two_theta = diffracted @ incident
    perpendicular = diffracted - cos_two_theta[..., None] * incident
    along = perpendicular @ polarization_axis
    across = perpendicular @ torch.linalg.cross(incident, polarization_axis)
    unpolarized = 0.5 * (1 + cos_two_theta**2)
    return unpolarized - 0.5 * kahn_factor * (along**2 - across**2)
