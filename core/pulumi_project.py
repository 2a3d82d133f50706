"""The two Pulumi projects' names.

``PROJECT`` is Pulumi.yaml's ``name``: the namespace of every config key
(``mlops-platform:<section>``), the project part of every URN and the ``project`` tag.
``BOOTSTRAP_PROJECT`` is bootstrap/Pulumi.yaml's: the once-per-organisation project whose stack
creates the state backend and the PR-preview identity (docs/bootstrap.md); the policy pack tells its
stacks from the environments' by it.
"""

from __future__ import annotations

PROJECT = "mlops-platform"
BOOTSTRAP_PROJECT = "mlops-bootstrap"
