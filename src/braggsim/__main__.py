"""``braggsim``: simulate one diffraction image and save it as ``PREFIX.npy`` plus a ``PREFIX.png`` preview.

Exit status: 0 on success, 2 on invalid options or input files (with a one-line message, no traceback).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from braggsim.config import BeamConfig, CrystalConfig, DetectorConfig
from braggsim.hkl import HklFormatError, read_hkl_table
from braggsim.png import write_grayscale_png
from braggsim.simulator import Simulator

EXIT_INVALID_INPUT = 2
DTYPES = {"float32": torch.float32, "float64": torch.float64}
PREVIEW_WHITE_PERCENTILE = 99.5


class InputError(Exception):
    """An option value or input file the simulation cannot use."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="braggsim",
        description="Simulate a kinematic X-ray diffraction image of a small crystal (nanoBragg-style).",
        epilog="Exit status: 0 on success, 2 on invalid options or input files.",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="braggsim",
        metavar="PREFIX",
        help="write PREFIX.npy (photons per pixel) and PREFIX.png (default: %(default)s)",
    )
    crystal = parser.add_argument_group("crystal")
    crystal.add_argument(
        "--cell",
        nargs=6,
        type=float,
        default=[100.0, 100.0, 100.0, 90.0, 90.0, 90.0],
        metavar=("A", "B", "C", "ALPHA", "BETA", "GAMMA"),
        help="unit cell, Å and degrees",
    )
    crystal.add_argument(
        "--n-cells",
        nargs=3,
        type=int,
        default=[10, 10, 10],
        metavar=("NA", "NB", "NC"),
        help="unit cells along a, b, c (default: 10 10 10)",
    )
    crystal.add_argument(
        "--default-f",
        type=float,
        default=100.0,
        metavar="F",
        help="structure factor of reflections not in --hkl (default: %(default)s)",
    )
    crystal.add_argument("--hkl", type=Path, metavar="FILE", help="structure factors, one 'h k l F' per line")
    crystal.add_argument(
        "--misset",
        nargs=3,
        type=float,
        default=[0.0, 0.0, 0.0],
        metavar=("X", "Y", "Z"),
        help="crystal rotation about lab x, then y, then z, degrees",
    )
    crystal.add_argument("--phi-start", type=float, default=0.0, metavar="DEG", help="spindle start angle")
    crystal.add_argument(
        "--oscillation", type=float, default=0.0, metavar="DEG", help="spindle oscillation range"
    )
    crystal.add_argument("--phi-steps", type=int, default=1, metavar="N", help="spindle samples (default: 1)")
    crystal.add_argument(
        "--mosaic-spread", type=float, default=0.0, metavar="DEG", help="RMS mosaic rotation"
    )
    crystal.add_argument(
        "--mosaic-domains", type=int, default=1, metavar="N", help="mosaic domains (default: 1)"
    )
    crystal.add_argument("--seed", type=int, default=0, help="seed of the mosaic domain orientations")
    beam = parser.add_argument_group("beam")
    beam.add_argument("--wavelength", type=float, default=1.0, metavar="Å", help="default: %(default)s")
    beam.add_argument(
        "--fluence", type=float, default=1.0e9, metavar="PHOTONS_PER_Å2", help="default: %(default)s"
    )
    beam.add_argument(
        "--polarization",
        type=float,
        default=0.0,
        metavar="K",
        help="Kahn factor, 0 (unpolarized) to 1 (fully polarized along lab x)",
    )
    detector = parser.add_argument_group("detector")
    detector.add_argument("--distance", type=float, default=100.0, metavar="MM", help="default: %(default)s")
    detector.add_argument("--pixel-size", type=float, default=0.1, metavar="MM", help="default: %(default)s")
    detector.add_argument(
        "--pixels",
        nargs=2,
        type=int,
        default=[256, 256],
        metavar=("FAST", "SLOW"),
        help="detector size in pixels (default: 256 256)",
    )
    detector.add_argument(
        "--beam-center",
        nargs=2,
        type=float,
        metavar=("FAST_MM", "SLOW_MM"),
        help="where the beam meets the detector (default: its centre)",
    )
    detector.add_argument(
        "--detector-rotation",
        nargs=3,
        type=float,
        default=[0.0, 0.0, 0.0],
        metavar=("X", "Y", "Z"),
        help="detector rotation about lab x, y, z, degrees",
    )
    compute = parser.add_argument_group("computation")
    compute.add_argument("--dtype", choices=sorted(DTYPES), default="float64", help="default: %(default)s")
    compute.add_argument(
        "--device", default="cpu", help="torch device, e.g. cpu or cuda (default: %(default)s)"
    )
    compute.add_argument("--chunk-rows", type=int, metavar="N", help="detector rows simulated at a time")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        simulator = Simulator(
            crystal_config(args),
            detector_config(args),
            beam_config(args),
            dtype=DTYPES[args.dtype],
            device=usable_device(args.device),
        )
        if args.chunk_rows is not None:
            check_positive(chunk_rows=args.chunk_rows)
        prefix = output_prefix(args.output)
    except (InputError, ValueError) as error:
        return fail(error)
    with torch.no_grad():
        image = simulator.run(args.chunk_rows).cpu().numpy()
        try:
            save(prefix, image)
        except OSError as error:
            return fail(error)
        print(
            f"wrote {prefix}.npy and {prefix}.png: {image.shape[1]}x{image.shape[0]} pixels, "
            f"peak {image.max():.4g} photons, total {image.sum():.4g}"
        )
    return 0


