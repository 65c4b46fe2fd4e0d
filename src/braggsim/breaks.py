"""A catalogue of realistic single-site edits that cut the simulator's gradients.

Each ``Break`` replaces one exact fragment of one line of a file of the package (``old``, occurring once)
by ``new``. When ``new`` spans lines (a decorator or a ``with`` block inserted), its first line is the
edited line. ``parameters`` are exactly the ``braggsim.workloads.gradient_flow`` parameters whose gradient
the edit cuts, and ``outcome`` is what they end with:

- ``"none"``: their ``.grad`` is None (the graph no longer reaches them);
- ``"zero"``: their ``.grad`` is exactly zero although the graph is intact;
- ``"error"``: the workload's second ``backward()`` raises (a graph kept from the first iteration);
  ``parameters`` are then the ones whose gradient needs that stale graph;
- ``"wrong"`` (``WRONG_GRADIENT_BREAKS`` only): their gradients are finite and non-zero but wrong, because the
  edit cuts one of several paths from them to the image.

Every other parameter keeps a finite, non-zero gradient. Apply a break to a copy of the package only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FAMILIES = (
    "detach",
    "scalars",
    "data_attr",
    "numpy",
    "construct",
    "ranges",
    "grad_mode",
    "casts",
    "caching",
    "fills",
    "branching",
    "zero_forward",
)
OUTCOMES = ("none", "zero", "error", "wrong")

CELL = frozenset({"cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma"})
MISSET = frozenset({"misset_x", "misset_y", "misset_z"})
SPINDLE = frozenset({"phi_start", "oscillation"})
ORIENTATION = CELL | MISSET | SPINDLE | {"mosaic_spread"}
ALL_PARAMETERS = ORIENTATION | {"wavelength", "distance", "fluence", "polarization"}


@dataclass(frozen=True)
class Break:
    id: str
    family: str
    path: str  # relative to the braggsim package folder
    old: str
    new: str
    parameters: frozenset[str]
    outcome: str
    description: str
    imports: tuple[str, ...] = ()  # import lines the edit needs, added before the file's first import

    def __post_init__(self) -> None:
        if self.family not in FAMILIES or self.outcome not in OUTCOMES or "\n" in self.old:
            raise ValueError(f"malformed break {self.id!r}")


class BreakNotApplicable(ValueError):
    """The break's ``old`` fragment does not occur exactly once in its file."""


def apply(brk: Break, package_dir: Path) -> int:
    """Edit the file in the package copy at ``package_dir`` in place; return the 1-based edited line."""
    path = Path(package_dir) / brk.path
    text = path.read_text(encoding="utf-8")
    occurrences = text.count(brk.old)
    if occurrences != 1:
        raise BreakNotApplicable(f"{brk.id}: {brk.old!r} occurs {occurrences} times in {brk.path}")
    start = text.index(brk.old)
    line = text.count("\n", 0, start) + 1
    text = text[:start] + brk.new + text[start + len(brk.old) :]
    lines = text.splitlines(keepends=True)
    missing = [f"{statement}\n" for statement in brk.imports if f"{statement}\n" not in lines]
    if missing:
        first = next(
            index
            for index, source in enumerate(lines)
            if source.startswith(("import ", "from ")) and not source.startswith("from __future__")
        )
        lines[first:first] = missing
        line += len(missing) if first < line else 0
    path.write_text("".join(lines), encoding="utf-8")
    return line


