"""Members' containers found by the node they belong to. A container carries the uuid of
its clustering node and of the cluster it was made in; a node that joins or leaves a cluster
(``members add``, ``members del`` keeping the node, ``members replace``) keeps its running
container, and with it the old cluster label. So members are looked up by node, and a
cluster's leftovers are only what no node elsewhere still owns."""

from __future__ import annotations

from collections.abc import Sequence

from cove.conductor.clustering.store import NodeView
from cove.drivers.containerhost import NODE_LABEL, ContainerHost, ContainerRecord


def containers_of(host: ContainerHost, nodes: Sequence[NodeView]) -> dict[str, ContainerRecord]:
    """Each node's container on ``host`` (one listing), keyed by node uuid; where a node
    has two (a move in progress), the one under the name it records."""
    wanted = {n.uuid: n.container for n in nodes}
    found: dict[str, ContainerRecord] = {}
    for record in host.find_containers({}):
        uuid = record.labels.get(NODE_LABEL)
        if uuid in wanted and (uuid not in found or record.name == wanted[uuid]):
            found[uuid] = record
    return found
