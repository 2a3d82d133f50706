"""What the fault tests' forkserver loads once, so that each child starts with it (fault_support.py).

The wheel imports mlflow's stores, scikit-learn, skops and deltalake inside the functions that use
them (a task imports only what it needs), so a child of a server that preloaded only the wheel's
top modules imported ~1,500 modules again: ~0.8 s for a registry read, ~3 s for a training. Only
imports and one read-only lookup happen here; nothing opens a store, a table or a thread pool, so
what a child inherits is what a fresh process would build for itself.
"""

from __future__ import annotations

import gc
import importlib

from fault_support import PRELOADED


def _warm_requirement_checks() -> None:
    """`mlflow.sklearn.log_model` checks its pip requirements against the installed distributions,
    read once per process by mlflow/utils/requirements_utils.py (`_init_modules_to_packages_map`,
    ~0.5 s): read here, every training child reuses it. The venv is the same in every child."""
    from mlflow.utils import requirements_utils  # noqa: PLC0415

    requirements_utils._init_modules_to_packages_map()


for _module in PRELOADED:
    importlib.import_module(_module)
_warm_requirement_checks()
# What the server imported lives as long as it does: frozen, a child's garbage collections never
# walk it, so they do not write to (and copy) the pages it shares with the server (the Python docs'
# advice for a server that forks, gc.freeze). Page faults per fault suite: ~349k -> ~260k.
gc.freeze()
