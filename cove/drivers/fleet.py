"""COE-neutral code for clusters whose nodes come from a provider: the cluster network, the
nodes each node group should have (deterministic names, lowest free slots), making them in
parallel, and reading them back. A COE driver adds membership (joining, draining) on top."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from cove.drivers import nodeplan
from cove.drivers.base import ClusterSpec, NodeGroupSpec, StepFailed
from cove.providers.base import NetworkSpec, NodeRecord, NodeSpec, Provider

T = TypeVar("T")
R = TypeVar("R")
Slot = tuple[NodeGroupSpec, str]  # a node group and a node name in it


def parallel(func: Callable[[T], R], items: Sequence[T], limit: int = 16) -> list[R]:
    if not items:
        return []
    if len(items) == 1:
        return [func(items[0])]
    with ThreadPoolExecutor(max_workers=min(limit, len(items))) as pool:
        return list(pool.map(func, items))


def slug(group: NodeGroupSpec) -> str:
    return nodeplan.group_slug(group.name, group.role, group.is_default)


def order(node: NodeRecord) -> tuple[str, int]:
    return (node.nodegroup_uuid, nodeplan.index_of(node.name))


class Fleet:
    """The nodes of one cluster on its provider."""

    def __init__(self, provider: Provider, cluster: ClusterSpec) -> None:
        self.provider = provider
        self.cluster = cluster

    def network(self) -> str:
        cluster = self.cluster
        return self.provider.ensure_network(
            NetworkSpec(
                cluster_uuid=cluster.uuid,
                name=f"cove-{cluster.uuid[:8]}-net",
                existing=cluster.fixed_network or cluster.template.get("fixed_network"),
            )
        )

    def nodes(self) -> list[NodeRecord]:
        return self.provider.find_nodes(self.cluster.uuid)

    def group(self, uuid: str) -> NodeGroupSpec | None:
        return next((g for g in self.cluster.nodegroups if g.uuid == uuid), None)

    def expected(
        self,
        nodes: Iterable[NodeRecord] | None = None,
        groups: Iterable[NodeGroupSpec] = (),
        keep: Iterable[str] = (),
    ) -> list[Slot]:
        """The slots each group (default: all) should fill: its present nodes (and the names
        in ``keep``, made anew under their names) lowest index first, up to its node_count,
        then the lowest free indices for what is missing."""
        present = list(self.nodes() if nodes is None else nodes)
        kept = list(keep)
        slots: list[Slot] = []
        for group in list(groups) or self.cluster.nodegroups:
            names = {n.name for n in present if n.nodegroup_uuid == group.uuid}
            names |= {n for n in kept if nodeplan.slug_of(n) == slug(group)}
            members = sorted(names, key=nodeplan.index_of)[: group.node_count]
            missing = nodeplan.slots_to_add(members, group.node_count)
            slots += [(group, name) for name in members]
            slots += [
                (group, nodeplan.node_name(self.cluster.uuid, slug(group), i)) for i in missing
            ]
        return slots

    def ensure(
        self,
        slots: Sequence[Slot],
        spec_for: Callable[[NodeGroupSpec, str], NodeSpec],
        present: Iterable[NodeRecord] = (),
    ) -> list[NodeRecord]:
        """Adopt (starting it if stopped) or make every node of ``slots``, in parallel.
        A node ``present`` (this operation's listing of the cluster) shows running is taken
        as listed: adopting it would ask the engine to create it, refuse, and inspect it,
        beside the new nodes' creates and starts."""
        running = {n.name: n for n in present if n.running}

        def make(slot: Slot) -> NodeRecord:
            group, name = slot
            if name in running:
                return running[name]
            if not group.node_image:
                raise StepFailed(
                    f"Node group {group.name}: image {group.image_id} has no node image; "
                    "run `cove image build` and use the image it registers."
                )
            return self.provider.ensure_node(spec_for(group, name))

        return parallel(make, slots)
