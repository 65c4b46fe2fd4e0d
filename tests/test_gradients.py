"""Gradients of the reference simulator: float64 gradchecks on a tiny detector, and the fitting workload."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from braggsim import BeamConfig, CrystalConfig, DetectorConfig, Simulator
from braggsim.workloads import fit, gradient_flow, gradient_flow_problem

# A triclinic, misset crystal whose spots fall on an 8 x 8 detector off the beam axis.
CELL = {
    "cell_a": 72.0,
    "cell_b": 81.0,
    "cell_c": 95.0,
    "cell_alpha": 87.0,
    "cell_beta": 93.0,
    "cell_gamma": 98.0,
}
WORKLOAD_PARAMETERS = {
    *CELL,
    "misset_x",
    "misset_y",
    "misset_z",
    "phi_start",
    "oscillation",
    "mosaic_spread",
    "wavelength",
    "distance",
    "fluence",
    "polarization",
}


def tiny_image(**cell: float | torch.Tensor) -> torch.Tensor:
    crystal = CrystalConfig(**{**CELL, **cell}, misset_x=4.0, misset_y=-3.0, misset_z=7.0, n_cells=(6, 6, 6))
    detector = DetectorConfig(
        distance=60.0,
        pixel_size=0.2,
        fast_pixels=8,
        slow_pixels=8,
        beam_center_fast=-0.3,
        beam_center_slow=-0.5,
    )
    beam = BeamConfig(wavelength=1.2, fluence=1.0e7)
    return Simulator(crystal, detector, beam, dtype=torch.float64).run()


def leaf(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


def test_tiny_detector_sees_bragg_intensity() -> None:
    image = tiny_image()
    assert image.shape == (8, 8)
    assert image.max().item() > 1.0
    assert (image > 0.1 * image.max()).sum().item() >= 3


class TestCellParameterGradients:
    def check(self, name: str) -> None:
        parameter = leaf(CELL[name])
        assert torch.autograd.gradcheck(lambda value: tiny_image(**{name: value}), (parameter,))
        (gradient,) = torch.autograd.grad(tiny_image(**{name: parameter}).sum(), parameter)
        assert abs(gradient.item()) > 1e-2  # the check above is not comparing two near-zero Jacobians

    def test_gradcheck_cell_a(self) -> None:
        self.check("cell_a")

    def test_gradcheck_cell_b(self) -> None:
        self.check("cell_b")

    def test_gradcheck_cell_c(self) -> None:
        self.check("cell_c")

    def test_gradcheck_cell_alpha(self) -> None:
        self.check("cell_alpha")

    def test_gradcheck_cell_beta(self) -> None:
        self.check("cell_beta")

    def test_gradcheck_cell_gamma(self) -> None:
        self.check("cell_gamma")


def image_of_cell(*values: torch.Tensor) -> torch.Tensor:
    return tiny_image(**dict(zip(CELL, values)))


class TestAdvancedGradients:
    def test_joint_gradcheck(self) -> None:
        parameters = tuple(leaf(value) for value in CELL.values())
        assert torch.autograd.gradcheck(image_of_cell, parameters)

    def test_gradgradcheck_cell_params(self) -> None:
        parameters = tuple(leaf(value) for value in CELL.values())
        assert torch.autograd.gradgradcheck(image_of_cell, parameters)

    def test_gradient_flow_simulation(self) -> None:
        parameters = {name: leaf(value) for name, value in CELL.items()}
        loss = tiny_image(**parameters).sum()
        loss.backward()
        assert loss.item() > 0
        for name, parameter in parameters.items():
            assert parameter.grad is not None, name
            assert torch.isfinite(parameter.grad), name
            assert abs(parameter.grad.item()) > 1e-10, name

    def test_gradient_flow_workload_reaches_every_parameter(self) -> None:
        problem = gradient_flow_problem()
        loss = fit(problem)
        assert loss.item() > 0
        assert set(problem.parameters) == WORKLOAD_PARAMETERS
        for name, gradient in problem.gradients().items():
            assert gradient is not None, name
            assert torch.isfinite(gradient), name
            assert abs(gradient.item()) > 1e-10, name

    def test_beam_and_detector_gradients_match_finite_differences(self) -> None:
        problem = gradient_flow_problem()
        fit(problem, iterations=1)
        for name in ("wavelength", "distance", "fluence"):
            parameter = problem.parameters[name]
            step = 1e-6 * parameter.item()
            with torch.no_grad():
                parameter += step
                above = problem.loss().item()
                parameter -= 2 * step
                below = problem.loss().item()
                parameter += step
            assert parameter.grad.item() == pytest.approx((above - below) / (2 * step), rel=1e-5), name

    def test_gradient_flow_returns_the_backpropagated_loss(self) -> None:
        loss = gradient_flow()
        assert loss.ndim == 0
        assert loss.requires_grad
        assert loss.item() == pytest.approx(gradient_flow_problem().loss().item(), rel=1e-12)

    def test_second_iteration_gives_the_same_gradients(self) -> None:
        problem = gradient_flow_problem()
        fit(problem, iterations=1)
        first = {name: gradient.clone() for name, gradient in problem.gradients().items()}
        fit(problem, iterations=1)
        for name, gradient in problem.gradients().items():
            assert torch.equal(gradient, first[name]), name

    def test_float32_parameters_keep_their_gradients(self) -> None:
        problem = gradient_flow_problem(dtype=torch.float32)
        loss = fit(problem)
        assert loss.dtype == torch.float32
        for name, gradient in problem.gradients().items():
            assert gradient is not None and torch.isfinite(gradient) and gradient.item() != 0, name
