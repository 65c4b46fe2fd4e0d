"""The differentiable-path analysis: sources, propagation across functions, classes and modules, and uses."""

from __future__ import annotations

from typing import List

from gradlint.findings import Confidence, Finding


def brief(findings: List[Finding]) -> List[tuple]:
    return [(f.location.path, f.location.line, f.code, f.confidence.label, f.use) for f in findings]


def test_config_field_flows_through_attributes_and_a_method_across_modules(scan):
    findings = scan(
        {
            "pkg/config.py": """\
            from dataclasses import dataclass
            import torch

            @dataclass
            class CrystalConfig:
                cell_a: float | torch.Tensor = 100.0
                n_cells: int = 5
        """,
            "pkg/crystal.py": """\
            import torch
            from .config import CrystalConfig

            class Crystal:
                def __init__(self, config: CrystalConfig) -> None:
                    self.cell_a = config.cell_a
                    self.n_cells = config.n_cells

                def volume(self) -> torch.Tensor:
                    edge = self.cell_a
                    return edge ** 3

                def scaled(self, x: torch.Tensor) -> torch.Tensor:
                    v = self.volume()
                    return x * v.item() * float(self.n_cells)
        """,
        }
    )
    assert brief(findings) == [("pkg/crystal.py", 15, "GL010", "medium", "computation")]
    assert [(step.code, step.path, step.line) for step in findings[0].chain] == [
        ("v", "pkg/crystal.py", 15),
        ("self.volume()", "pkg/crystal.py", 14),
        ("edge ** 3", "pkg/crystal.py", 11),
        ("self.cell_a", "pkg/crystal.py", 10),
        ("config.cell_a", "pkg/crystal.py", 6),
        ("cell_a: float | torch.Tensor = 100.0", "pkg/config.py", 6),
    ]


def test_a_cut_two_calls_away_is_found_through_parameter_and_return_summaries(scan):
    findings = scan(
        {
            "pkg/model.py": """\
            import torch

            def outer(p: torch.Tensor) -> torch.Tensor:
                return middle(p) * p

            def middle(q):
                return inner(q) + 1

            def inner(r):
                return torch.as_tensor(float(r))
        """,
        }
    )
    assert brief(findings) == [("pkg/model.py", 10, "GL012", "medium", "computation")]


def test_requires_grad_source_is_high_and_logging_use_is_low(scan):
    findings = scan(
        {
            "pkg/fit.py": """\
            import torch

            weights = torch.ones(3, requires_grad=True)

            def loss(x):
                total = (weights * x).sum()
                print(f"total {total.item():.3f}")
                return x * total.item()
        """,
        }
    )
    assert brief(findings) == [
        ("pkg/fit.py", 7, "GL010", "low", "benign"),
        ("pkg/fit.py", 8, "GL010", "high", "computation"),
    ]


def test_unannotated_helper_takes_the_grade_of_its_callers(scan):
    findings = scan(
        {
            "pkg/net.py": """\
            import torch

            class Net(torch.nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.scale = torch.nn.Parameter(torch.ones(1))

                def forward(self, x):
                    return shrink(self.scale) * x

            def shrink(value):
                return value.detach() / 2
        """,
        }
    )
    assert brief(findings) == [("pkg/net.py", 12, "GL001", "high", "computation")]


def test_property_results_carry_the_grade_of_what_they_compute(scan):
    findings = scan(
        {
            "pkg/cell.py": """\
            import torch

            class Cell:
                def __init__(self, edges: torch.Tensor) -> None:
                    self.edges = edges

                @property
                def volume(self) -> torch.Tensor:
                    return torch.prod(self.edges)

                def density(self, mass: torch.Tensor) -> torch.Tensor:
                    return mass / self.volume.item()
        """,
        }
    )
    assert brief(findings) == [("pkg/cell.py", 12, "GL010", "medium", "computation")]


def test_constants_shapes_and_python_numbers_are_never_reported(scan):
    findings = scan(
        {
            "pkg/shapes.py": """\
            import math
            import torch

            def grid(x: torch.Tensor, spacing: float) -> torch.Tensor:
                rows = x.shape[0]
                count = torch.zeros(3).sum().item()
                step = math.sqrt(spacing)
                return torch.arange(rows) * step + count + float(x.dim())
        """,
        }
    )
    assert findings == []


def test_cut_value_returned_to_unknown_callers_escapes_at_medium(scan):
    findings = scan(
        {
            "pkg/api.py": """\
            import torch

            def orientation(angles: torch.Tensor) -> torch.Tensor:
                return torch.matrix_exp(angles).detach()
        """,
        }
    )
    assert brief(findings) == [("pkg/api.py", 4, "GL001", "medium", "escapes")]


