"""How tasks meet threads in real CPython: one module per strategy, each `run(point) -> dict`."""
