"""The dependency graph of a definition's services and tasks: every requirement must name
something defined, be satisfiable (a required-healthy service has a health check, a
node-scoped one runs on every node) and no chain of requirements may lead back to where it
started, because everything is started at once and gated in the containers: an unmet or
circular requirement is a deployment that waits forever. ``waves`` orders the workloads for
rolling updates: each wave only requires earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cove.domain.deploy.definition import Definition, Requirement, Service, Task
from cove.domain.deploy.problems import DefinitionError, Problem, join


@dataclass(frozen=True)
class Edge:
    """``source`` requires ``target``; ``path`` names the requirement in the definition."""

    source: str
    target: str
    path: str
    requirement: Requirement


def _workloads(definition: Definition) -> Iterator[tuple[str, str, Service | Task]]:
    for name, service in definition.services.items():
        yield "services", name, service
    for name, task in definition.tasks.items():
        yield "tasks", name, task


def _defined(names: object) -> str:
    listed = sorted(names)  # type: ignore[call-overload]
    return ", ".join(listed) if listed else "none"


def check(definition: Definition) -> list[Problem]:
    """Every problem of the graph: shared names, unknown, repeated, self and unsatisfiable
    requirements, and one cycle per strongly connected group, named in order."""
    problems: list[Problem] = []
    for name in sorted(definition.services.keys() & definition.tasks.keys()):
        problems.append(
            Problem(
                join("tasks", name),
                f"'{name}' is also a service; services and tasks share one namespace",
            )
        )
    edges: list[Edge] = []
    for section, name, workload in _workloads(definition):
        seen: dict[tuple[str, str], int] = {}
        for index, req in enumerate(workload.requires):
            path = join(section, name, "requires", index)
            problem = _check_requirement(definition, name, req, path)
            if problem is not None:
                problems.append(problem)
                continue
            key = (req.kind, req.target)
            if key in seen:
                problems.append(Problem(path, f"repeats requires[{seen[key]}]"))
                continue
            seen[key] = index
            edges.append(Edge(name, req.target, path, req))
    problems.extend(_cycle_problems(edges))
    return problems


def _check_requirement(
    definition: Definition, requirer: str, req: Requirement, path: str
) -> Problem | None:
    if req.kind == "task":
        if req.target not in definition.tasks:
            hint = " (a service of that name is: write service:)" * (
                req.target in definition.services
            )
            return Problem(
                path,
                f"task '{req.target}' is not defined{hint}; defined: {_defined(definition.tasks)}",
            )
        if req.target == requirer:
            return Problem(path, f"task '{requirer}' cannot require itself")
        if req.scope == "node":
            return Problem(
                f"{path}.scope",
                "a task runs once for the whole deployment, not on every node: use scope: global",
            )
        return None
    target = definition.services.get(req.target)
    if target is None:
        hint = " (a task of that name is: write task:)" * (req.target in definition.tasks)
        return Problem(
            path,
            f"service '{req.target}' is not defined{hint}; "
            f"defined: {_defined(definition.services)}",
        )
    if req.target == requirer:
        return Problem(path, f"service '{requirer}' cannot require itself")
    if target.mode == "replicated" and target.replicas == 0:
        return Problem(path, f"service '{req.target}' has replicas: 0, so it never runs")
    if req.target_state == "healthy" and target.health_check is None:
        return Problem(
            path,
            f"service '{req.target}' has no health_check, so it never reports healthy: "
            "give it one, or require state: running",
        )
    if req.scope == "node" and target.mode != "global":
        return Problem(
            f"{path}.scope",
            f"service '{req.target}' is replicated, so a node may have no instance of it: "
            "scope: node needs a mode: global service",
        )
    return None


def _cycle_problems(edges: list[Edge]) -> list[Problem]:
    successors: dict[str, list[Edge]] = {}
    for edge in edges:
        successors.setdefault(edge.source, []).append(edge)
    problems = []
    for group in _strongly_connected(successors):
        if len(group) < 2:
            continue
        cycle = _shortest_cycle(min(group), group, successors)
        names = " -> ".join([*(edge.source for edge in cycle), cycle[0].source])
        problems.append(Problem(cycle[0].path, f"dependency cycle: {names}"))
    return problems


def _strongly_connected(successors: dict[str, list[Edge]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative: groups of workloads that all reach one another."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    nodes = sorted({e.source for es in successors.values() for e in es} | set(successors))
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            out = successors.get(node, [])
            if position < len(out):
                work.append((node, position + 1))
                target = out[position].target
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups


def _shortest_cycle(start: str, group: set[str], successors: dict[str, list[Edge]]) -> list[Edge]:
    """The edges of the shortest way from ``start`` back to itself inside ``group``, found
    breadth first over names in order so the same definition always names the same cycle."""
    came_by: dict[str, Edge] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for edge in sorted(successors.get(node, []), key=lambda e: e.target):
                if edge.target not in group:
                    continue
                if edge.target == start:
                    cycle = [edge]
                    while cycle[0].source != start:
                        cycle.insert(0, came_by[cycle[0].source])
                    return cycle
                if edge.target not in came_by:
                    came_by[edge.target] = edge
                    following.append(edge.target)
        frontier = following
    raise AssertionError("a strongly connected group has a cycle through each member")


def waves(definition: Definition) -> list[list[str]]:
    """Services and tasks in dependency order: the first wave requires nothing, each later
    one only what earlier waves hold; names sorted within a wave.

    Raises:
        DefinitionError: the graph has problems (``check``), so no order exists.
    """
    problems = check(definition)
    if problems:
        raise DefinitionError(problems)
    remaining = {
        name: {req.target for req in workload.requires}
        for _, name, workload in _workloads(definition)
    }
    order: list[list[str]] = []
    done: set[str] = set()
    while remaining:
        wave = sorted(name for name, needs in remaining.items() if needs <= done)
        order.append(wave)
        done.update(wave)
        for name in wave:
            del remaining[name]
    return order