BREAKS: tuple[Break, ...] = (
    Break(
        id="detach_misset_rotation",
        family="detach",
        path="crystal.py",
        old="        return rotation_xyz(*angles)",
        new="        return rotation_xyz(*angles).detach()",
        parameters=MISSET,
        outcome="none",
        description="The misset rotation matrix is detached, as if the crystal orientation were fixed.",
    ),
    Break(
        id="requires_grad_off_polarization",
        family="detach",
        path="beam.py",
        old="        return self.spec.tensor(self.config.polarization)",
        new="        return self.spec.tensor(self.config.polarization).requires_grad_(False)",
        parameters=frozenset({"polarization"}),
        outcome="none",
        description="requires_grad_(False) on the Kahn factor: as_tensor returns the caller's leaf itself, "
        "so its gradient is switched off for good.",
    ),
    Break(
        id="float_wavelength",
        family="scalars",
        path="beam.py",
        old="        return self.spec.tensor(self.config.wavelength)",
        new="        return self.spec.tensor(float(self.config.wavelength))",
        parameters=frozenset({"wavelength"}),
        outcome="none",
        description="float() of the wavelength before it becomes a tensor again.",
    ),
    Break(
        id="item_phi_step",
        family="scalars",
        path="crystal.py",
        old="        step = self._radians(config.oscillation) / config.phi_steps",
        new="        step = self._radians(config.oscillation).item() / config.phi_steps",
        parameters=frozenset({"oscillation"}),
        outcome="none",
        description=".item() on the spindle step, to multiply an arange by a plain number.",
    ),
    Break(
        id="math_radians_mosaic_spread",
        family="scalars",
        path="crystal.py",
        old="        spread = self._radians(self.config.mosaic_spread)",
        new="        spread = self.spec.tensor(math.radians(self.config.mosaic_spread))",
        parameters=frozenset({"mosaic_spread"}),
        outcome="none",
        description="math.radians on the mosaic spread tensor, which silently goes through float().",
        imports=("import math",),
    ),
    Break(
        id="data_reciprocal_basis",
        family="data_attr",
        path="crystal.py",
        old="        return dual_basis(standard_basis(lengths, angles))",
        new="        return dual_basis(standard_basis(lengths, angles)).data",
        parameters=CELL,
        outcome="none",
        description=".data on the reciprocal vectors, from which the real-space cell is derived.",
    ),
    Break(
        id="numpy_phi_start",
        family="numpy",
        path="crystal.py",
        old="        start = self._radians(config.phi_start)",
        new="        start = self._radians(np.float64(config.phi_start))",
        parameters=frozenset({"phi_start"}),
        outcome="none",
        description="np.float64 of the spindle start angle, to be sure of double precision.",
    ),
    Break(
        id="tensor_rotation_about_x",
        family="construct",
        path="geometry.py",
        old="    about_x = stack_matrix(((one, zero, zero), (zero, cos_x, -sin_x), (zero, sin_x, cos_x)))",
        new="    about_x = torch.tensor("
        "[[1.0, 0.0, 0.0], [0.0, cos_x, -sin_x], [0.0, sin_x, cos_x]], dtype=angle_x.dtype)",
        parameters=frozenset({"misset_x"}),
        outcome="none",
        description="torch.tensor of a nested list of tensors instead of stacking them: copies values only.",
    ),
    Break(
        id="linspace_phi_angles",
        family="ranges",
        path="crystal.py",
        old="        angles = start + step * torch.arange("
        "config.phi_steps, dtype=self.spec.dtype, device=self.spec.device)",
        new="        angles = torch.linspace(start, start + step * (config.phi_steps - 1), config.phi_steps, "
        "dtype=self.spec.dtype, device=self.spec.device)",
        parameters=SPINDLE,
        outcome="none",
        description="torch.linspace between tensor endpoints for the spindle angles: same values, no graph.",
    ),
    Break(
        id="no_grad_phi_rotations",
        family="grad_mode",
        path="crystal.py",
        old="        phi = self.phi_rotations()",
        new="        with torch.no_grad():\n            phi = self.phi_rotations()",
        parameters=SPINDLE,
        outcome="none",
        description="A torch.no_grad() block around building the spindle rotations.",
    ),
    Break(
        id="no_grad_pixel_positions",
        family="grad_mode",
        path="detector.py",
        old="    def pixel_positions(self, row_start: int, row_stop: int) -> torch.Tensor:",
        new="    @torch.no_grad()\n"
        "    def pixel_positions(self, row_start: int, row_stop: int) -> torch.Tensor:",
        parameters=frozenset({"distance"}),
        outcome="none",
        description="@torch.no_grad() on the detector geometry, thought to be constant.",
    ),
    Break(
        id="no_grad_stack_matrix",
        family="grad_mode",
        path="geometry.py",
        old="def stack_matrix(rows: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:",
        new="@torch.no_grad()\ndef stack_matrix(rows: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:",
        parameters=CELL | MISSET,
        outcome="none",
        description="@torch.no_grad() on a matrix-assembly helper two calls below where the cell and misset "
        "parameters enter (Crystal -> standard_basis / rotation_xyz -> stack_matrix).",
    ),
    Break(
        id="integer_miller_indices",
        family="casts",
        path="simulator.py",
        old='        hkl = torch.einsum("pmvi,rfi->pmrfv", bases, scattering)',
        new='        hkl = torch.einsum("pmvi,rfi->pmrfv", bases, scattering).round().long()',
        parameters=ORIENTATION | {"wavelength"},
        outcome="none",
        description="Miller indices cast to integers before the lattice factor: all that places a spot "
        "loses its gradient; distance keeps one through the solid angle and polarization.",
    ),
    Break(
        id="cached_reciprocal_basis",
        family="caching",
        path="crystal.py",
        old="    @property",
        new="    @functools.cached_property",
        parameters=CELL,
        outcome="error",
        description="The reciprocal basis cached on the crystal: the second fitting iteration backpropagates "
        "through the first iteration's freed graph.",
    ),
    Break(
        id="full_like_fluence",
        family="fills",
        path="simulator.py",
        old="        fluence = self.beam.fluence()",
        new="        fluence = torch.full_like(solid_angle, float(self.beam.fluence()))",
        parameters=frozenset({"fluence"}),
        outcome="none",
        description="A per-pixel fluence map from torch.full_like, whose fill value goes through float().",
    ),
    Break(
        id="branch_on_mosaic_spread",
        family="branching",
        path="crystal.py",
        old="        angles = spread * deviates",
        new="        angles = spread * deviates if spread > 0 else torch.zeros_like(deviates)",
        parameters=frozenset({"mosaic_spread"}),
        outcome="none",
        description="A Python branch skipping the mosaic rotation at zero spread, the workload's value.",
    ),
    Break(
        id="branch_on_kahn_factor",
        family="branching",
        path="physics.py",
        old="    return unpolarized - 0.5 * kahn_factor * (along**2 - across**2)",
        new="    return unpolarized - 0.5 * kahn_factor * (along**2 - across**2) "
        "if kahn_factor != 0 else unpolarized",
        parameters=frozenset({"polarization"}),
        outcome="none",
        description="A Python branch skipping the polarized term for K = 0, the workload's value.",
    ),
    Break(
        id="zero_default_structure_factor",
        family="zero_forward",
        path="config.py",
        old="    default_F: float | torch.Tensor = 100.0",
        new="    default_F: float | torch.Tensor = 0.0",
        parameters=ALL_PARAMETERS,
        outcome="zero",
        description="The default structure factor becomes 0: the image is all zero, so is every gradient, "
        "although the graph is intact.",
    ),
)


# Edits whose gradients stay finite and non-zero but are wrong: a cut on one of several paths from the cell
# constants to the image. Only a comparison with finite differences shows them.
WRONG_GRADIENT_BREAKS: tuple[Break, ...] = (
    Break(
        id="item_cell_volume",
        family="scalars",
        path="geometry.py",
        old="                cell_volume(lengths, cosines) / (a * b * sin_gamma),",
        new="                cell_volume(lengths, cosines).item() / (a * b * sin_gamma),",
        parameters=CELL,
        outcome="wrong",
        description=".item() on the cell volume in the z component of c: the cell constants still reach the "
        "image through the other components, with wrong gradients.",
    ),
    Break(
        id="detach_reciprocal_volume",
        family="detach",
        path="geometry.py",
        old="    volume = (a * crossed[..., 0, :]).sum(-1)",
        new="    volume = (a * crossed[..., 0, :]).sum(-1).detach()",
        parameters=CELL,
        outcome="wrong",
        description="The volume dividing the reciprocal vectors is detached, as if it were a constant "
        "normalization: the cell constants' gradients come out wrong.",
    ),
)
