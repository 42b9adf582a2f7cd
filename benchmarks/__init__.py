"""Benchmarks: `python -m benchmarks` runs the main() of every module in this folder."""
