"""Reusable gradient workloads on a small simulation: what the tests, the trace and the benchmarks run.

``gradient_flow()`` is a two-iteration fitting loop over sixteen named leaf parameters; it returns the
final, already backpropagated loss. A tensor cached with the first iteration's graph makes the second
``backward()`` fail, as it would in a real optimizer loop. The structure factor is left at its default
(no hkl table), so a default of 0 makes the whole image, and every gradient, exactly zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from braggsim.config import BeamConfig, CrystalConfig, DetectorConfig
from braggsim.simulator import Simulator

FITTING_ITERATIONS = 2
DETECTOR_PIXELS = 16


@dataclass
class GradientFlowProblem:
    """A simulator whose settings are the leaf tensors in ``parameters``, and the loss fitted over them."""

    simulator: Simulator
    parameters: dict[str, torch.Tensor]
    loss_weights: torch.Tensor

    def loss(self) -> torch.Tensor:
        """Position-weighted photon count: positive, and it changes when any spot moves or brightens."""
        return (self.simulator.run() * self.loss_weights).sum()

    def zero_grad(self) -> None:
        for parameter in self.parameters.values():
            parameter.grad = None

    def gradients(self) -> dict[str, torch.Tensor | None]:
        return {name: parameter.grad for name, parameter in self.parameters.items()}


def gradient_flow_problem(dtype: torch.dtype = torch.float64) -> GradientFlowProblem:
    """The small simulation, with every refinable setting a fresh leaf tensor bound to its own name.

    The mosaic spread and the polarization factor sit at their boundary value 0, where their gradients
    are still non-zero.
    """
    cell_a = _leaf(72.0, dtype)
    cell_b = _leaf(81.0, dtype)
    cell_c = _leaf(95.0, dtype)
    cell_alpha = _leaf(87.0, dtype)
    cell_beta = _leaf(93.0, dtype)
    cell_gamma = _leaf(98.0, dtype)
    misset_x = _leaf(4.0, dtype)
    misset_y = _leaf(-3.0, dtype)
    misset_z = _leaf(7.0, dtype)
    phi_start = _leaf(1.0, dtype)
    oscillation = _leaf(0.4, dtype)
    mosaic_spread = _leaf(0.0, dtype)
    wavelength = _leaf(1.2, dtype)
    fluence = _leaf(1.0e7, dtype)
    polarization = _leaf(0.0, dtype)
    distance = _leaf(60.0, dtype)
    crystal = CrystalConfig(
        cell_a=cell_a,
        cell_b=cell_b,
        cell_c=cell_c,
        cell_alpha=cell_alpha,
        cell_beta=cell_beta,
        cell_gamma=cell_gamma,
        misset_x=misset_x,
        misset_y=misset_y,
        misset_z=misset_z,
        phi_start=phi_start,
        oscillation=oscillation,
        phi_steps=2,
        mosaic_spread=mosaic_spread,
        mosaic_domains=3,
        n_cells=(6, 6, 6),
    )
    detector = DetectorConfig(
        distance=distance,
        pixel_size=0.2,
        fast_pixels=DETECTOR_PIXELS,
        slow_pixels=DETECTOR_PIXELS,
        beam_center_fast=-0.3,
        beam_center_slow=-0.5,
    )
    beam = BeamConfig(wavelength=wavelength, fluence=fluence, polarization=polarization)
    parameters = {
        "cell_a": cell_a,
        "cell_b": cell_b,
        "cell_c": cell_c,
        "cell_alpha": cell_alpha,
        "cell_beta": cell_beta,
        "cell_gamma": cell_gamma,
        "misset_x": misset_x,
        "misset_y": misset_y,
        "misset_z": misset_z,
        "phi_start": phi_start,
        "oscillation": oscillation,
        "mosaic_spread": mosaic_spread,
        "wavelength": wavelength,
        "fluence": fluence,
        "polarization": polarization,
        "distance": distance,
    }
    return GradientFlowProblem(Simulator(crystal, detector, beam), parameters, _loss_weights(dtype))


def fit(problem: GradientFlowProblem, iterations: int = FITTING_ITERATIONS) -> torch.Tensor:
    """Zero the gradients, forward, backward, ``iterations`` times on the same simulator; the last loss."""
    for _ in range(iterations):
        problem.zero_grad()
        loss = problem.loss()
        loss.backward()
    return loss


def gradient_flow() -> torch.Tensor:
    return fit(gradient_flow_problem())


def _loss_weights(dtype: torch.dtype) -> torch.Tensor:
    """Weights rising along the slow axis and falling along the fast axis, so no spot shift cancels out."""
    ramp = torch.linspace(1.0, 2.0, DETECTOR_PIXELS, dtype=dtype)
    return ramp[:, None] * ramp.flip(0)[None, :] ** 2


def _leaf(value: float, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(value, dtype=dtype, requires_grad=True)
