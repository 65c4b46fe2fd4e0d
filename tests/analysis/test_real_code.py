"""The analysis on the shapes real code takes: what narrows a value, what a cut's use really is, and what shows
that a cut is meant. Each test is taken from a pattern met in public repositories (see bench/corpus)."""

from __future__ import annotations

from typing import List

from gradlint.findings import Finding


def brief(findings: List[Finding]) -> List[tuple]:
    return [(f.location.line, f.code, f.confidence.label) for f in findings]


# --- narrowing -------------------------------------------------------------------------------------------------


def test_a_branch_taken_only_for_numbers_converts_numbers(scan):
    findings = scan(
        {
            "pkg/detector.py": """\
        import torch
        from typing import Union

        class Detector:
            def __init__(self, distance: Union[float, torch.Tensor]) -> None:
                self.distance = distance

            def corrected(self, cos_angle: torch.Tensor) -> torch.Tensor:
                if isinstance(self.distance, torch.Tensor):
                    return self.distance / cos_angle
                return torch.tensor(self.distance) / cos_angle

            def shifted(self, value: Union[float, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
                if not isinstance(value, torch.Tensor):
                    value = torch.tensor(value)
                return x + value

            def cut(self, value: Union[float, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
                return x + torch.tensor(value)
    """
        }
    )
    assert brief(findings) == [(11, "GL040", "low"), (15, "GL040", "low"), (19, "GL040", "medium")]


def test_a_conditional_expression_narrows_each_side(scan):
    findings = scan(
        {
            "pkg/report.py": """\
        import torch

        def scale(x: torch.Tensor, factor: float | torch.Tensor) -> torch.Tensor:
            number = factor if isinstance(factor, torch.Tensor) else torch.tensor(factor)
            return x * number
    """
        }
    )
    assert brief(findings) == [(4, "GL040", "low")]


# --- grades ---------------------------------------------------------------------------------------------------


def test_a_received_tensor_may_require_grad(scan):
    """Library code: the caller's tensor is unknown, but only tensors have `.detach()`."""
    findings = scan(
        {
            "pkg/layer.py": """\
        import torch

        def message(edge_net, x_i, x_j):
            return edge_net(torch.cat((x_i, x_j), dim=-1).detach()) * x_j
    """
        }
    )
    assert brief(findings) == [(4, "GL001", "medium")]


def test_annotations_are_read_through_type_aliases(scan):
    findings = scan(
        {
            "pkg/alias.py": """\
        import torch
        from typing import Union

        Scalar = Union[float, torch.Tensor]

        def scale(a: Scalar, b: torch.Tensor) -> torch.Tensor:
            return b * float(a)
    """
        }
    )
    assert brief(findings) == [(7, "GL012", "medium")]


def test_a_configuration_that_receives_a_tensor_carries_parameters_in_its_real_fields(scan):
    findings = scan(
        {
            "pkg/crystal.py": """\
        import torch
        from dataclasses import dataclass
        from typing import Dict, Tuple

        @dataclass
        class CrystalConfig:
            cell_a: float = 100.0
            default_F: float = 0.0
            n_cells: int = 5
            table: Dict[Tuple[int, int, int], float] = None

        def structure_factors(h: torch.Tensor, config: CrystalConfig) -> torch.Tensor:
            scale = float(config.n_cells) + float(len(config.table or {}))
            return torch.full_like(h, float(config.default_F)) * scale

        def fit() -> torch.Tensor:
            config = CrystalConfig(cell_a=torch.tensor(100.0, requires_grad=True))
            return structure_factors(torch.zeros(3), config)
    """
        }
    )
    assert [(line, code) for line, code, confidence in brief(findings) if confidence != "low"] == [
        (14, "GL090"),
        (14, "GL012"),
    ]


def test_a_module_imported_through_a_namespace_folder_is_the_same_module(scan):
    findings = scan(
        {
            "pkg/geometry.py": """\
            import torch

            def unit(v: torch.Tensor) -> tuple:
                return float(v.norm()), {"norm": v.norm().item()}
        """,
            "tests/test_geometry.py": """\
            import torch
            from src.pkg.geometry import unit

            def test_unit():
                length, details = unit(torch.ones(3, requires_grad=True))
                assert length > 0, details["norm"]
        """,
        }
    )
    assert [(f.location.path, f.location.line, f.confidence.label) for f in findings] == [
        ("pkg/geometry.py", 4, "low"),
        ("pkg/geometry.py", 4, "low"),
    ]


# --- uses -----------------------------------------------------------------------------------------------------


