"""Wall time and peak memory of the reference simulator, forward and forward + backward, on CPU.

Every case (detector size x dtype x pass) runs in a fresh Python process, so that its peak resident set
size (``resource.getrusage``) belongs to that case alone; the process's size right after importing torch
and building the inputs is reported too, and subtracted as the "simulation" memory.

    python bench/simulate.py            # 256, 1024 and 2048 pixels square, float32 and float64
    python bench/simulate.py --quick    # 256 only
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from braggsim import Simulator

SIZES = (256, 1024, 2048)
QUICK_SIZES = (256,)
DTYPES = ("float32", "float64")
PASSES = ("forward", "backward")
REPEATS = {256: 10, 1024: 5, 2048: 3}
WARM_UP_PIXELS = 64


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure(size: int, dtype_name: str, pass_name: str) -> dict[str, float]:
    """One case, in this process: the best wall time of a few runs and the peak resident set size."""
    import torch

    from braggsim import BeamConfig, CrystalConfig, DetectorConfig, Simulator

    dtype = getattr(torch, dtype_name)
    backward = pass_name == "backward"

    def setting(value: float) -> torch.Tensor:
        return torch.tensor(value, dtype=dtype, requires_grad=backward)

    crystal = CrystalConfig(
        cell_a=setting(78.0),
        cell_b=setting(82.0),
        cell_c=setting(90.0),
        cell_alpha=setting(88.0),
        cell_beta=setting(91.0),
        cell_gamma=setting(95.0),
        misset_x=setting(3.0),
        misset_y=setting(-2.0),
        misset_z=setting(5.0),
    )
    detector = DetectorConfig(
        distance=setting(150.0),
        pixel_size=0.1,
        fast_pixels=size,
        slow_pixels=size,
        beam_center_fast=size * 0.05,
        beam_center_slow=size * 0.05,
    )
    beam = BeamConfig(wavelength=setting(1.0), fluence=setting(1.0e9))
    warm_up = replace(detector, fast_pixels=WARM_UP_PIXELS, slow_pixels=WARM_UP_PIXELS)
    run(Simulator(crystal, warm_up, beam), backward)
    simulator = Simulator(crystal, detector, beam)
    baseline = peak_rss_mib()
    seconds = min(run(simulator, backward) for _ in range(REPEATS[size]))
    return {"seconds": seconds, "peak_mib": peak_rss_mib(), "baseline_mib": baseline}


def run(simulator: Simulator, backward: bool) -> float:
    """Wall time of one forward pass, followed by a backward pass of the image sum if ``backward``."""
    start = time.perf_counter()
    image = simulator.run()
    if backward:
        image.sum().backward()
    return time.perf_counter() - start


def run_case(size: int, dtype_name: str, pass_name: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--case", str(size), dtype_name, pass_name],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def print_table(sizes: tuple[int, ...]) -> None:
    header = (
        f"{'pixels':>11} {'dtype':>8} {'forward s':>10} {'fwd+bwd s':>10} {'bwd/fwd':>8} "
        f"{'Mpix/s fwd':>11} {'fwd MiB':>9} {'fwd+bwd MiB':>12} {'base MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        for dtype_name in DTYPES:
            forward, backward = (run_case(size, dtype_name, pass_name) for pass_name in PASSES)
            simulated = (
                forward["peak_mib"] - forward["baseline_mib"],
                backward["peak_mib"] - backward["baseline_mib"],
            )
            print(
                f"{f'{size}x{size}':>11} {dtype_name:>8} {forward['seconds']:>10.3f} {backward['seconds']:>10.3f} "
                f"{backward['seconds'] / forward['seconds']:>8.2f} {size * size / forward['seconds'] / 1e6:>11.2f} "
                f"{simulated[0]:>9.0f} {simulated[1]:>12.0f} {forward['baseline_mib']:>9.0f}",
                flush=True,
            )
    print("MiB: peak resident set size above the process's size before the first run (base MiB).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 256 x 256 detector")
    parser.add_argument("--case", nargs=3, metavar=("SIZE", "DTYPE", "PASS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        size, dtype_name, pass_name = args.case
        print(json.dumps(measure(int(size), dtype_name, pass_name)))
    else:
        print_table(QUICK_SIZES if args.quick else SIZES)


if __name__ == "__main__":
    main()
