"""The mechanisms behind the rules for cuts taken from real fixes: what in-place collectives and switches say about
the tensor they change, thresholds kept through bindings, custom autograd functions, fresh leaves."""

from __future__ import annotations

from typing import List

from gradlint.findings import Finding


def brief(findings: List[Finding]) -> List[tuple]:
    return [(f.location.line, f.code, f.confidence.label, f.use) for f in findings]


def test_the_uses_of_a_gathered_list_decide_and_a_restored_slot_is_deliberate(scan):
    findings = scan(
        {
            "pkg/gather.py": """\
        import torch
        import torch.distributed as dist

        def logged(local: torch.Tensor) -> None:
            gathered = [torch.zeros_like(local) for _ in range(4)]
            dist.all_gather(gathered, local)
            print(gathered)

        def used(local: torch.Tensor) -> torch.Tensor:
            gathered = [torch.zeros_like(local) for _ in range(4)]
            dist.all_gather(gathered, local)
            return torch.cat(gathered) * local

        def restored(local: torch.Tensor) -> torch.Tensor:
            gathered = [torch.zeros_like(local) for _ in range(4)]
            dist.all_gather(gathered, local)
            gathered[dist.get_rank()] = local
            return torch.cat(gathered) * local
    """
        }
    )
    assert brief(findings) == [(6, "GL130", "low", "benign"), (11, "GL130", "medium", "computation")]


def test_methods_of_a_custom_autograd_function_run_without_grad(scan):
    findings = scan(
        {
            "pkg/layer.py": """\
        import torch
        import torch.distributed as dist

        class Gather(torch.autograd.Function):
            @staticmethod
            def forward(ctx, local: torch.Tensor):
                gathered = [torch.zeros_like(local) for _ in range(4)]
                dist.all_gather(gathered, local)
                return torch.cat(gathered)

            @staticmethod
            def backward(ctx, grad: torch.Tensor):
                dist.all_reduce(grad)
                return grad.detach() * 2
    """
        }
    )
    assert findings == []


def test_switching_off_a_received_tensor_is_judged_by_what_is_done_with_it(scan):
    findings = scan(
        {
            "pkg/freeze.py": """\
        def freeze(backbone):
            backbone.requires_grad_(False)

        def render(scene, pixels):
            scene.requires_grad_(False)
            return pixels * scene

        def copy_then_switch(scene):
            local = scene * 2
            local.requires_grad_(False)
    """
        }
    )
    assert brief(findings) == [
        (2, "GL071", "low", "unused"),
        (5, "GL071", "medium", "computation"),
        (10, "GL071", "low", "computation"),
    ]


def test_a_threshold_keeps_its_inputs_through_a_binding_and_equality_is_no_threshold(scan):
    findings = scan(
        {
            "pkg/masks.py": """\
        import torch

        def weighted(scores: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
            above = scores > 0.5
            return (above.float() * weights).sum()

        def accuracy(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            return (scores.argmax(-1) == labels).float().mean()
    """
        }
    )
    assert brief(findings) == [(5, "GL111", "medium", "computation")]


def test_a_fresh_leaf_that_requires_grad_stays_one_when_its_construction_is_reported(scan):
    findings = scan(
        {
            "pkg/leaf.py": """\
        import torch

        def fit(initial: torch.Tensor) -> torch.Tensor:
            value = torch.tensor(initial, requires_grad=True)
            return value.detach() * value
    """
        }
    )
    assert (5, "GL001", "high", "computation") in brief(findings)
