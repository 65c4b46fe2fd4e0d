"""A script target: fits a line, with the slope cut by ``.item()``; its arguments set the steps."""

import sys

import torch

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 1
slope = torch.tensor(1.0, requires_grad=True)
offset = torch.tensor(0.0, requires_grad=True)
xs = torch.arange(4.0)
for _ in range(steps):
    loss = ((slope.item() * xs + offset - 2 * xs) ** 2).sum()  # <- script item
    loss.backward()
print(f"steps {steps} loss {loss.item():.1f}")  # <- script print
