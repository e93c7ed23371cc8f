"""Benchmarks, run by hand (`python -m bench.<name>`); each prints its figures.

See docs/performance.md for what each measures and the figures of the last run.
"""
