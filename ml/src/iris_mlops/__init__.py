"""Iris classifier pipeline for Databricks jobs and local runs (see docs/ml.md)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("iris-mlops")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
