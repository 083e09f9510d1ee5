"""Where a new container goes: the ready host node with the lowest CPU and memory use at
that moment (what Senlin's container spec names as the better future than random), ties
spread by how many of the cluster's containers each node already has.

Loads measured a moment apart differ by noise, so nodes within ``TIE`` of the least loaded
one count as equally loaded. Containers placed by the same action are charged to their node
at once (``charge`` each), so six containers placed together do not all land on the node
that was least loaded before any of them ran."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cove.drivers.containerhost import HostNode, NodeLoad
from cove.failures import Permanent

TIE = 0.05  # a twentieth of a node
# What one placed container is assumed to use until it is measured: half a core and
# 64 MiB, unless its profile sets resources.
DEFAULT_CHARGE_CPU = 0.5
DEFAULT_CHARGE_MEMORY = 64 * 2**20


class NoHostNode(Permanent):
    """No node of the host cluster can take the container."""


@dataclass(frozen=True)
class Rules:
    """Constraints from the profile and the attached policies."""

    host_node: str | None = None  # the profile's host_node: only that node
    anti_affinity: bool = False  # at most one member per node …
    enforce: bool = True  # … refused when impossible (else only preferred)
    affinity: bool = False  # every member on the node that already has the most
    spread_nodegroups: bool = False  # balance members over node groups first


@dataclass
class Placer:
    """Places containers one at a time over ``nodes``; ``members`` counts the cluster's
    containers per node name before this action."""

    nodes: Sequence[HostNode]
    loads: Mapping[str, NodeLoad]
    members: Counter[str] = field(default_factory=Counter)
    rules: Rules = field(default_factory=Rules)
    cpus: float | None = None  # the profile's resources, charged per placed container
    memory_mb: int | None = None
    _charged: dict[str, float] = field(default_factory=dict)

    def place(self, avoid: frozenset[str] = frozenset()) -> str:
        """The node for the next container (``avoid``: nodes it must not go to, such as
        the one a recovered container was lost with)."""
        candidates = [n for n in self.nodes if n.ready and n.name not in avoid]
        if self.rules.host_node is not None:
            candidates = [n for n in candidates if n.name == self.rules.host_node]
            if not candidates:
                raise NoHostNode(f"Host node {self.rules.host_node} is not ready.")
        if not candidates:
            raise NoHostNode("No node of the host cluster is ready.")
        if self.rules.anti_affinity:
            free = [n for n in candidates if self.members[n.name] == 0]
            if not free and self.rules.enforce:
                raise NoHostNode(
                    "Anti-affinity: every ready host node already runs a member "
                    f"({len(candidates)} nodes)."
                )
            candidates = free or candidates
        if self.rules.affinity and any(self.members[n.name] for n in candidates):
            most = max(self.members[n.name] for n in candidates)
            candidates = [n for n in candidates if self.members[n.name] == most]
        if self.rules.spread_nodegroups:
            per_group = Counter[str]()
            for node in self.nodes:
                per_group[node.nodegroup] += self.members[node.name]
            fewest = min(per_group[n.nodegroup] for n in candidates)
            candidates = [n for n in candidates if per_group[n.nodegroup] == fewest]
        usage = {n.name: self._usage(n.name) for n in candidates}
        least = min(usage.values())
        tied = [n for n in candidates if usage[n.name] - least <= TIE]
        chosen = min(tied, key=lambda n: (self.members[n.name], usage[n.name], n.name))
        self.members[chosen.name] += 1
        self._charged[chosen.name] = self._charged.get(chosen.name, 0.0) + self._charge(chosen.name)
        return chosen.name

    def _usage(self, node: str) -> float:
        load = self.loads.get(node)
        base = load.score if load is not None else 0.0
        return base + self._charged.get(node, 0.0)

    def _charge(self, node: str) -> float:
        load = self.loads.get(node)
        if load is None:
            return 0.0
        cpu = (self.cpus or DEFAULT_CHARGE_CPU) / load.cpus if load.cpus else 0.0
        memory_bytes = (self.memory_mb * 2**20) if self.memory_mb else DEFAULT_CHARGE_MEMORY
        memory = memory_bytes / load.memory_limit if load.memory_limit else 0.0
        return (cpu + memory) / 2
