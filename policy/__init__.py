"""The platform's Pulumi policy pack: pure rules over resource inputs, wrapped for CrossGuard.

Rules live in small modules by concern and are plain functions
``(resource_type, props, context) -> list[str]``, so the same code runs under
``pulumi preview --policy-pack policy`` (see ``pack.py``) and offline over the recorded plan
(see ``offline.py``). This package imports nothing from ``stacks`` or ``infra``: Pulumi runs the
pack in its own virtualenv that holds only ``pulumi-policy``.
"""
