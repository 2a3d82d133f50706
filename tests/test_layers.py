"""Imports between our packages point one way: bottom -> components -> settings -> root -> tools.

Each module of ours is given a layer; a module may import its own layer and the layers below it,
never one above. The ML framework (mlops_framework) imports nothing of the platform nor of any
project, and imports itself relatively only (each project's wheel vendors it under the project's
package); its job-graph contract imports the standard library only, because the platform reads it
without the wheel's dependencies. A project's package (ml/projects/<name>/src/<package>) imports the
framework and itself only. The policy pack runs in its own virtualenv: of ours it imports the
bottom layer only (core, stdlib-only; policy/__main__.py puts it on the path).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest
from mlops_framework.vocabulary import Environment

ROOT = Path(__file__).resolve().parent.parent
BOTTOM, COMPONENTS, SETTINGS, ROOT_LAYER, TOOLS = range(5)
LAYER_NAMES = ("bottom", "components", "settings", "composition root", "tools")
FRAMEWORK = "mlops_framework"
PROJECT_SOURCES = sorted((ROOT / "ml" / "projects").glob("*/src"))
PROJECT_PACKAGES = tuple(
    sorted(path.parent.name for folder in PROJECT_SOURCES for path in folder.glob("*/__init__.py"))
)
ML = frozenset({FRAMEWORK, *PROJECT_PACKAGES})
OURS = ("core", "infra", "stacks", "bootstrap", "policy", "demo", "bench", *sorted(ML), "__main__")
CONTRACT = "mlops_framework.job_graph"
VOCABULARY = "mlops_framework.vocabulary"
WHEEL_CONTRACTS = {CONTRACT, VOCABULARY}

# Most specific prefix wins.
LAYERS: dict[str, int] = {
    "core": BOTTOM,
    CONTRACT: BOTTOM,
    VOCABULARY: BOTTOM,
    "infra": COMPONENTS,
    "stacks": SETTINGS,  # the package's __init__; its modules are placed below
    "bootstrap": SETTINGS,
    "stacks.types": SETTINGS,
    "stacks.settings": SETTINGS,
    "stacks.defaults": SETTINGS,
    "stacks.rules": SETTINGS,
    "stacks.loading": SETTINGS,
    "stacks.subscription": SETTINGS,
    "stacks.secrets_provider": SETTINGS,
    "bootstrap.settings": SETTINGS,
    "stacks.wiring": ROOT_LAYER,
    "stacks.program": ROOT_LAYER,
    "stacks.last_deploy": ROOT_LAYER,
    "__main__": ROOT_LAYER,
    "bootstrap.program": ROOT_LAYER,
    "bootstrap.__main__": ROOT_LAYER,
    "stacks.console": TOOLS,
    "stacks.offline": TOOLS,
    "stacks.offline_config": SETTINGS,  # reads a committed stack file; the bootstrap reads the environments'
    "stacks.offline_fakes": TOOLS,
    "stacks.offline_record": TOOLS,
    "stacks.plan": TOOLS,
    "stacks.plan_view": TOOLS,
    "stacks.promote": TOOLS,
    "stacks.yaml_round_trip": TOOLS,
    "stacks.reference": TOOLS,
    "stacks.new_project": TOOLS,
    "bootstrap.plan": TOOLS,
    "bootstrap.handoff": TOOLS,
    "bootstrap.cli": TOOLS,
    "bootstrap.environment_stacks": TOOLS,
    "demo": TOOLS,
    "bench": TOOLS,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[:3] == ["ml", "framework", "src"]:
        parts = parts[3:]
    elif parts[:2] == ["ml", "projects"] and parts[3:4] == ["src"]:
        parts = parts[4:]
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def source_files() -> list[Path]:
    roots = [ROOT / name for name in ("core", "infra", "stacks", "bootstrap", "policy", "demo", "bench")]
    files = [path for root in roots for path in root.rglob("*.py") if "venv" not in path.parts]
    ml = [ROOT / "ml" / "framework" / "src", *PROJECT_SOURCES]
    return sorted([*files, ROOT / "__main__.py", *(path for folder in ml for path in folder.rglob("*.py"))])


def imports(path: Path) -> set[str]:
    """Every absolute import in the module, at any depth (a function-level import counts too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def layer_of(module: str) -> int | None:
    matches = [prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


MODULES = {module_name(path): imports(path) for path in source_files()}


def test_every_platform_module_has_a_layer() -> None:
    unplaced = sorted(
        m
        for m in MODULES
        if layer_of(m) is None and m.split(".")[0] not in {FRAMEWORK, *PROJECT_PACKAGES, "policy"}
    )
    assert not unplaced, f"give these modules a layer in LAYERS: {unplaced}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) is not None))
def test_imports_point_down(module: str) -> None:
    own = layer_of(module)
    assert own is not None
    upward = sorted(
        f"{name} ({LAYER_NAMES[theirs]})"
        for name in MODULES[module]
        if (theirs := layer_of(name)) is not None and theirs > own
    )
    assert not upward, f"{module} ({LAYER_NAMES[own]}) imports upward: {upward}"


def test_components_read_the_wheel_only_through_its_contract() -> None:
    reads = {
        (module, name)
        for module, names in MODULES.items()
        if layer_of(module) in (COMPONENTS, SETTINGS, ROOT_LAYER)
        for name in names
        if name.split(".")[0] in ML and name not in WHEEL_CONTRACTS
    }
    assert not reads


# What each stand-alone package may import of ours besides itself: a project's wheel runs on
# Databricks without the platform, with its own copy of the framework; the policy pack runs in
# policy/venv, where only the bottom layer loads.
STANDALONE = {
    FRAMEWORK: frozenset(),
    **{package: frozenset({FRAMEWORK}) for package in PROJECT_PACKAGES},
    "policy": frozenset({"core"}),
}


@pytest.mark.parametrize("package", sorted(STANDALONE))
def test_the_wheels_and_the_policy_pack_import_nothing_of_the_platform_above_the_bottom(package: str) -> None:
    foreign = {
        (module, name)
        for module, names in MODULES.items()
        if module.split(".")[0] == package
        for name in names
        if name.split(".")[0] in OURS and name.split(".")[0] not in {package, *STANDALONE[package]}
    }
    assert not foreign


def test_the_framework_imports_itself_relatively_so_a_wheel_can_vendor_it_under_any_name() -> None:
    absolute = sorted(
        (module, name)
        for module, names in MODULES.items()
        if module.split(".")[0] == FRAMEWORK
        for name in names
        if name.split(".")[0] == FRAMEWORK
    )
    assert not absolute


def relative_imports(path: Path) -> set[str]:
    """Every relative import of the module, at any depth, as the module it names."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
            names = [f"{target}.{alias.name}" for alias in node.names]
            found |= {name if name in MODULES else target for name in names}
    return found - {module}


RELATIVE = {module_name(path): relative_imports(path) for path in source_files()}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) == BOTTOM))
def test_the_bottom_layer_imports_the_standard_library_only(module: str) -> None:
    """And the wheel's stdlib-only contracts, which are bottom themselves (core takes Environment),
    and the bottom layer's other modules (stdlib-only by this same test)."""
    stdlib = {*sys.stdlib_module_names, "__future__"}
    bottom = {name for name in MODULES if layer_of(name) == BOTTOM}
    assert {name for name in MODULES[module] if name.split(".")[0] not in stdlib} <= WHEEL_CONTRACTS | bottom


# A component takes explicit args; which environment it runs in may name things, never decide them.
ENVIRONMENT_DECISIONS = frozenset({"is_production_like", "PRODUCTION_LIKE"})
ENVIRONMENT_LITERALS = frozenset({"sandbox", "dev", "uat", "prod"})


def environment_decisions(tree: ast.AST) -> list[str]:
    """Where a module asks which environment it is in: an Environment member, the production-like
    set, or an environment name compared or used as a key."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "Environment"
            and node.attr.isupper()
        ):
            found.append(f"line {node.lineno}: Environment.{node.attr}")
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in ENVIRONMENT_DECISIONS:
                found.append(f"line {node.lineno}: {name}")
        literals: list[ast.expr] = []
        if isinstance(node, ast.Compare):
            literals = [node.left, *node.comparators]
        elif isinstance(node, ast.Dict):
            literals = [key for key in node.keys if key is not None]
        found += [
            f"line {node.lineno}: {literal.value!r}"
            for literal in literals
            if isinstance(literal, ast.Constant) and literal.value in ENVIRONMENT_LITERALS
        ]
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "infra").glob("*.py")), ids=lambda p: p.name)
def test_components_never_branch_on_the_environment(path: Path) -> None:
    """Every per-environment decision is a settings value (stacks/defaults.py, stacks/rules.py)
    that stacks/wiring.py maps into an explicit arg."""
    assert environment_decisions(ast.parse(path.read_text())) == []


def test_the_environment_check_finds_each_kind_of_decision() -> None:
    source = """
protect = env is Environment.PROD
if args.environment.is_production_like: pass
if environment in PRODUCTION_LIKE: pass
force = args.environment == "sandbox"
TABLE = {"dev": 1}
"""
    assert len(environment_decisions(ast.parse(source))) == 5


NAMING_MODULES = frozenset({"naming.py", "bootstrap_naming.py"})


def prefix_formatting(tree: ast.AST) -> list[str]:
    """f-strings that put a name prefix into a string: where a physical name is built."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr):
            continue
        for part in ast.walk(node):
            name = (
                part.id
                if isinstance(part, ast.Name)
                else part.attr
                if isinstance(part, ast.Attribute)
                else ""
            )
            if name in {"prefix", "name_prefix"}:
                found.append(f"line {node.lineno}")
    return found


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (ROOT / "infra").glob("*.py") if p.name not in NAMING_MODULES),
    ids=lambda p: p.name,
)
def test_physical_names_are_built_only_in_naming(path: Path) -> None:
    """Every physical name starts with the prefix, and only infra/naming.py (bootstrap_naming.py for
    the bootstrap project) puts it into a string."""
    assert prefix_formatting(ast.parse(path.read_text())) == []


