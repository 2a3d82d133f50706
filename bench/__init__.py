"""Benchmarks run as `python -m bench`: ratios against a baseline measured in the same run."""