def test_cut_value_returned_to_a_caller_that_only_logs_it_is_low(scan):
    findings = scan(
        {
            "pkg/api.py": """\
            import torch

            def orientation(angles: torch.Tensor) -> torch.Tensor:
                return torch.matrix_exp(angles).detach()

            def show(angles: torch.Tensor) -> None:
                print(orientation(angles))
        """,
        }
    )
    assert brief(findings) == [("pkg/api.py", 4, "GL001", "low", "benign")]


def test_in_place_updates_under_no_grad_are_fine_and_escaping_results_are_not(scan):
    findings = scan(
        {
            "pkg/opt.py": """\
            import torch

            class Model(torch.nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.weight = torch.nn.Parameter(torch.zeros(3))

                def step(self, lr: float) -> None:
                    with torch.no_grad():
                        self.weight -= lr * self.weight.grad
                        self.weight.clamp_(min=0.0)

                def forward(self, x: torch.Tensor) -> torch.Tensor:
                    with torch.no_grad():
                        scale = self.weight.sum()
                    return x * scale
        """,
        }
    )
    assert brief(findings) == [("pkg/opt.py", 14, "GL060", "high", "computation")]


def test_branches_report_dropped_terms_but_not_piecewise_definitions(scan):
    findings = scan(
        {
            "pkg/branches.py": """\
            import torch

            def polarized(base: torch.Tensor, kahn: torch.Tensor, term: torch.Tensor) -> torch.Tensor:
                return base - kahn * term if kahn != 0 else base

            def absolute(x: torch.Tensor) -> torch.Tensor:
                return x if x > 0 else -x

            def optional(x: torch.Tensor, bias):
                if bias is not None:
                    x = x + bias
                return x
        """,
        }
    )
    assert brief(findings) == [
        ("pkg/branches.py", 4, "GL100", "medium", "computation"),
        ("pkg/branches.py", 7, "GL100", "low", "computation"),
    ]


def test_sinks_inside_a_no_grad_block_cut_nothing_more(scan):
    findings = scan(
        {
            "pkg/save.py": """\
            import numpy as np
            import torch

            def save(model: torch.nn.Module, x: torch.Tensor, path: str) -> None:
                with torch.no_grad():
                    image = model(x).cpu().numpy()
                    np.save(path, image)
        """,
        }
    )
    assert findings == []


def test_numbers_kept_in_slots_declared_as_numbers_are_benign(scan):
    findings = scan(
        {
            "pkg/stats.py": """\
            from dataclasses import dataclass
            from typing import Optional
            import torch

            @dataclass
            class Summary:
                norm: Optional[float] = None

            def summarise(gradient: torch.Tensor) -> Summary:
                return Summary(norm=float(gradient.norm()))

            def norm_of(gradient: torch.Tensor) -> float:
                return gradient.norm().item()
        """,
        }
    )
    assert brief(findings) == [
        ("pkg/stats.py", 10, "GL012", "low", "benign"),
        ("pkg/stats.py", 13, "GL010", "low", "benign"),
    ]


def test_values_passed_through_unknown_functions_are_judged_by_what_comes_back(scan):
    findings = scan(
        {
            "pkg/checks.py": """\
            import pytest
            import statistics
            import torch

            def check(image: torch.Tensor, expected: torch.Tensor) -> None:
                assert image.sum().item() == pytest.approx(expected.sum().item())

            def scaled(image: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
                return image * statistics.fmean(weights.tolist())
        """,
        }
    )
    assert brief(findings) == [
        ("pkg/checks.py", 6, "GL010", "low", "benign"),
        ("pkg/checks.py", 6, "GL010", "low", "benign"),
        ("pkg/checks.py", 9, "GL011", "medium", "computation"),
    ]


def test_the_chain_through_a_helper_follows_the_argument_of_its_own_call(scan):
    findings = scan(
        {
            "pkg/spin.py": """\
            import torch

            class Spindle:
                def __init__(self, start: torch.Tensor, step: torch.Tensor) -> None:
                    self.start = start
                    self.step = step

                def radians(self, degrees):
                    return torch.deg2rad(degrees)

                def angles(self) -> torch.Tensor:
                    first = self.radians(self.start)
                    step = self.radians(self.step).item()
                    return first + step * torch.arange(3)
        """,
        }
    )
    assert brief(findings) == [("pkg/spin.py", 13, "GL010", "medium", "computation")]
    assert [(step.code, step.line) for step in findings[0].chain] == [
        ("self.radians(self.step)", 13),
        ("torch.deg2rad(degrees)", 9),
        ("degrees", 8),
        ("self.step", 13),
        ("step", 6),
        ("step", 4),
    ]


