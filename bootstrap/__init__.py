"""The bootstrap project: state backend, secrets keys, PR-preview identity and repository settings.

A second Pulumi project (``bootstrap/Pulumi.yaml``), one stack per organisation or subscription,
run once by an owner with ``make bootstrap`` before the first ``pulumi up`` of any environment.
"""
