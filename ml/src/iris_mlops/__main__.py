"""`python -m iris_mlops` is `iris-mlops`."""

from iris_mlops.cli import main

main()
