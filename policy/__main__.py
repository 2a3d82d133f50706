"""Entry point Pulumi runs for ``pulumi preview --policy-pack policy``: it only instantiates the pack.

Pulumi runs this directory as a script (``runpy.run_path``), so only ``policy/`` itself is on
``sys.path``. The pack's modules are the ``policy`` package, importable once the repository root is
on the path too; they read the platform's facts from the bottom layer (``core``, stdlib-only), and
core reads the environments from the wheel's stdlib-only ``mlops_framework.vocabulary``, hence its
source folder. policy/venv holds pulumi-policy only (tests/policy/test_policy_packaging.py checks
that the rules load with nothing else).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ml" / "framework" / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policy.pack import PACK_NAME, build_policies

PolicyPack(name=PACK_NAME, policies=build_policies())
