"""Pure planning for clusters of nodes, whatever the COE: deterministic node names, which
slots a scale-out fills, which nodes a scale-in removes. No I/O here; tables of inputs test it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_UNSAFE = re.compile(r"[^a-z0-9-]+")


def group_slug(name: str, role: str, is_default: bool) -> str:
    if is_default:
        return "manager" if role == "master" else "worker"
    return _UNSAFE.sub("-", name.lower()).strip("-")[:20] or "group"


def node_name(cluster_uuid: str, slug: str, index: int) -> str:
    """Container and host name of a node: stable across retries, unique per cluster."""
    return f"cove-{cluster_uuid[:8]}-{slug}-{index}"


def slug_of(name: str) -> str:
    """The group slug inside a node name made by ``node_name``."""
    return name.split("-", 2)[2].rsplit("-", 1)[0]


def index_of(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def slots_to_add(existing: Iterable[str], wanted: int) -> list[int]:
    """The lowest free indices that bring the group to ``wanted`` nodes."""
    taken = {index_of(n) for n in existing}
    free: list[int] = []
    index = 0
    while len(taken) + len(free) < wanted:
        if index not in taken:
            free.append(index)
        index += 1
    return free


@dataclass(frozen=True)
class Candidate:
    name: str
    node_id: str | None  # the COE's id of the node (a swarm node id)
    address: str | None
    tasks: int  # running tasks on the node


def choose_victims(
    candidates: Sequence[Candidate], count: int, requested: Sequence[str]
) -> list[str]:
    """Names of the nodes to remove: those the user named (by name, swarm node id or
    address) first, then the emptiest, newest (highest index) first."""
    by_key: Mapping[str, Candidate] = {
        key: c for c in candidates for key in (c.name, c.node_id, c.address) if key
    }
    chosen: list[str] = []
    for ident in requested:
        match = by_key.get(ident)
        if match is None:
            raise LookupError(ident)
        if match.name not in chosen:
            chosen.append(match.name)
    rest = sorted(
        (c for c in candidates if c.name not in chosen),
        key=lambda c: (c.tasks, -index_of(c.name)),
    )
    chosen.extend(c.name for c in rest[: max(0, count - len(chosen))])
    return chosen[: max(count, len(requested))]
