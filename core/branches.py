"""The release branches' pattern, for every place that names it.

The environments' deployment rules (stacks/defaults.py), the workflows' branch filters
(.github/workflows, compared by tests/workflows) and the bootstrap's branch ruleset
(infra/repository_settings.py) all read ``*`` as "anything but ``/``": GitHub's filter pattern
cheat sheet, the deployment-branch-policy ``name`` ("Wildcard characters will not match /") and the
rulesets' fnmatch syntax. So ``release/*`` protects exactly the branches that deploy uat, and a
``release/a/b`` is neither protected, nor deployed, nor started.
"""

from __future__ import annotations

# A release branch deploys uat (what merges to main deploys dev, and prod by promotion).
RELEASE_BRANCHES = "release/*"
