"""Frozen snapshots of clusters for drivers: everything a driver needs (template, node
groups with their flavors' limits and node image references, the current CA), read in one
transaction, so drivers never touch the database. A batch of clusters (the health monitor's
pass) is read in the same few statements as one: templates, current CAs, and only the
flavors and images their node groups name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cove.db import models
from cove.drivers.base import ClusterSpec, NodeGroupSpec
from cove.pki import keystore


def cluster_spec(
    session: Session, cluster: models.Cluster, target_template: str | None = None
) -> ClusterSpec:
    """``target_template`` (an upgrade's) replaces the cluster's template and node image."""
    return cluster_specs(session, [cluster], target_template)[0]


def cluster_specs(
    session: Session, clusters: Sequence[models.Cluster], target_template: str | None = None
) -> list[ClusterSpec]:
    """The snapshots of ``clusters`` (their node groups loaded or not), in their order."""
    templates = {
        t.uuid: t
        for t in session.scalars(
            select(models.ClusterTemplate).where(
                models.ClusterTemplate.uuid.in_(
                    {target_template or c.cluster_template_id for c in clusters}
                )
            )
        )
    }
    authorities: dict[int, models.ClusterCA] = {}
    for ca in session.scalars(
        select(models.ClusterCA)
        .where(models.ClusterCA.cluster_id.in_([c.id for c in clusters]))
        .order_by(models.ClusterCA.generation.desc())
    ):
        authorities.setdefault(ca.cluster_id, ca)  # the newest generation
    groups = [ng for c in clusters for ng in c.nodegroups]
    upgrade_image = templates[target_template].image_id if target_template else None
    flavors = _by_name_or_uuid(session, models.Flavor, {ng.flavor_id for ng in groups})
    images = _by_name_or_uuid(
        session, models.Image, {upgrade_image} if upgrade_image else {ng.image_id for ng in groups}
    )
    return [
        _spec(
            session,
            cluster,
            templates[target_template or cluster.cluster_template_id],  # in use: never deleted
            authorities.get(cluster.id),
            [_group_spec(ng, flavors, images, upgrade_image) for ng in cluster.nodegroups],
        )
        for cluster in clusters
    ]


def _spec(
    session: Session,
    cluster: models.Cluster,
    template: models.ClusterTemplate,
    authority: models.ClusterCA | None,
    groups: list[NodeGroupSpec],
) -> ClusterSpec:
    return ClusterSpec(
        uuid=cluster.uuid,
        name=cluster.name,
        project_id=cluster.project_id,
        coe=template.coe,
        server_type=template.server_type,
        os_distro=template.cluster_distro or "",
        labels=dict(cluster.labels),
        template={
            c.name: getattr(template, c.name) for c in models.ClusterTemplate.__table__.columns
        },
        nodegroups=tuple(groups),
        ca_cert_pem=authority.cert_pem if authority else "",
        ca_key_pem=_ca_key(session, cluster, authority),
        fixed_network=cluster.fixed_network,
        fixed_subnet=cluster.fixed_subnet,
        master_lb_enabled=cluster.master_lb_enabled,
        floating_ip_enabled=cluster.floating_ip_enabled,
        api_address=cluster.api_address,
    )


def _group_spec(
    ng: models.NodeGroup,
    flavors: dict[str, Any],
    images: dict[str, Any],
    upgrade_image: str | None,
) -> NodeGroupSpec:
    return NodeGroupSpec(
        uuid=ng.uuid,
        name=ng.name,
        role=ng.role,
        node_count=ng.node_count,
        min_node_count=ng.min_node_count,
        max_node_count=ng.max_node_count,
        flavor_id=ng.flavor_id,
        image_id=ng.image_id,
        labels=dict(ng.labels),
        is_default=ng.is_default,
        node_labels=dict(ng.node_labels or {}),
        node_taints=list(ng.node_taints or []),
        **_resources(ng, flavors, images, upgrade_image),
    )


def _by_name_or_uuid(session: Session, model: Any, refs: set[str | None]) -> dict[str, Any]:
    """The rows ``refs`` name (a node group names a flavor or image by name or uuid)."""
    wanted = {ref for ref in refs if ref}
    if not wanted:
        return {}
    rows = list(
        session.scalars(select(model).where(or_(model.name.in_(wanted), model.uuid.in_(wanted))))
    )
    found: dict[str, Any] = {row.name: row for row in rows}
    found.update({row.uuid: row for row in rows})  # a uuid names exactly one
    return found


def _ca_key(session: Session, cluster: models.Cluster, authority: models.ClusterCA | None) -> str:
    if authority is None:
        return ""
    what = f"cluster {cluster.name}'s CA key (generation {authority.generation})"
    return keystore.of(session).open(authority.key_pem, what=what)


def _resources(
    ng: models.NodeGroup,
    flavors: dict[str, models.Flavor],
    images: dict[str, models.Image],
    upgrade_image: str | None,
) -> dict[str, Any]:
    flavor = flavors.get(ng.flavor_id or "")
    image = images.get(upgrade_image or ng.image_id or "")
    return {
        "node_image": image.node_image if image is not None else None,
        "cpus": float(flavor.vcpus) if flavor is not None else None,
        "memory_mb": flavor.ram if flavor is not None else None,
        "disk_gb": flavor.disk if flavor is not None else None,
        "docker_volume_size": ng.docker_volume_size,
    }
