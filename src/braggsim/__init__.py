"""Reference differentiable simulator."""