def test_backward_is_the_strongest_use_and_a_loss_read_after_it_cuts_nothing(scan):
    findings = scan(
        {
            "pkg/train.py": """\
        import torch

        def pack(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.tensor([a, b]) * 2.0

        def step(model: torch.nn.Module, x: torch.Tensor, history: list, losses: list) -> None:
            w = torch.ones(2, requires_grad=True)
            pack(w[0], w[1]).sum().backward()
            loss = model(x).square().mean()
            loss.backward()
            history.append(loss.item())
            losses.append(loss.detach())
    """
        }
    )
    assert brief(findings) == [(4, "GL041", "high")]


def test_a_combination_matters_only_when_its_result_does(scan):
    """Index arithmetic on an integer cast and a product that is only printed: the cast and the `.item()` do not
    matter; the same product returned does."""
    findings = scan(
        {
            "pkg/lookup.py": """\
        import torch

        def lookup(table: torch.Tensor, h: torch.Tensor, h_min) -> torch.Tensor:
            index = torch.floor(h).long() - h_min
            return table[index]

        def show(x: torch.Tensor, w: torch.Tensor) -> None:
            print(x.sum().item() * w)

        def scaled(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return x.sum().item() * w
    """
        }
    )
    assert [(line, code, confidence) for line, code, confidence in brief(findings) if confidence != "low"] == [
        (11, "GL010", "medium")
    ]


def test_a_number_kept_in_a_container_is_a_record(scan):
    findings = scan(
        {
            "pkg/meter.py": """\
        import torch

        class Trainer:
            def __init__(self) -> None:
                self.meters = {}

            def log(self, name: str, loss: torch.Tensor) -> None:
                self.meters[name] = loss.item()

            def details(self, error: torch.Tensor) -> dict:
                return {"error": error.item() if isinstance(error, torch.Tensor) else error}

            def compute_loss(self, losses, train: bool) -> tuple:
                logs = {}
                total = 0
                for index, loss in enumerate(losses):
                    total += loss.mean()
                    meter = self.meters[index] if train else self.meters[-index]
                    meter.update(loss.detach().cpu().numpy())
                    logs[type(loss).__name__] = meter.avg
                return total, logs
    """
        }
    )
    assert brief(findings) == [(8, "GL010", "low"), (11, "GL010", "low"), (19, "GL001", "low"), (19, "GL030", "low")]


def test_a_record_is_used_at_most_as_a_stored_value(scan):
    findings = scan(
        {
            "pkg/stats.py": """\
        import torch

        def summary(x: torch.Tensor) -> dict:
            return {"mean": x.mean().detach()}

        def show(x: torch.Tensor) -> None:
            report = {"index": (x * 10).long()}
            print(report)
    """
        }
    )
    assert [(f.location.line, f.code, f.confidence.label, f.use) for f in findings] == [
        (4, "GL001", "medium", "stored"),
        (7, "GL070", "low", "benign"),
    ]


# --- intent ---------------------------------------------------------------------------------------------------


def test_a_cut_value_set_against_a_prediction_in_a_loss_is_its_target(scan):
    findings = scan(
        {
            "pkg/rl.py": """\
        import torch
        import torch.nn.functional as F

        def td_loss(online: torch.nn.Module, target: torch.nn.Module, obs: torch.Tensor, rewards: torch.Tensor,
                    next_obs: torch.Tensor) -> torch.Tensor:
            q = online(obs).max(dim=1).values
            with torch.no_grad():
                bootstrap = rewards + 0.99 * target(next_obs).max(dim=1).values
            return F.smooth_l1_loss(q, bootstrap)

        def distill(student: torch.nn.Module, teacher: torch.nn.Module, x: torch.Tensor, criterion) -> torch.Tensor:
            return criterion(student(x), teacher(x).detach())

        def wrong(loss_fn, prediction: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
            return loss_fn(prediction.detach(), label.detach())
    """
        }
    )
    assert brief(findings) == [
        (7, "GL060", "low"),
        (12, "GL001", "low"),
        (15, "GL001", "medium"),
        (15, "GL001", "medium"),
    ]


def test_a_value_detached_on_one_path_and_used_on_another_is_a_stop_gradient(scan):
    findings = scan(
        {
            "pkg/gan.py": """\
        import torch
        import torch.nn.functional as F

        def gan_step(generator: torch.nn.Module, discriminator: torch.nn.Module, z: torch.Tensor):
            fake = generator(z)
            d_loss = F.softplus(discriminator(fake.detach())).mean()
            g_loss = F.softplus(-discriminator(fake)).mean()
            return d_loss + g_loss

        def gated(edge_net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
            return edge_net(x.detach()) * x
    """
        }
    )
    assert brief(findings) == [(6, "GL001", "low"), (11, "GL001", "medium")]


