"""Physics of the reference simulator: Bragg geometry, intensity scaling, precision, chunking, and its CLI."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from braggsim import BeamConfig, CrystalConfig, DetectorConfig, Simulator, TensorSpec
from braggsim.__main__ import main
from braggsim.crystal import Crystal
from braggsim.geometry import axis_angle_rotation, cell_volume, dual_basis, rotation_xyz
from braggsim.hkl import HklFormatError, parse_hkl_table
from braggsim.physics import R_E_SQUARED, polarization_factor, sincg

FLOAT64 = TensorSpec(torch.float64, torch.device("cpu"))
DISTANCE = 100.0
PIXEL = 0.1
SPOT_PIXEL = (2, 10)  # (slow, fast) where the reflection (order, 0, 0) is placed


def bragg_setup(
    cell: float, wavelength: float, order: int, n_cells: tuple[int, int, int] = (10, 10, 10)
) -> tuple[CrystalConfig, DetectorConfig, BeamConfig, float]:
    """A cubic crystal turned about y so that reflection (order, 0, 0) is exactly in Bragg condition.

    Bragg's law puts its spot at 2 theta along lab x, i.e. distance * tan(2 theta) along the fast axis; the
    beam centre is chosen so that this point is the centre of SPOT_PIXEL, with the direct beam off the
    detector. Returns the configurations and the Bragg angle theta in radians.
    """
    theta = math.asin(wavelength * order / (2 * cell))
    slow, fast = SPOT_PIXEL
    crystal = CrystalConfig(
        cell_a=cell, cell_b=cell, cell_c=cell, misset_y=math.degrees(theta), n_cells=n_cells, default_F=30.0
    )
    detector = DetectorConfig(
        distance=DISTANCE,
        pixel_size=PIXEL,
        fast_pixels=21,
        slow_pixels=5,
        beam_center_fast=(fast + 0.5) * PIXEL - DISTANCE * math.tan(2 * theta),
        beam_center_slow=(slow + 0.5) * PIXEL,
    )
    return crystal, detector, BeamConfig(wavelength=wavelength, fluence=1.0e8), theta


def simulate(crystal: CrystalConfig, detector: DetectorConfig, beam: BeamConfig, **options) -> torch.Tensor:
    return Simulator(crystal, detector, beam, dtype=torch.float64).run(**options)


BRAGG_CASES = [(50.0, 1.0, 1), (40.0, 1.5, 2), (64.0, 0.9, 3)]


class TestBraggGeometry:
    @pytest.mark.parametrize(("cell", "wavelength", "order"), BRAGG_CASES)
    def test_spot_lies_where_braggs_law_puts_it(self, cell: float, wavelength: float, order: int) -> None:
        crystal, detector, beam, _ = bragg_setup(cell, wavelength, order)
        image = simulate(crystal, detector, beam)
        brightest = divmod(int(torch.argmax(image)), detector.fast_pixels)
        assert brightest == SPOT_PIXEL

    @pytest.mark.parametrize(("cell", "wavelength", "order"), BRAGG_CASES)
    def test_peak_has_the_kinematic_intensity(self, cell: float, wavelength: float, order: int) -> None:
        crystal, detector, beam, theta = bragg_setup(cell, wavelength, order)
        peak = simulate(crystal, detector, beam)[SPOT_PIXEL].item()
        cos_two_theta = math.cos(2 * theta)
        solid_angle = PIXEL**2 * DISTANCE / (DISTANCE / cos_two_theta) ** 3
        unpolarized = 0.5 * (1 + cos_two_theta**2)
        expected = R_E_SQUARED * beam.fluence * crystal.default_F**2 * 10**6 * unpolarized * solid_angle
        assert peak == pytest.approx(expected, rel=1e-9)

    def test_peak_scales_as_the_square_of_the_cell_count(self) -> None:
        small = simulate(*bragg_setup(50.0, 1.0, 1, n_cells=(3, 3, 3))[:3])[SPOT_PIXEL].item()
        large = simulate(*bragg_setup(50.0, 1.0, 1, n_cells=(4, 5, 6))[:3])[SPOT_PIXEL].item()
        assert large / small == pytest.approx((4 * 5 * 6) ** 2 / (3 * 3 * 3) ** 2, rel=1e-9)


class TestIntensityScaling:
    def setup_method(self) -> None:
        crystal, detector, beam, _ = bragg_setup(50.0, 1.0, 1)
        self.crystal, self.detector, self.beam = crystal, detector, beam
        self.image = simulate(crystal, detector, beam)

    def test_intensity_is_proportional_to_fluence(self) -> None:
        brighter = simulate(self.crystal, self.detector, replace(self.beam, fluence=3 * self.beam.fluence))
        torch.testing.assert_close(brighter, 3 * self.image, rtol=1e-12, atol=0)

    def test_intensity_is_proportional_to_the_squared_structure_factor(self) -> None:
        doubled = simulate(replace(self.crystal, default_F=2 * self.crystal.default_F), self.detector, self.beam)
        torch.testing.assert_close(doubled, 4 * self.image, rtol=1e-12, atol=0)

    def test_table_entry_replaces_the_default_for_its_reflection(self) -> None:
        table = {(1, 0, 0): 3 * self.crystal.default_F, (5, 5, 5): 1.0}
        wider = replace(self.detector, fast_pixels=31)  # its last columns reach h = 2
        default = simulate(self.crystal, wider, self.beam)
        image = simulate(replace(self.crystal, hkl_table=table), wider, self.beam)
        assert image[SPOT_PIXEL].item() == pytest.approx(9 * default[SPOT_PIXEL].item(), rel=1e-12)
        torch.testing.assert_close(image[:, 25:], default[:, 25:], rtol=1e-12, atol=0)


class TestPrecisionAndChunking:
    CONFIGS = (
        CrystalConfig(
            cell_gamma=100.0,
            misset_x=5.0,
            misset_y=3.0,
            misset_z=-2.0,
            phi_steps=3,
            oscillation=0.3,
            mosaic_spread=0.3,
            mosaic_domains=4,
            n_cells=(8, 8, 8),
        ),
        DetectorConfig(fast_pixels=64, slow_pixels=48, pixel_size=0.2, beam_center_fast=6.0, beam_center_slow=4.0),
        BeamConfig(polarization=0.8),
    )

    def test_float32_agrees_with_float64(self) -> None:
        single = Simulator(*self.CONFIGS, dtype=torch.float32).run()
        double = Simulator(*self.CONFIGS, dtype=torch.float64).run()
        assert single.dtype == torch.float32
        assert double.max().item() > 1000
        torch.testing.assert_close(single.double(), double, rtol=5e-3, atol=1e-3 * double.max().item())

    @pytest.mark.parametrize("chunk_rows", [1, 5, 47])
    def test_chunked_rows_give_the_unchunked_image(self, chunk_rows: int) -> None:
        simulator = Simulator(*self.CONFIGS, dtype=torch.float64)
        assert simulator.default_chunk_rows() >= 48  # run() does the whole detector in one chunk
        torch.testing.assert_close(simulator.run(chunk_rows), simulator.run(), rtol=1e-12, atol=0)

    def test_dtype_and_device_come_from_tensor_settings(self) -> None:
        crystal = CrystalConfig(cell_a=torch.tensor(90.0, dtype=torch.float64))
        assert Simulator(crystal, DetectorConfig(), BeamConfig()).spec == FLOAT64
        explicit = Simulator(crystal, DetectorConfig(), BeamConfig(), dtype=torch.float32)
        assert explicit.spec.dtype == torch.float32
        assert Simulator(CrystalConfig(), DetectorConfig(), BeamConfig()).spec.dtype == torch.get_default_dtype()


class TestBuildingBlocks:
    def test_sincg_equals_the_cell_count_at_every_pole(self) -> None:
        poles = torch.pi * torch.tensor([0.0, 1.0, 2.0, -3.0], dtype=torch.float64)
        torch.testing.assert_close(sincg(poles, 4).abs(), torch.full((4,), 4.0, dtype=torch.float64))

    def test_sincg_gradient_is_finite_and_zero_at_the_peak(self) -> None:
        x = torch.tensor([0.0, 1e-3], dtype=torch.float64, requires_grad=True)
        sincg(x, 5).sum().backward()
        assert x.grad[0].item() == 0.0
        assert x.grad[1].item() == pytest.approx(-5 * (25 - 1) / 3 * 1e-3, rel=1e-4)

    def test_polarization_factor_along_and_across_the_polarization_axis(self) -> None:
        incident = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
        axis = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
        two_theta = 0.6
        along = torch.tensor([math.sin(two_theta), 0.0, math.cos(two_theta)], dtype=torch.float64)
        across = torch.tensor([0.0, math.sin(two_theta), math.cos(two_theta)], dtype=torch.float64)
        kahn = torch.tensor(1.0, dtype=torch.float64)
        assert polarization_factor(incident, along, axis, kahn).item() == pytest.approx(math.cos(two_theta) ** 2)
        assert polarization_factor(incident, across, axis, kahn).item() == pytest.approx(1.0)

    def test_reciprocal_basis_of_a_monoclinic_cell(self) -> None:
        crystal = Crystal(CrystalConfig(cell_a=50.0, cell_b=60.0, cell_c=70.0, cell_beta=110.0), FLOAT64)
        reciprocal = crystal.reciprocal_basis
        lengths = torch.tensor([50.0, 60.0, 70.0], dtype=torch.float64)
        cosines = torch.cos(torch.deg2rad(torch.tensor([90.0, 110.0, 90.0], dtype=torch.float64)))
        volume = cell_volume(lengths, cosines).item()
        assert volume == pytest.approx(50 * 60 * 70 * math.sin(math.radians(110)), rel=1e-12)
        assert torch.linalg.det(reciprocal).item() == pytest.approx(1 / volume, rel=1e-12)
        torch.testing.assert_close(reciprocal @ dual_basis(reciprocal).T, torch.eye(3, dtype=torch.float64))
        assert reciprocal[1].tolist() == pytest.approx([0.0, 1 / 60, 0.0], abs=1e-15)

    def test_rotations_are_orthonormal_and_compose_in_order(self) -> None:
        angles = [torch.tensor(value, dtype=torch.float64) for value in (0.3, -0.7, 1.1)]
        rotation = rotation_xyz(*angles)
        torch.testing.assert_close(rotation @ rotation.T, torch.eye(3, dtype=torch.float64))
        axes = torch.eye(3, dtype=torch.float64)
        about = [axis_angle_rotation(axes[index], angles[index]) for index in range(3)]
        torch.testing.assert_close(rotation, about[2] @ about[1] @ about[0])

    def test_table_lookup_rounds_to_the_nearest_reflection(self) -> None:
        table = {(1, 0, 0): 5.0, (-2, 1, -1): 7.0}
        crystal = Crystal(CrystalConfig(hkl_table=table, default_F=1.0), FLOAT64)
        hkl = torch.tensor(
            [[1.2, 0.3, -0.4], [-2.4, 0.6, -1.4], [2.0, 0.0, 0.0], [-3.0, 0.0, 0.0], [40.0, -9.0, 0.2]],
            dtype=torch.float64,
        )
        assert crystal.structure_factors(hkl).tolist() == [5.0, 7.0, 1.0, 1.0, 1.0]

    def test_hkl_text_parsing(self) -> None:
        assert parse_hkl_table("# h k l F\n1 0 0 12.5\n\n-2 3 1 4  # weak\n") == {
            (1, 0, 0): 12.5,
            (-2, 3, 1): 4.0,
        }
        with pytest.raises(HklFormatError, match="line 2"):
            parse_hkl_table("1 0 0 1\n1 0 x 1\n")
        with pytest.raises(HklFormatError, match="line 1"):
            parse_hkl_table("1 0 0 -1\n")


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "braggsim", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


class TestCommandLine:
    def test_writes_the_simulated_image_and_a_png_preview(self, tmp_path) -> None:
        (tmp_path / "f.hkl").write_text("1 0 0 200\n")
        result = run_cli(
            "-o", "frame", "--pixels", "32", "24", "--misset", "0", "2", "0", "--hkl", "f.hkl", cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("wrote frame.npy and frame.png: 32x24 pixels")
        image = np.load(tmp_path / "frame.npy")
        crystal = CrystalConfig(misset_y=2.0, hkl_table={(1, 0, 0): 200.0})
        detector = DetectorConfig(fast_pixels=32, slow_pixels=24, beam_center_fast=1.6, beam_center_slow=1.2)
        expected = simulate(crystal, detector, BeamConfig()).numpy()
        np.testing.assert_allclose(image, expected, rtol=1e-12)
        png = (tmp_path / "frame.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">4sII", png[12:24]) == (b"IHDR", 32, 24)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("--wavelength", "0"), "wavelength must be positive and finite, got 0.0"),
            (("--cell", "50", "50", "50", "90", "90", "200"), "do not form a unit cell"),
            (("--hkl", "missing.hkl"), "cannot read hkl file 'missing.hkl'"),
            (("--pixels", "0", "8"), "fast_pixels must be a positive integer, got 0"),
            (("--polarization", "2"), "polarization must be between 0 and 1, got 2.0"),
            (("-o", "no/such/folder/x"), "output folder 'no/such/folder' does not exist"),
            (("--device", "nonsense"), "device 'nonsense' is not usable here"),
            (("--chunk-rows", "0"), "chunk-rows must be positive and finite, got 0"),
        ],
    )
    def test_invalid_input_exits_2_with_a_message(
        self, tmp_path, monkeypatch, capsys, args: tuple[str, ...], message: str
    ) -> None:
        monkeypatch.chdir(tmp_path)
        assert main(["--pixels", "8", "8", *args]) == 2
        captured = capsys.readouterr()
        assert captured.err.startswith("braggsim: error: ")
        assert message in captured.err
        assert not list(tmp_path.glob("*.npy"))

    def test_usage_errors_exit_2(self, capsys) -> None:
        with pytest.raises(SystemExit) as exit_info:
            main(["--cell", "50"])
        assert exit_info.value.code == 2
        assert "--cell: expected 6 arguments" in capsys.readouterr().err
