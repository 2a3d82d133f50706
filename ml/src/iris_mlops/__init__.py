"""The platform's ML framework and the Iris classifier on it, for Databricks jobs and local runs.

Every further project's wheel carries this package too (docs/ml.md, "Projects").
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("iris-mlops")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
