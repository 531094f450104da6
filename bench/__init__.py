"""Benchmarks (not part of the test run): `python -m bench.engine`. See bench/README.md."""


def noop() -> None:
    """The no-op RQ job of the ceiling measurement: module-level, imports nothing, does nothing."""