def test_a_long_chain_keeps_its_newest_steps_and_its_origin_with_a_gap_between(scan):
    findings = scan(
        {
            "pkg/long.py": """\
            import torch

            def scaled(x: torch.Tensor) -> torch.Tensor:
                a = x * 2
                b = a + 1
                c = b * 3
                d = c - 1
                e = d * d
                f = e + 2
                g = f / 4
                return torch.ones(3) * g.item()
        """,
        }
    )
    assert brief(findings) == [("pkg/long.py", 11, "GL010", "medium", "escapes")]
    assert [(step.code, step.line) for step in findings[0].chain] == [
        ("g", 11),
        ("f / 4", 10),
        ("e + 2", 9),
        ("d * d", 8),
        ("…", 0),
        ("a + 1", 5),
        ("x * 2", 4),
        ("x", 3),
    ]


def test_the_chain_of_a_computation_follows_the_operand_its_gradient_comes_from(scan):
    findings = scan(
        {
            "pkg/mix.py": """\
            import torch

            class Model:
                def __init__(self, count: int, weight: torch.Tensor) -> None:
                    self.count = count
                    self.weight = weight

                def forward(self) -> torch.Tensor:
                    total = self.count + self.weight
                    return torch.ones(2) * total.item()
        """,
        }
    )
    assert brief(findings) == [("pkg/mix.py", 10, "GL010", "medium", "escapes")]
    assert [(step.code, step.line) for step in findings[0].chain] == [
        ("total", 10),
        ("self.count + self.weight", 9),
        ("self.weight", 9),
        ("weight", 6),
        ("weight", 4),
    ]


def test_a_function_of_tensors_is_not_a_tensor(scan):
    findings = scan(
        {
            "pkg/gain.py": """\
            from typing import Callable, Optional
            import torch

            def gain(fn: Callable[[torch.Tensor], torch.Tensor], x: Optional[torch.Tensor]) -> torch.Tensor:
                return torch.ones(2) * float(fn(1.0)) * float(x)
        """,
        }
    )
    assert [(f.location.line, f.location.column, f.code) for f in findings] == [(5, 45, "GL012")]


def test_calling_a_module_held_in_an_attribute_runs_its_forward(scan):
    findings = scan(
        {
            "pkg/vae.py": """\
            import torch
            from torch import nn
            from torch.distributions import Normal

            class Encoder(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.mean = nn.Linear(8, 2)

                def forward(self, x):
                    return self.mean(x)

            class Comparison:
                def __init__(self):
                    self.encoder = Encoder()

                def latent(self, x):
                    z_mean = self.encoder(x)
                    return Normal(z_mean, 1.0).sample()
        """,
        }
    )
    assert brief(findings) == [("pkg/vae.py", 19, "GL120", "medium", "escapes")]
    assert [step.code for step in findings[0].chain][-2:] == ["self.mean(x)", "nn.Linear(8, 2)"]


def test_a_dict_holds_each_key_apart_through_returns_stores_and_branches(scan):
    findings = scan(
        {
            "pkg/cli.py": """\
            from typing import Any, Dict
            import torch

            def parse(args) -> Dict[str, Any]:
                config = {"offset": 30.0}
                config["sources"] = torch.ones(3, requires_grad=True)
                return config

            def run(args) -> torch.Tensor:
                config = parse(args)
                if args.extra:
                    config["extra"] = torch.zeros(3)
                image = torch.ones(3)
                offset = config.get("offset", 40.0)
                if offset < 100.0:
                    image = image * 2.0
                return image * config["sources"].detach()
        """,
        }
    )
    assert brief(findings) == [("pkg/cli.py", 17, "GL001", "medium", "escapes")]


def test_a_forward_reference_annotation_names_its_class(scan):
    findings = scan(
        {
            "pkg/crystal.py": """\
            from dataclasses import dataclass
            from typing import Tuple
            import torch

            @dataclass
            class Config:
                cell_a: float = 1.0
                axis: Tuple[float, float, float] = (0.0, 0.0, 1.0)

            def rotate(config: "Config", h: torch.Tensor) -> torch.Tensor:
                return h * torch.tensor(config.axis) * config.cell_a

            def fit() -> torch.Tensor:
                config = Config(cell_a=torch.tensor(2.0, requires_grad=True))
                return rotate(config, torch.ones(3))
        """,
        }
    )
    assert brief(findings) == [("pkg/crystal.py", 11, "GL040", "medium", "computation")]


