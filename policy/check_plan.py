"""Evaluate the whole pack over an offline plan, without the Pulumi CLI.

Accepts the plan JSON of docs/contracts.md section 2 (``{"stack", "resources": [{"urn", "type",
"inputs", ...}]}``) or anything shaped like ``stacks.offline.RecordedResource`` (``urn``, ``type``,
``masked_inputs()``). Inputs are judged in their masked form, where a secret is ``[secret]``:
that is what lets ``secret-inputs-are-secrets`` tell a secret from plaintext, which a real
CrossGuard run cannot.

    python -m stacks.plan --stack dev --json | python -m policy.check_plan --github-repository o/r
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .context import PolicyContext, environment_from, project_from_urn
from .registry import RULES, STACK_RULES
from .rule import Enforcement, Rule
from .stack_rule import StackResource, StackRule


class RecordedLike(Protocol):
    """The part of stacks.offline.RecordedResource the evaluator reads."""

    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def dependencies(self) -> tuple[str, ...]: ...
    def masked_inputs(self) -> dict[str, Any]: ...


PlanResource = Mapping[str, Any] | RecordedLike


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: Enforcement
    urn: str
    message: str

    def __str__(self) -> str:
        return f"[{self.enforcement}] {self.policy}: {self.urn}: {self.message}"


def _urn_type_inputs(resource: PlanResource) -> tuple[str, str, Mapping[str, Any]]:
    if isinstance(resource, Mapping):
        return str(resource["urn"]), str(resource["type"]), resource.get("inputs") or {}
    return resource.urn, resource.type, resource.masked_inputs()


def stack_resource(resource: PlanResource) -> StackResource:
    urn, resource_type, inputs = _urn_type_inputs(resource)
    if isinstance(resource, Mapping):
        dependencies = tuple(str(d) for d in resource.get("dependencies") or ())
    else:
        dependencies = tuple(resource.dependencies)
    return StackResource(urn, resource_type, inputs, dependencies)


def evaluate(
    resources: Iterable[PlanResource],
    *,
    stack: str | None,
    github_repository: str | None,
    rules: Sequence[Rule] = RULES,
    stack_rules: Sequence[StackRule] = STACK_RULES,
) -> list[Violation]:
    """Every violation of every rule over ``resources``: resource rules in resource order then
    rule order, then the stack rules over all resources at once."""
    violations: list[Violation] = []
    listed = list(resources)
    for resource in listed:
        urn, resource_type, inputs = _urn_type_inputs(resource)
        context = PolicyContext(environment_from(stack, inputs), github_repository, project_from_urn(urn))
        for rule in rules:
            for message in rule.evaluate(resource_type, inputs, context):
                violations.append(Violation(rule.name, rule.enforcement, urn, message))
    whole = [stack_resource(resource) for resource in listed]
    # As the pack's context in a real run (pulumi.get_project()): the project is every URN's.
    project = project_from_urn(whole[0].urn) if whole else None
    stack_context = PolicyContext(environment_from(stack, {}), github_repository, project)
    for stack_rule in stack_rules:
        for urn, message in stack_rule.evaluate(whole, stack_context):
            violations.append(Violation(stack_rule.name, stack_rule.enforcement, urn, message))
    return violations


def evaluate_plan(plan: Mapping[str, Any], *, github_repository: str | None) -> list[Violation]:
    """Evaluate one ``python -m stacks.plan --json`` document."""
    return evaluate(plan["resources"], stack=plan.get("stack"), github_repository=github_repository)


def mandatory(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.enforcement is Enforcement.MANDATORY]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the policy pack over an offline plan (JSON on stdin).")
    parser.add_argument("--github-repository", help="owner/repo the federated credentials must name")
    args = parser.parse_args(argv)
    plan = json.load(sys.stdin)
    violations = evaluate_plan(plan, github_repository=args.github_repository)
    for violation in violations:
        print(violation)  # noqa: T201 - this is the CLI's output
    blocking = mandatory(violations)
    found = f"{len(violations)} violation(s), {len(blocking)} mandatory" if violations else "no violation"
    print(f"{plan.get('stack', 'the plan')}: {found} of the policy pack")  # noqa: T201
    return 1 if blocking else 0


if __name__ == "__main__":
    raise SystemExit(main())