def test_the_environment_list_has_one_owner() -> None:
    """The wheel's stdlib-only vocabulary defines Environment; core, the wheel's params and the
    policy pack read it."""
    defined = sorted(
        module_name(path)
        for path in source_files()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "Environment"
    )
    assert defined == [VOCABULARY]


@dataclass(frozen=True)
class Facts:
    """What the bottom layer owns: the public upper-case names it assigns (core, and the wheel's
    stdlib-only contracts), and the string values core assigns (a dict's values), each with its
    module. Environment names are left out of the values: core's codes `dev` and `uat` are also
    the vocabulary's environment names, which the wheel spells as its own. The wheel's values are
    left out too: "champion" is both a model alias and a served entity."""

    names: dict[str, str]
    values: dict[str, str]
    lists: dict[frozenset[str], str]  # a tuple of names (the tag keys), whatever its order


def string_list(node: ast.AST) -> frozenset[str] | None:
    """The strings of a tuple, list or set literal of two or more strings, else None."""
    if not isinstance(node, ast.Tuple | ast.List | ast.Set) or len(node.elts) < 2:
        return None
    if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return None
    return frozenset(e.value for e in node.elts if isinstance(e, ast.Constant))


def bottom_facts() -> Facts:
    environments = {environment.value for environment in Environment}
    facts = Facts({}, {}, {})
    for path in source_files():
        owner = module_name(path)
        if layer_of(owner) != BOTTOM:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.Assign | ast.AnnAssign):
                continue
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id.isupper() and not target.id.startswith("_"):
                facts.names[target.id] = owner
            if owner in WHEEL_CONTRACTS:
                continue
            listed = string_list(node.value) if node.value is not None else None
            if listed is not None:
                facts.lists[listed] = owner
            # A dict's keys are how callers name the facts (role names); its values are the facts.
            spelled = node.value.values if isinstance(node.value, ast.Dict) else [node.value]
            facts.values.update(
                {
                    value.value: owner
                    for value in spelled
                    if isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                    and value.value not in environments
                }
            )
    return facts