def test_what_is_computed_under_a_debug_flag_is_a_report_and_a_switch_for_a_cut_means_it(scan):
    findings = scan(
        {
            "pkg/sim.py": """\
        import torch

        class Simulator:
            def __init__(self, trace_pixel=None, verbose: bool = False) -> None:
                self.trace_pixel = trace_pixel
                self.verbose = verbose

            def cached(self, x: torch.Tensor, settings) -> torch.Tensor:
                cache = x.exp()
                if settings.detach_test_caches.on():
                    cache = cache.detach()
                return cache

            def run(self, intensity: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
                if self.trace_pixel:
                    peak = torch.tensor(intensity.max().item()) * scale
                    print(f"peak {peak}")
                    self.last_peak = peak
                return intensity * scale
    """
        }
    )
    assert brief(findings) == [(11, "GL001", "low"), (16, "GL040", "low"), (16, "GL010", "low")]


def test_a_no_grad_function_cuts_only_what_leaves_it(scan):
    findings = scan(
        {
            "pkg/evaluate.py": """\
        import torch
        import torch.nn.functional as F

        @torch.no_grad()
        def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            return {"loss": loss.item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}

        @torch.no_grad()
        def embed(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
            features = model(x)
            return features

        def head(model: torch.nn.Module, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return embed(model, x) @ w
    """
        }
    )
    assert brief(findings) == [(10, "GL061", "high")]


# --- branches -------------------------------------------------------------------------------------------------


def test_a_flag_and_a_helper_decided_on_differentiable_values_decide_the_branch(scan):
    findings = scan(
        {
            "pkg/crystal.py": """\
        import torch

        class Crystal:
            def __init__(self, spread: torch.Tensor, distance: torch.Tensor) -> None:
                self.spread = spread
                self.distance = distance

            def _is_default(self) -> bool:
                return bool(self.distance == 100.0)

            def rotations(self, vectors: torch.Tensor) -> torch.Tensor:
                has_mosaic = torch.any(self.spread > 0)
                if has_mosaic:
                    vectors = vectors * torch.cos(self.spread)
                return vectors

            def place(self, x: torch.Tensor) -> torch.Tensor:
                if self._is_default():
                    return x
                return x * self.distance

            def validate(self, angle: torch.Tensor) -> None:
                if (angle <= 0).any():
                    raise ValueError("angles must be positive")
    """
        }
    )
    assert brief(findings) == [(13, "GL100", "medium"), (18, "GL100", "medium")]


# --- cost -----------------------------------------------------------------------------------------------------


def test_grades_joined_again_and_again_in_nested_loops_stay_shared(scan):
    """Loops are interpreted twice and their values joined: the parts of a grade are shared, and every step that
    walks them (narrowing, branches, positions, the solve) must open each part once, not once per path. This
    shape, from a real kernel's backward, did not finish in minutes when they were walked as trees."""
    findings = scan(
        {
            "pkg/kernel.py": """\
        import torch


        def backward(ctx, grad):
            grad_F = grad_Y = grad_R = None
            if ctx.needs[0]:
                grad_F = grad.new_zeros(3)
            if ctx.needs[1]:
                grad_Y = grad.new_zeros(3)
            if ctx.needs[2]:
                grad_R = grad.new_zeros(3)
            for i, row_out in enumerate(ctx.rows_out):
                for j, row_in in enumerate(ctx.rows_in):
                    if not row_in:
                        continue
                    if (grad_Y is not None) or (grad_F is not None):
                        sub_R = ctx.R[i, j]
                    if grad_R is not None:
                        sub_grad_R = grad_R[i].clone()
                    if grad_F is not None:
                        sub_grad_F = grad_F[j].clone()
                    if (grad_Y is not None) or (grad_R is not None):
                        sub_F = ctx.F[j]
                    for k, weight in enumerate(row_in):
                      for m, scale in enumerate(weight):
                        if grad_F is not None:
                            sub_grad_F += scale * grad * sub_R
                        if grad_Y is not None:
                            grad_Y[k] += scale * grad * sub_F
                        if grad_F is not None:
                            sub_grad_F += weight * grad * sub_R
                        if grad_Y is not None:
                            grad_Y[k] += weight * grad * sub_F
                        if grad_R is not None:
                            sub_grad_R[k] = weight * grad * sub_F
                    if grad_F is not None:
                        grad_F[j] = sub_grad_F.detach()
                    if grad_R is not None:
                        grad_R[i] += sub_grad_R
            return grad_F, grad_Y, grad_R
    """
        }
    )
    assert brief(findings) == [(37, "GL001", "medium")]


