"""The tag keys every taggable resource carries: ``infra/tags.py`` applies them, and the policy
pack (policy/tags.py) requires them. Stdlib only, so the pack can import it from its own
virtualenv.
"""

from __future__ import annotations

TAG_KEYS: tuple[str, ...] = ("environment", "project", "owner", "cost-center", "managed-by")
