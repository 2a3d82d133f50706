"""Thin CrossGuard wrappers: each Rule becomes a ResourceValidationPolicy that calls the same pure check.

How a real run learns its context:
- environment: the stack name (``pulumi.get_stack()``, which pulumi-policy configures from the
  CLI's PULUMI_STACK), falling back to the resource's ``environment`` tag; unknown means prod rules.
- repository: the policy config ``githubRepository`` (``--policy-pack-config``), falling back to
  GITHUB_REPOSITORY, which GitHub Actions sets on every run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from .context import PolicyContext, environment_from
from .registry import RULES, STACK_RULES
from .rule import Rule
from .stack_rule import StackResource, StackRule

PACK_NAME = "mlops-platform-policies"
REPOSITORY_CONFIG_KEY = "githubRepository"
REPOSITORY_ENV_VAR = "GITHUB_REPOSITORY"
REPOSITORY_SCHEMA = PolicyConfigSchema(
    properties={
        REPOSITORY_CONFIG_KEY: {
            "type": "string",
            "pattern": "^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$",
            "description": "owner/repo whose GitHub environments may deploy (default: $GITHUB_REPOSITORY)",
        }
    }
)
# pulumi-policy hands policies plaintext with no secret marker (pulumi/pulumi-policy#241), so a
# check that needs to see secretness cannot judge a real run; the offline plan enforces it.
NOT_JUDGEABLE_REASON = "pulumi-policy unwraps secrets before policies see them; enforced by the offline plan"


def context_for(args: ResourceValidationArgs) -> PolicyContext:
    """The environment and repository of the run that is validating ``args``."""
    try:
        environment = environment_from(pulumi.get_stack(), args.props)
    except UnknownValueError:  # tags known only after apply
        environment = environment_from(pulumi.get_stack(), {})
    config: Mapping[str, Any] = args.get_config() or {}
    repository = config.get(REPOSITORY_CONFIG_KEY) or os.environ.get(REPOSITORY_ENV_VAR) or None
    # pulumi-policy configures the project from the CLI's PULUMI_PROJECT (pulumi_policy/policy.py).
    return PolicyContext(environment=environment, github_repository=repository, project=pulumi.get_project())


def policy_for(rule: Rule) -> ResourceValidationPolicy:
    """A CrossGuard policy that reports exactly what ``rule.evaluate`` returns."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        if rule.needs_secret_markers:
            args.not_applicable(NOT_JUDGEABLE_REASON)
        for message in rule.evaluate(args.resource_type, args.props, context_for(args)):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel(rule.enforcement.value),
        config_schema=REPOSITORY_SCHEMA if rule.name == "federated-credential-scoped" else None,
    )


# A stack rule reads values across resources; during a preview some are unknown until applied.
UNKNOWN_REASON = "values this rule reads are known only after apply; the offline plan checks them"


def stack_policy_for(rule: StackRule) -> StackValidationPolicy:
    """A CrossGuard stack policy reporting exactly what ``rule.evaluate`` returns, per resource."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            StackResource(
                urn=r.urn,
                type=r.resource_type,
                props=r.props,
                dependencies=tuple(d.urn for d in r.dependencies),
            )
            for r in args.resources
        ]
        context = PolicyContext(environment=environment_from(pulumi.get_stack(), {}))
        try:
            violations = rule.evaluate(resources, context)
        except UnknownValueError:
            args.not_applicable(UNKNOWN_REASON)
            return
        for urn, message in violations:
            report_violation(message, urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel(rule.enforcement.value),
    )


def build_policies() -> list[Policy]:
    """One CrossGuard policy per rule, in table order, then one stack policy per stack rule."""
    return [*(policy_for(rule) for rule in RULES), *(stack_policy_for(rule) for rule in STACK_RULES)]
