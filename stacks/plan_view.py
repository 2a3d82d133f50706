"""How an offline plan is shown (`make plan`, `python -m stacks.plan`, the bootstrap plan, the demo):
the resource tree, the counts by type and by ML project, the critical path, and what the program
said while planning. Planning itself is stacks/plan.py."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from core.pulumi_project import PROJECT
from stacks.offline import OfflineRun, RecordedResource


def critical_path(resources: list[RecordedResource]) -> list[RecordedResource]:
    """The longest chain of dependencies: the deploy can finish no faster than this sequence."""
    by_urn = {r.urn: r for r in resources}
    longest: dict[str, list[RecordedResource]] = {}

    def chain(urn: str) -> list[RecordedResource]:
        if urn not in longest:
            deps = [chain(d) for d in by_urn[urn].dependencies if d in by_urn and by_urn[d].custom]
            longest[urn] = [*max(deps, key=len, default=[]), by_urn[urn]]
        return longest[urn]

    return max((chain(r.urn) for r in resources if r.custom), key=len, default=[])


def render_tree(run: OfflineRun, project: str = PROJECT) -> Tree:
    """The resources by parent, each level sorted by name then type: the engine registers them in
    whatever order their inputs resolve, and two plans of the same program must print the same."""
    children: dict[str, list[RecordedResource]] = {}
    for r in sorted(run.resources, key=lambda r: (r.name, r.type)):
        children.setdefault(r.parent, []).append(r)
    known = {r.urn for r in run.resources}
    tree = Tree(f"[bold]{project}-{run.stack}[/] ({sum(r.custom for r in run.resources)} resources)")

    def add(node: Tree, resource: RecordedResource) -> None:
        flags = " [red]protect[/]" if resource.protect else ""
        branch = node.add(f"{resource.type} [cyan]{resource.name}[/]{flags}")
        for child in children.get(resource.urn, []):
            add(branch, child)

    for top in [r for parent, rs in children.items() if parent not in known for r in rs]:
        add(tree, top)
    return tree


def type_counts(run: OfflineRun) -> Counter[str]:
    return Counter(r.type for r in run.resources if r.custom)


PROJECT_COMPONENT = "mlops:databricks:MlProject"
SHARED = "(environment)"


def project_counts(run: OfflineRun) -> Counter[str]:
    """Resources per ML project (those below its MlProject component) and the environment's own."""
    by_urn = run.by_urn()

    def owner(resource: RecordedResource) -> str:
        urn = resource.parent
        while urn in by_urn:
            if by_urn[urn].type == PROJECT_COMPONENT:
                return by_urn[urn].name.removeprefix("databricks-")
            urn = by_urn[urn].parent
        return SHARED

    return Counter(owner(r) for r in run.resources if r.custom)


def print_stack(console: Console, run: OfflineRun, project: str = PROJECT) -> None:
    console.print(render_tree(run, project))
    counts = ", ".join(f"{name}: {count}" for name, count in sorted(project_counts(run).items()))
    console.print(f"resources per ML project: {counts}", markup=False)
    table = Table("type", "count", title=f"{run.stack}: resources by type")
    for type_, count in sorted(type_counts(run).items()):
        table.add_row(type_, str(count))
    console.print(table)
    path = critical_path(run.resources)
    console.print(f"critical path: {len(path)} resources: " + " -> ".join(r.name for r in path))
    print_notes(console, run)


def print_notes(console: Console, run: OfflineRun) -> None:
    """What the program said while planning (pulumi.log; `pulumi preview` prints it too): above all
    what waits for a first training or batch run, and why it is not in the plan yet."""
    notes = sorted({message for severity, message in run.messages if severity in {"info", "warning"}})
    if not notes:
        return
    console.print(f"{run.stack}: what the program says", markup=False)
    for note in notes:
        console.print(f"  - {note}", markup=False, highlight=False)
    if any("waits for" in note for note in notes):
        console.print(
            f"  plan it as after a first training and batch run: make plan STACK={run.stack} CHAMPION=1",
            markup=False,
            highlight=False,
        )