def test_isinstance_of_a_program_class_names_the_class_of_the_value(scan):
    findings = scan(
        {
            "pkg/pulse.py": """\
            import torch

            class Trapezoid:
                def __init__(self, amplitude):
                    self.amplitude = amplitude

            def ramp(shape) -> torch.Tensor:
                assert isinstance(shape, Trapezoid)
                return torch.tensor([0.0, shape.amplitude]) * 2.0

            def fit() -> torch.Tensor:
                return ramp(Trapezoid(torch.tensor(1.0, requires_grad=True)))
        """,
        }
    )
    assert brief(findings) == [("pkg/pulse.py", 9, "GL041", "medium", "escapes")]


def test_zip_and_enumerate_hand_out_each_position_from_its_own_iterable(scan):
    findings = scan(
        {
            "pkg/plots.py": """\
            import torch

            def show(axes, solutions, weights: torch.Tensor) -> torch.Tensor:
                total = torch.zeros(())
                for i, (ax, u, w) in enumerate(zip(axes, solutions, weights)):
                    ax.imshow(u.detach().cpu().numpy())
                    total = total + w.detach() * i
                return total * weights.sum()
        """,
        },
        confidence=Confidence.MEDIUM,
    )
    assert brief(findings) == [("pkg/plots.py", 7, "GL001", "medium", "computation")]


def test_plots_tables_and_loggers_only_look_but_a_tensor_method_named_like_one_computes(scan):
    findings = scan(
        {
            "pkg/report.py": """\
            import matplotlib.pyplot as plt
            import pandas as pd
            import torch

            def report(x: torch.Tensor) -> None:
                plt.plot(x.detach().numpy())
                frame = pd.DataFrame({"x": x.detach().numpy()})
                frame.to_csv("x.csv")

            def entropy(p: torch.Tensor) -> torch.Tensor:
                return -(p * p.detach().log()).sum()
        """,
        },
        confidence=Confidence.MEDIUM,
    )
    assert brief(findings) == [("pkg/report.py", 11, "GL001", "medium", "computation")]


def test_a_branch_on_a_type_or_size_test_has_no_boundary(scan):
    findings = scan(
        {
            "pkg/tests.py": """\
            import torch

            def forward(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
                positive = x > 0
                if isinstance(positive, tuple) or len(positive) > 3:
                    return x * scale
                if positive.any():
                    return x * scale
                return x
        """,
        }
    )
    assert brief(findings) == [("pkg/tests.py", 7, "GL100", "medium", "computation")]


def test_a_parameter_documented_as_a_tensor_counts_as_one(scan):
    findings = scan(
        {
            "pkg/documented.py": '''\
            import numpy as np
            import torch

            def google(pos, scale):
                """Scaled positions.

                Args:
                    pos (torch.Tensor of shape (N, 3)): positions.
                    scale (float): factor.
                """
                return torch.as_tensor(np.asarray(pos)) * scale

            def numpy_style(pos, scale):
                """Scaled positions.

                Parameters
                ----------
                pos : Tensor
                """
                return torch.as_tensor(np.asarray(pos)) * scale

            def undocumented(pos, scale):
                return torch.as_tensor(np.asarray(pos)) * scale

            def documented_as_an_array(pos, scale):
                """:type pos: numpy.ndarray"""
                return torch.as_tensor(np.asarray(pos)) * scale
        ''',
        }
    )
    assert brief(findings) == [
        ("pkg/documented.py", 11, "GL031", "medium", "computation"),
        ("pkg/documented.py", 20, "GL031", "medium", "computation"),
        ("pkg/documented.py", 23, "GL031", "low", "computation"),
        ("pkg/documented.py", 27, "GL031", "low", "computation"),
    ]


def test_docstring_types_are_read_in_each_style_and_only_for_the_parameters():
    from gradlint.analysis.docstrings import documented_tensors

    docstring = """Args:
        image (Tensor, optional): the image.
        weight (torch.nn.Parameter): a weight.
        shape (tuple of int): not a tensor.
    grid : torch.FloatTensor of shape (H, W)
    :param torch.Tensor mask: a mask
    :type offsets: Tensor or None
    other (Tensor): not a parameter of the function.
    """
    names = {"image", "weight", "shape", "grid", "mask", "offsets"}
    assert documented_tensors(docstring, names) == {"image", "weight", "grid", "mask", "offsets"}
