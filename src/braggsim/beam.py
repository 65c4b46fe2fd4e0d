"""The incident beam: it travels along lab +z and is polarized along lab +x."""

from __future__ import annotations

import torch

from braggsim.config import BeamConfig, TensorSpec

INCIDENT_DIRECTION = (0.0, 0.0, 1.0)
POLARIZATION_AXIS = (1.0, 0.0, 0.0)


class Beam:
    def __init__(self, config: BeamConfig, spec: TensorSpec) -> None:
        self.config = config
        self.spec = spec

    def incident(self) -> torch.Tensor:
        return self.spec.tensor(INCIDENT_DIRECTION)

    def polarization_axis(self) -> torch.Tensor:
        return self.spec.tensor(POLARIZATION_AXIS)

    def wavelength(self) -> torch.Tensor:
        return self.spec.tensor(self.config.wavelength)

    def fluence(self) -> torch.Tensor:
        return self.spec.tensor(self.config.fluence)

    def kahn_factor(self) -> torch.Tensor:
        return self.spec.tensor(self.config.polarization)
