"""Fails on import."""

raise RuntimeError("cannot import me")
