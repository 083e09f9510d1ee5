"""A cluster's nodes as its driver's engines see them (a cove extension beside Magnum's API):
name, role, node group, address, whether the engine answers, and its load now. Read with the
cluster show's visibility and policy; the engines are asked after the database is left."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cove import errors
from cove.drivers.base import DriverKey
from cove.drivers.containerhost import ContainerHost, HostNode, NodeLoad
from cove.drivers.registry import DriverRegistry, NoDriver
from cove.failures import Permanent, Temporary
from cove.identity import Caller
from cove.services import clusters, snapshot


@dataclass(frozen=True)
class ClusterNode:
    node: HostNode
    load: NodeLoad | None  # None: the node is not ready


def container_host(
    session: Session, caller: Caller, ident: str, registry: DriverRegistry
) -> ContainerHost:
    """The engines of a cluster the caller may see. Ends the session's transaction (the
    engines are slow to ask; no row stays read-locked meanwhile)."""
    cluster = clusters.show_cluster(session, caller, ident)
    spec = snapshot.cluster_spec(session, cluster)
    session.rollback()
    try:
        driver = registry.find(
            DriverKey(spec.server_type, spec.os_distro, spec.coe), spec.template.get("driver")
        )
    except NoDriver as exc:
        raise errors.Conflict(f"Cluster {spec.name} has no driver here: {exc}") from None
    make = getattr(driver, "container_host", None)
    if make is None:
        raise errors.Conflict(
            f"Cluster {spec.name}'s driver ({driver.name}) cannot list its nodes' engines."
        )
    host: ContainerHost = make(spec)
    return host


def cluster_nodes(
    session: Session, caller: Caller, ident: str, registry: DriverRegistry
) -> list[ClusterNode]:
    host = container_host(session, caller, ident, registry)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            loads = pool.submit(host.loads)
            nodes = host.nodes()
            found = loads.result()
    except Temporary as exc:
        raise errors.Unavailable(f"The cluster's nodes do not answer now: {exc}") from None
    except Permanent as exc:
        raise errors.Conflict(str(exc)) from None
    return [ClusterNode(n, found.get(n.name) if n.ready else None) for n in nodes]
