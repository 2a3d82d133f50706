"""The Pulumi project's name: Pulumi.yaml's ``name``, the namespace of every config key
(``mlops-platform:<section>``), the project part of every URN and the ``project`` tag."""

from __future__ import annotations

PROJECT = "mlops-platform"
