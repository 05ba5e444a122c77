"""Benchmark scripts; results are written down in the README."""
