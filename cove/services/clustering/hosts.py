"""Where containers may run: the cove (Magnum) clusters a caller sees, with their nodes'
names as the driver makes them (``cove.drivers.nodeplan``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cove.db import clustering as db
from cove.db import models
from cove.domain.clustering.profiles import CONTAINER, HostCluster, Placement, place
from cove.drivers import nodeplan
from cove.identity import Caller


def node_names(cluster: models.Cluster) -> list[str]:
    return [
        nodeplan.node_name(cluster.uuid, nodeplan.group_slug(ng.name, ng.role, ng.is_default), i)
        for ng in cluster.nodegroups
        for i in range(ng.node_count)
    ]


def _host(cluster: models.Cluster, coe: str) -> HostCluster:
    return HostCluster(cluster.uuid, cluster.name, coe, node_names(cluster))


def visible_hosts(session: Session, caller: Caller) -> list[HostCluster]:
    stmt = (
        select(models.Cluster, models.ClusterTemplate.coe)
        .join(
            models.ClusterTemplate,
            models.ClusterTemplate.uuid == models.Cluster.cluster_template_id,
        )
        .options(selectinload(models.Cluster.nodegroups))
    )
    if not caller.is_admin:
        stmt = stmt.where(models.Cluster.project_id == caller.project_id)
    return [_host(cluster, coe) for cluster, coe in session.execute(stmt)]


def resolve(session: Session, caller: Caller, properties: Mapping[str, Any]) -> Placement:
    return place(
        properties.get("host_cluster"), properties.get("host_node"), visible_hosts(session, caller)
    )


def profiles_on(session: Session, cluster: models.Cluster) -> list[db.Profile]:
    """Container profiles placing containers on ``cluster`` (by its uuid, its name or one
    of its nodes' names)."""
    names = set(node_names(cluster))
    found = []
    for profile in session.scalars(select(db.Profile).where(db.Profile.type == f"{CONTAINER}-1.0")):
        props = (profile.spec or {}).get("properties") or {}
        if props.get("host_cluster") in (cluster.uuid, cluster.name) or (
            not props.get("host_cluster") and props.get("host_node") in names
        ):
            found.append(profile)
    return found


def container_clusters_on(session: Session, cluster: models.Cluster) -> list[str]:
    """Names of the container clusters (and orphan container nodes) whose profile places
    them on ``cluster``: what a delete of it would strand."""
    ids = [p.id for p in profiles_on(session, cluster)]
    if not ids:
        return []
    names = list(
        session.scalars(
            select(db.ContainerCluster.name).where(db.ContainerCluster.profile_id.in_(ids))
        )
    )
    names += list(
        session.scalars(
            select(db.ContainerNode.name).where(
                db.ContainerNode.profile_id.in_(ids), db.ContainerNode.cluster_id.is_(None)
            )
        )
    )
    return sorted(names)
