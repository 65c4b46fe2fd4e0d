"""Reference differentiable simulator: nanoBragg-style kinematic X-ray diffraction images in PyTorch."""

from braggsim.config import BeamConfig, CrystalConfig, DetectorConfig, TensorSpec
from braggsim.simulator import Simulator

__all__ = ["BeamConfig", "CrystalConfig", "DetectorConfig", "Simulator", "TensorSpec"]