def test_a_branch_decides_only_what_it_leaves_behind(scan):
    """A branch whose differentiable intermediate is dropped (sampling noise from a slice of the mean), or that
    only picks one value instead of another (clipping to a bound), decides no differentiable work."""
    findings = scan(
        {
            "pkg/noise.py": """\
        import torch

        def add_noise(mean: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
            noisy = mean.clone()
            small = mean < 12
            if small.any():
                small_means = mean[small]
                noisy[small] = torch.poisson(small_means)
            bound = low
            if bound < mean.max():
                bound = mean.max()
            if low.sum() > 0:
                noisy = noisy + low.exp()
            return noisy * bound
    """
        }
    )
    assert brief(findings) == [(10, "GL100", "low"), (12, "GL100", "medium")]


def test_the_fix_hint_of_a_recorded_value_keeps_it_recorded(scan):
    """Suggesting to keep the tensor where it is only recorded would keep every step's graph alive."""
    findings = scan(
        {
            "pkg/loop.py": """\
        import torch

        def step(model: torch.nn.Module, x: torch.Tensor, history: dict) -> torch.Tensor:
            loss = model(x).square().mean()
            history["loss"] = loss.item()
            return x * loss.item()
    """
        }
    )
    hints = {f.location.line: f.fix for f in findings}
    assert hints[5].startswith("to record or log the value, this is the right form")
    assert hints[6].startswith("keep the tensor")


def test_library_code_receives_its_callers_tensors(scan):
    """An unannotated parameter used as only a tensor can be, torch's results on unknown inputs, and an instance
    that keeps its arguments (a named tuple of losses) are what a caller differentiates."""
    findings = scan(
        {
            "pkg/losses.py": """\
        import math
        from typing import NamedTuple

        import torch

        class RateLoss(NamedTuple):
            rate: torch.Tensor
            total: torch.Tensor

        def rate_loss(probabilities, scale: float) -> RateLoss:
            pixels = -math.log(2) * scale
            bits = [float(torch.log(p).sum() / pixels) for p in probabilities]
            rate = torch.tensor(bits).sum()
            return RateLoss(rate, torch.tensor([rate * scale]))

        def lengths(points):
            return points.norm(dim=-1).detach().unsqueeze(-1)
    """
        }
    )
    assert [(f.location.line, f.code, f.confidence.label) for f in findings] == [
        (12, "GL012", "medium"),
        (13, "GL041", "medium"),
        (14, "GL041", "medium"),
        (17, "GL001", "medium"),
    ]


def test_annotations_of_other_libraries_and_unknown_classes_do_not_hide_a_tensor(scan):
    """torchtyping's TensorType says tensor; a type imported from elsewhere (a tensor alias of another module) is
    unknown, not a plain object; a lambda's body is code too."""
    findings = scan(
        {
            "pkg/envs.py": """\
        import torch
        from torchtyping import TensorType
        from pkg.types import T

        class Env:
            def logprobs(self, policy_outputs: TensorType["n", "m"], mask) -> torch.Tensor:
                logits = policy_outputs.clone().detach()
                logits[mask] = -torch.inf
                return torch.log_softmax(logits, dim=-1)

        def message(edge_net, x_i: T, x_j: T) -> T:
            return edge_net(torch.cat((x_i, x_j), dim=1).detach()) * x_j

        def hook(store, output):
            store.latents = apply(lambda t: t.clone().detach(), output)
    """,
            "pkg/types.py": "import torch\nT = torch.Tensor\n",
        }
    )
    assert [(f.location.line, f.code, f.confidence.label) for f in findings] == [
        (7, "GL001", "medium"),
        (12, "GL001", "medium"),
        (15, "GL001", "medium"),
    ]


def test_a_tensor_handed_as_it_is_to_unknown_code_is_kept_there(scan):
    """A metric that detaches what it hands to a user's loss function also cuts what that function differentiates
    (a gradient penalty); a number handed on is only a record."""
    findings = scan(
        {
            "pkg/metric.py": """\
        import torch

        class Loss:
            def __init__(self, loss_fn) -> None:
                self._loss_fn = loss_fn

            def update(self, prediction: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> None:
                self.last = self._loss_fn(prediction.detach(), target.detach())
                report(weights.sum().item())
    """
        }
    )
    assert [(f.location.line, f.code, f.confidence.label, f.use) for f in findings] == [
        (8, "GL001", "medium", "stored"),
        (8, "GL001", "medium", "stored"),
        (9, "GL010", "low", "unused"),
    ]


def test_a_loss_is_computed_to_be_differentiated(scan):
    findings = scan(
        {
            "pkg/balance.py": """\
        import torch

        def balance_loss(model, weight: float):
            losses = [layer.gate.get_loss(clear=False) for layer in model.layers]
            return torch.tensor(losses, device=losses[0].device).mean() * weight
    """
        }
    )
    assert [(f.location.line, f.code, f.confidence.label) for f in findings] == [(5, "GL041", "medium")]