def restated_facts(tree: ast.AST, facts: Facts) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [
                f"line {node.lineno}: assigns {t.id} (owned by {facts.names[t.id]})"
                for t in targets
                if isinstance(t, ast.Name) and t.id in facts.names
            ]
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in facts.values:
            found.append(f"line {node.lineno}: spells {node.value!r} (owned by {facts.values[node.value]})")
        listed = string_list(node)
        if listed is not None and listed in facts.lists:
            found.append(
                f"line {getattr(node, 'lineno', 0)}: lists {sorted(listed)} (owned by {facts.lists[listed]})"
            )
    return found


BOTTOM_FACTS = bottom_facts()


# A project's own modules (each project's layout is the scaffold's, project.py holding PROJECT,
# its spec) are not the platform's: its facts are its own.
PLATFORM_AND_FRAMEWORK = sorted(m for m in MODULES if m.split(".")[0] not in PROJECT_PACKAGES)


@pytest.mark.parametrize("module", [m for m in PLATFORM_AND_FRAMEWORK if layer_of(m) != BOTTOM])
def test_no_module_restates_a_fact_of_the_bottom_layer(module: str) -> None:
    """The issuer, the audience, the role ids, the project names, the production-like set, the
    model aliases, the served entity, the training job: each is assigned once, in the bottom layer,
    and imported everywhere else (the policy pack and the rest of the wheel too)."""
    path = next(p for p in source_files() if module_name(p) == module)
    assert restated_facts(ast.parse(path.read_text(encoding="utf-8")), BOTTOM_FACTS) == []


