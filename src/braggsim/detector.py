"""A flat pixel-array detector facing the beam: lab-frame pixel positions (mm) and pixel solid angles."""

from __future__ import annotations

import torch

from braggsim.config import DetectorConfig, TensorSpec
from braggsim.geometry import rotate_rows, rotation_xyz


class Detector:
    def __init__(self, config: DetectorConfig, spec: TensorSpec) -> None:
        self.config = config
        self.spec = spec

    def axes(self) -> torch.Tensor:
        """Rows: the fast axis, the slow axis and the normal, unit vectors in the lab frame.

        Unrotated, fast is lab x, slow is lab y and the normal is the beam direction, lab z.
        """
        config = self.config
        angles = (
            torch.deg2rad(self.spec.tensor(angle))
            for angle in (config.rotation_x, config.rotation_y, config.rotation_z)
        )
        identity = torch.eye(3, dtype=self.spec.dtype, device=self.spec.device)
        return rotate_rows(identity, rotation_xyz(*angles))

    def pixel_positions(self, row_start: int, row_stop: int) -> torch.Tensor:
        """Centres (rows, fast_pixels, 3) of slow rows row_start..row_stop-1, in mm from the sample.

        The detector-plane point (beam_center_fast, beam_center_slow) lies ``distance`` along the normal.
        """
        config = self.config
        fast_axis, slow_axis, normal = self.axes().unbind(0)
        pixel = self.spec.tensor(config.pixel_size)
        fast = self._pixel_centres(0, config.fast_pixels) * pixel - self.spec.tensor(config.beam_center_fast)
        slow = self._pixel_centres(row_start, row_stop) * pixel - self.spec.tensor(config.beam_center_slow)
        return (
            self.spec.tensor(config.distance) * normal
            + slow[:, None, None] * slow_axis
            + fast[None, :, None] * fast_axis
        )

    def solid_angles(self, positions: torch.Tensor) -> torch.Tensor:
        """Solid angle (sr) of the pixels centred at ``positions``: pixel area times obliquity over r^2."""
        normal = self.axes()[2]
        distances = torch.linalg.vector_norm(positions, dim=-1)
        pixel = self.spec.tensor(self.config.pixel_size)
        return pixel**2 * (positions @ normal) / distances**3

    def _pixel_centres(self, start: int, stop: int) -> torch.Tensor:
        """Pixel centre coordinates start + 0.5 ... stop - 0.5, in pixels."""
        return torch.arange(start, stop, dtype=self.spec.dtype, device=self.spec.device) + 0.5
