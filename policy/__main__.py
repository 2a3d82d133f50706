"""Entry point Pulumi runs for ``pulumi preview --policy-pack policy``: it only instantiates the pack.

Pulumi runs this directory as a script (``runpy.run_path``), so only ``policy/`` itself is on
``sys.path``; the pack's modules are the ``policy`` package, importable once the repository root
is on the path too.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policy.pack import PACK_NAME, build_policies

PolicyPack(name=PACK_NAME, policies=build_policies())
