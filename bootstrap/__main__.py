"""Entry point Pulumi runs for the bootstrap project (``bootstrap/Pulumi.yaml``).

The Python language host runs this directory's ``__main__.py`` with only ``bootstrap/`` on
``sys.path`` (``runpy.run_path``); the repository root goes in front so that ``bootstrap``,
``infra`` and ``stacks`` import as the packages they are.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bootstrap.program import program

program()
