"""Frozen snapshots of a cluster for drivers: everything a driver needs (template, node
groups with their flavors' limits and node image references, the current CA), read in one
transaction, so drivers never touch the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.db import models
from cove.drivers.base import ClusterSpec, NodeGroupSpec
from cove.pki import keystore


def cluster_spec(
    session: Session, cluster: models.Cluster, target_template: str | None = None
) -> ClusterSpec:
    """``target_template`` (an upgrade's) replaces the cluster's template and node image."""
    template_uuid = target_template or cluster.cluster_template_id
    template = session.scalar(
        select(models.ClusterTemplate).where(models.ClusterTemplate.uuid == template_uuid)
    )
    assert template is not None  # templates in use cannot be deleted
    authority = session.scalar(
        select(models.ClusterCA)
        .where(models.ClusterCA.cluster_id == cluster.id)
        .order_by(models.ClusterCA.generation.desc())
        .limit(1)
    )
    flavors = {f.name: f for f in session.scalars(select(models.Flavor))}
    flavors.update({f.uuid: f for f in list(flavors.values())})
    images = {i.name: i for i in session.scalars(select(models.Image))}
    images.update({i.uuid: i for i in list(images.values())})
    upgrade_image = template.image_id if target_template else None
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
        nodegroups=tuple(
            NodeGroupSpec(
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
            for ng in cluster.nodegroups
        ),
        ca_cert_pem=authority.cert_pem if authority else "",
        ca_key_pem=_ca_key(session, cluster, authority),
        fixed_network=cluster.fixed_network,
        fixed_subnet=cluster.fixed_subnet,
        master_lb_enabled=cluster.master_lb_enabled,
        floating_ip_enabled=cluster.floating_ip_enabled,
        api_address=cluster.api_address,
    )


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
