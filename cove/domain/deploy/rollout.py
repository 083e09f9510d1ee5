"""The order of a rolling update: which changed elements (services and tasks) may be changed
now. An element is changed only once everything it requires has converged on its new spec
(a service healthy at it, a task run to completion once at it), so a database is healthy at
its new version before the API that requires it restarts; independent elements change
together. Unchanged elements are never touched, and count as converged once ready.

Pure: the conductor observes, this decides, the conductor acts and records what it started.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from cove.domain.deploy.definition import Definition

Requires = Mapping[str, Collection[str]]


def requirements(definition: Definition, *, implicit: Collection[str] = ()) -> dict[str, set[str]]:
    """What each service and task requires, by name; ``implicit``: required by every element
    (the deployment's coordination store), requiring nothing themselves."""
    out: dict[str, set[str]] = {name: set() for name in implicit}
    for section in (definition.services, definition.tasks):
        for name, element in section.items():
            out[name] = {req.target for req in element.requires} | set(implicit)
    return out


def startable(
    requires: Requires,
    changing: Collection[str],
    converged: Collection[str],
    started: Collection[str],
) -> list[str]:
    """The elements of ``changing`` not ``started`` whose every requirement has
    ``converged``, sorted."""
    done = set(converged)
    return sorted(
        name for name in changing if name not in started and set(requires.get(name, ())) <= done
    )


def waiting_on(requires: Requires, name: str, converged: Collection[str]) -> list[str]:
    """What ``name`` still waits for, sorted."""
    return sorted(set(requires.get(name, ())) - set(converged))


def dependants(requires: Requires, name: str) -> list[str]:
    """Everything that requires ``name``, directly or through others, sorted."""
    found: set[str] = set()
    frontier = {name}
    while frontier:
        frontier = {
            other
            for other, needs in requires.items()
            if other not in found and other != name and frontier & set(needs)
        }
        found |= frontier
    return sorted(found)