def test_the_restatement_check_finds_a_copied_name_and_a_copied_value() -> None:
    copy = (
        'PRODUCTION_LIKE = frozenset({"uat", "prod"})\nISSUER = "https://token.actions.githubusercontent.com"\n'
        'TRAINING_JOB = "training"\n'
        'REQUIRED = ("managed-by", "environment", "project", "owner", "cost-center")'
    )
    assert len(restated_facts(ast.parse(copy), BOTTOM_FACTS)) == 4


# File names that once named two to four modules (four serving.py, two runner.py, offline.py,
# job_graph.py, drift.py, project.py, evaluate.py): a reader opening "serving.py" could not tell the
# wheel's local server from the endpoint component, its policy rules or the demo's stage. Each
# now names one module; the others say what they do (infra/model_serving.py, policy/endpoints.py,
# demo/serve_champion.py, demo/stage_runner.py, policy/check_plan.py, infra/wheel.py, ...).
ONE_MODULE_EACH = ("serving", "runner", "offline", "job_graph", "drift", "project", "evaluate")


@pytest.mark.parametrize("name", ONE_MODULE_EACH)
def test_a_once_ambiguous_module_name_names_one_module(name: str) -> None:
    assert len([module for module in PLATFORM_AND_FRAMEWORK if module.rsplit(".", 1)[-1] == name]) <= 1


def _circle(package: str) -> list[str] | None:
    """One import circle among the package's modules (graphlib names it), or None."""
    graph = {
        module: {name for name in names | RELATIVE[module] if name in MODULES and name != module}
        for module, names in MODULES.items()
        if module.split(".")[0] == package
    }
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return list(error.args[1])
    return None


@pytest.mark.parametrize("package", sorted(OURS))
def test_no_module_imports_itself_through_others(package: str) -> None:
    """A circle makes the order of first imports matter (a name half-defined), and hides which
    module owns what; a function-level import that only breaks it at run time counts too, and so
    does a relative one (the framework's: cli -> runner -> entrypoints -> cli was one)."""
    assert _circle(package) is None, f"import circle: {' -> '.join(_circle(package) or ())}"
