"""Rotations and unit-cell maths.

Vectors are the last dimension; a basis is a (..., 3, 3) stack of row vectors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def stack_matrix(rows: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
    """A (..., 3, 3) matrix from nine broadcastable tensors given row by row."""
    entries = torch.broadcast_tensors(*(entry for row in rows for entry in row))
    return torch.stack(entries, dim=-1).unflatten(-1, (3, 3))


def rotation_xyz(angle_x: torch.Tensor, angle_y: torch.Tensor, angle_z: torch.Tensor) -> torch.Tensor:
    """Rotation about x by angle_x, then about y by angle_y, then about z by angle_z (radians)."""
    one = torch.ones((), dtype=angle_x.dtype, device=angle_x.device)
    zero = torch.zeros((), dtype=angle_x.dtype, device=angle_x.device)
    cos_x, sin_x = torch.cos(angle_x), torch.sin(angle_x)
    cos_y, sin_y = torch.cos(angle_y), torch.sin(angle_y)
    cos_z, sin_z = torch.cos(angle_z), torch.sin(angle_z)
    about_x = stack_matrix(((one, zero, zero), (zero, cos_x, -sin_x), (zero, sin_x, cos_x)))
    about_y = stack_matrix(((cos_y, zero, sin_y), (zero, one, zero), (-sin_y, zero, cos_y)))
    about_z = stack_matrix(((cos_z, -sin_z, zero), (sin_z, cos_z, zero), (zero, zero, one)))
    return about_z @ about_y @ about_x


def axis_angle_rotation(axes: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotations (..., 3, 3) by ``angles`` (...) radians about unit ``axes`` (..., 3): Rodrigues' formula."""
    x, y, z = axes.unbind(-1)
    zero = torch.zeros_like(x)
    cross = stack_matrix(((zero, -z, y), (z, zero, -x), (-y, x, zero)))
    sin = torch.sin(angles)[..., None, None]
    versine = 2 * torch.sin(angles / 2)[..., None, None] ** 2
    identity = torch.eye(3, dtype=cross.dtype, device=cross.device)
    return identity + sin * cross + versine * (cross @ cross)


def rotate_rows(basis: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
    """Each row vector of ``basis`` rotated by ``rotation`` (both broadcast over leading dimensions)."""
    return basis @ rotation.transpose(-1, -2)


def cell_volume(lengths: torch.Tensor, cosines: torch.Tensor) -> torch.Tensor:
    """sqrt(det G) for the metric tensor G of a cell with edge lengths (a, b, c) and angle cosines."""
    cos_alpha, cos_beta, cos_gamma = cosines.unbind(-1)
    shape = 1 - cos_alpha**2 - cos_beta**2 - cos_gamma**2 + 2 * cos_alpha * cos_beta * cos_gamma
    return lengths.prod(-1) * torch.sqrt(shape)


def standard_basis(lengths: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Real-space cell vectors in the standard setting: a along x, b in the xy plane.

    ``lengths`` are (a, b, c); ``angles`` are (alpha, beta, gamma) in radians.
    """
    a, b, c = lengths.unbind(-1)
    cosines = torch.cos(angles)
    cos_alpha, cos_beta, cos_gamma = cosines.unbind(-1)
    sin_gamma = torch.sin(angles[..., 2])
    zero = torch.zeros((), dtype=lengths.dtype, device=lengths.device)
    return stack_matrix(
        (
            (a, zero, zero),
            (b * cos_gamma, b * sin_gamma, zero),
            (
                c * cos_beta,
                c * (cos_alpha - cos_beta * cos_gamma) / sin_gamma,
                cell_volume(lengths, cosines) / (a * b * sin_gamma),
            ),
        )
    )


def dual_basis(basis: torch.Tensor) -> torch.Tensor:
    """The reciprocal of a basis: rows b x c, c x a, a x b over the cell volume a . (b x c).

    Applied to real-space vectors it gives the reciprocal vectors, and back.
    """
    a, b, c = basis.unbind(-2)
    crossed = torch.stack(
        (torch.linalg.cross(b, c), torch.linalg.cross(c, a), torch.linalg.cross(a, b)), dim=-2
    )
    volume = (a * crossed[..., 0, :]).sum(-1)
    return crossed / volume[..., None, None]