def fail(error: Exception) -> int:
    print(f"braggsim: error: {error}", file=sys.stderr)
    return EXIT_INVALID_INPUT


def crystal_config(args: argparse.Namespace) -> CrystalConfig:
    a, b, c, alpha, beta, gamma = args.cell
    check_positive(a=a, b=b, c=c)
    check_cell_angles(alpha, beta, gamma)
    try:
        table = read_hkl_table(args.hkl) if args.hkl else None
    except (OSError, UnicodeDecodeError, HklFormatError) as error:
        raise InputError(f"cannot read hkl file {str(args.hkl)!r}: {error}") from None
    misset_x, misset_y, misset_z = args.misset
    return CrystalConfig(
        cell_a=a,
        cell_b=b,
        cell_c=c,
        cell_alpha=alpha,
        cell_beta=beta,
        cell_gamma=gamma,
        misset_x=misset_x,
        misset_y=misset_y,
        misset_z=misset_z,
        phi_start=args.phi_start,
        oscillation=args.oscillation,
        phi_steps=args.phi_steps,
        mosaic_spread=args.mosaic_spread,
        mosaic_domains=args.mosaic_domains,
        mosaic_seed=args.seed,
        n_cells=tuple(args.n_cells),
        default_F=args.default_f,
        hkl_table=table,
    )


def detector_config(args: argparse.Namespace) -> DetectorConfig:
    fast_pixels, slow_pixels = args.pixels
    check_positive(distance=args.distance, pixel_size=args.pixel_size)
    centre_fast, centre_slow = args.beam_center or (
        fast_pixels * args.pixel_size / 2,
        slow_pixels * args.pixel_size / 2,
    )
    rotation_x, rotation_y, rotation_z = args.detector_rotation
    return DetectorConfig(
        distance=args.distance,
        pixel_size=args.pixel_size,
        fast_pixels=fast_pixels,
        slow_pixels=slow_pixels,
        beam_center_fast=centre_fast,
        beam_center_slow=centre_slow,
        rotation_x=rotation_x,
        rotation_y=rotation_y,
        rotation_z=rotation_z,
    )


def beam_config(args: argparse.Namespace) -> BeamConfig:
    check_positive(wavelength=args.wavelength, fluence=args.fluence)
    if not 0.0 <= args.polarization <= 1.0:
        raise InputError(f"polarization must be between 0 and 1, got {args.polarization}")
    return BeamConfig(wavelength=args.wavelength, fluence=args.fluence, polarization=args.polarization)


def check_positive(**values: float) -> None:
    for name, value in values.items():
        if not 0 < value < math.inf:
            raise InputError(f"{name.replace('_', '-')} must be positive and finite, got {value}")


def check_cell_angles(alpha: float, beta: float, gamma: float) -> None:
    cosines = [math.cos(math.radians(angle)) for angle in (alpha, beta, gamma)]
    shape = 1 - sum(cos**2 for cos in cosines) + 2 * math.prod(cosines)
    if not (0 < min(alpha, beta, gamma) and max(alpha, beta, gamma) < 180 and shape > 0):
        raise InputError(f"cell angles {alpha} {beta} {gamma} do not form a unit cell")


def usable_device(name: str) -> torch.device:
    try:
        device = torch.device(name)
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        raise InputError(f"device {name!r} is not usable here: {error}") from None
    return device


def output_prefix(output: str) -> Path:
    prefix = Path(output)
    if not prefix.parent.is_dir():
        raise InputError(f"output folder {str(prefix.parent)!r} does not exist")
    return prefix


def save(prefix: Path, image: np.ndarray) -> None:
    """The image as .npy, and a square-root scaled 8-bit preview whose white is a high percentile."""
    np.save(prefix.with_name(prefix.name + ".npy"), image)
    lit = image[image > 0]
    white = np.percentile(lit, PREVIEW_WHITE_PERCENTILE) if lit.size else 1.0
    preview = np.sqrt(np.clip(image / white, 0.0, 1.0)) * 255
    height, width = image.shape
    write_grayscale_png(
        prefix.with_name(prefix.name + ".png"), width, height, preview.round().astype(np.uint8).tobytes()
    )


if __name__ == "__main__":
    raise SystemExit(main())
