"""Cluster (bay) request bodies and Magnum's response shapes: full, trimmed list item, and
the legacy bay field names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints

from cove.api.links import links
from cove.api.microversions import Version
from cove.api.schemas.common import (
    WHOLE,
    Bool,
    Labels,
    Positive,
    Str255,
    Strict,
    StrLabels,
    Text,
    Uuid4,
    refuse_read_only,
    revalidate,
    stringify_labels,
    timestamp,
)
from cove.db import models
from cove.domain.coes import MAX_MASTERS, MAX_NODES
from cove.domain.statuses import FAILED, HealthStatus
from cove.services.clusters import ClusterChanges, NewCluster, Resize, Upgrade

if TYPE_CHECKING:
    from sqlalchemy import Row

ClusterName = Annotated[
    str, StringConstraints(min_length=1, max_length=242, pattern=r"^[a-zA-Z][a-zA-Z0-9_.-]*$")
]

READ_ONLY = frozenset(
    {
        "stack_id",
        "cluster_id",
        "api_address",
        "coe_version",
        "container_version",
        "project_id",
        "user_id",
        "node_addresses",
        "master_addresses",
        "links",
        "created_at",
        "updated_at",
        "id",
    }
)
CREATE_TIMEOUT_MAX = 525600  # a year, in minutes
# The counts the services accept (a node group of at most MAX_NODES, at most MAX_MASTERS).
NodeCount = Annotated[int, Field(strict=True, ge=0, le=MAX_NODES), WHOLE]
BayNodeCount = Annotated[int, Field(strict=True, ge=1, le=MAX_NODES), WHOLE]
MasterCount = Annotated[int, Field(strict=True, ge=1, le=MAX_MASTERS), WHOLE]
# Minutes; a deadline past a year is no deadline (and overflowed dates before).
Timeout = Annotated[int, Field(strict=True, ge=0, le=CREATE_TIMEOUT_MAX), WHOLE]
# Accepted and ignored, as Magnum does (they are status, set by the conductor).
IGNORED = ("status", "status_reason", "health_status", "health_status_reason", "faults")


class ClusterCreate(Strict):
    cluster_template_id: Str255
    name: ClusterName | None = None
    keypair: Str255 | None = None
    node_count: NodeCount | None = None
    master_count: MasterCount | None = None
    docker_volume_size: Positive | None = None
    labels: Labels | None = None
    master_flavor_id: Str255 | None = None
    flavor_id: Str255 | None = None
    create_timeout: Timeout | None = None
    discovery_url: Text | None = None
    fixed_network: Str255 | None = None
    fixed_subnet: Str255 | None = None
    floating_ip_enabled: Bool | None = None
    master_lb_enabled: Bool | None = None
    merge_labels: Bool | None = None
    uuid: Uuid4 | None = None
    status: Text | None = None
    status_reason: Text | None = None
    health_status: Text | None = None
    health_status_reason: dict[str, Text] | None = None
    faults: dict[str, Text] | None = None

    _read_only = refuse_read_only(READ_ONLY)

    def to_command(self) -> NewCluster:
        command = {f.name: getattr(self, f.name) for f in fields(NewCluster)}
        return NewCluster(**{**command, "uuid": str(self.uuid) if self.uuid else None})


class BayCreate(Strict):
    baymodel_id: Str255
    name: ClusterName | None = None
    node_count: BayNodeCount | None = None
    master_count: MasterCount | None = None
    docker_volume_size: Positive | None = None
    labels: StrLabels | None = None
    master_flavor_id: Str255 | None = None
    flavor_id: Str255 | None = None
    bay_create_timeout: Timeout | None = None
    discovery_url: Text | None = None
    fixed_network: Str255 | None = None
    fixed_subnet: Str255 | None = None
    floating_ip_enabled: Bool | None = None
    master_lb_enabled: Bool | None = None
    status: Text | None = None
    status_reason: Text | None = None
    bay_faults: dict[str, Text] | None = None

    _read_only = refuse_read_only(READ_ONLY)

    def to_cluster(self) -> ClusterCreate:
        data = self.model_dump(exclude_unset=True, exclude={"bay_faults"})
        data["cluster_template_id"] = data.pop("baymodel_id")
        if "bay_create_timeout" in data:
            data["create_timeout"] = data.pop("bay_create_timeout")
        return ClusterCreate.model_validate(data)


class ClusterPatchable(Strict):
    """What a cluster PATCH may change, after the patch is applied (Magnum's rule)."""

    node_count: NodeCount
    health_status: HealthStatus | None = None
    health_status_reason: dict[str, Text] | None = None


def parse_changes(document: dict[str, Any]) -> ClusterChanges:
    """A patched cluster, validated as Magnum validates it."""
    new = revalidate(ClusterPatchable, document)
    return ClusterChanges(new.node_count, new.health_status, new.health_status_reason)


class ResizeBody(Strict):
    node_count: NodeCount
    nodes_to_remove: list[Str255] | None = None
    nodegroup: Str255 | None = None

    def to_command(self) -> Resize:
        return Resize(self.node_count, self.nodes_to_remove, self.nodegroup)


class UpgradeBody(Strict):
    cluster_template: Str255
    max_batch_size: Positive = 1
    nodegroup: Str255 | None = None

    def to_command(self) -> Upgrade:
        return Upgrade(self.cluster_template, self.max_batch_size, self.nodegroup)


def _role_sum(cluster: models.Cluster, masters: bool) -> int:
    return sum(ng.node_count for ng in cluster.nodegroups if (ng.role == "master") == masters)


def _addresses(cluster: models.Cluster, masters: bool) -> list[str]:
    out: list[str] = []
    for ng in cluster.nodegroups:
        if (ng.role == "master") == masters:
            out.extend(ng.node_addresses or [])
    return out


def label_diff(own: dict[str, str], parent: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "labels_overridden": {k: parent[k] for k in own if k in parent and parent[k] != own[k]},
        "labels_added": {k: v for k, v in own.items() if k not in parent},
        "labels_skipped": {k: v for k, v in parent.items() if k not in own},
    }


def cluster_summary_view(row: Row[Any], base_url: str, version: Version) -> dict[str, Any]:
    """An item of ``GET /v1/clusters``: ``row`` holds ``SUMMARY_COLUMNS`` of the service."""
    field = row._mapping.__getitem__  # a tenth of the cost of a Row's attribute access
    view = _core_view(field, field("node_count"), field("master_count"), base_url, version)
    view["merge_labels"] = False
    return view


def _core_view(
    field: Callable[[str], Any],
    node_count: int,
    master_count: int,
    base_url: str,
    version: Version,
) -> dict[str, Any]:
    """The fields every cluster view shows; ``field(name)`` reads a column."""
    uuid = field("uuid")
    view: dict[str, Any] = {
        "uuid": uuid,
        "name": field("name"),
        "cluster_template_id": field("cluster_template_id"),
        "keypair": field("keypair"),
        "node_count": node_count,
        "master_count": master_count,
        "docker_volume_size": field("docker_volume_size"),
        "labels": stringify_labels(field("labels")),
        "master_flavor_id": field("master_flavor_id"),
        "flavor_id": field("flavor_id"),
        "create_timeout": field("create_timeout"),
        "links": links(base_url, f"clusters/{uuid}"),
    }
    # 1.13 renamed stack_id to cluster_id; the value is the same.
    view["cluster_id" if version >= Version(1, 13) else "stack_id"] = uuid
    view["status"] = field("status")
    view["health_status"] = field("health_status")
    return view


def cluster_view(
    c: models.Cluster,
    base_url: str,
    version: Version,
    template_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    view = _core_view(
        partial(getattr, c),
        _role_sum(c, masters=False),
        _role_sum(c, masters=True),
        base_url,
        version,
    )
    own = stringify_labels(c.labels)
    view.update(
        {
            "status_reason": c.status_reason,
            "health_status_reason": dict(c.health_status_reason or {}),
            "discovery_url": c.discovery_url,
            "api_address": c.api_address,
            "coe_version": c.coe_version,
            "container_version": c.container_version,
            "project_id": c.project_id,
            "user_id": c.user_id,
            "node_addresses": _addresses(c, masters=False),
            "master_addresses": _addresses(c, masters=True),
            "fixed_network": c.fixed_network,
            "fixed_subnet": c.fixed_subnet,
            "floating_ip_enabled": c.floating_ip_enabled,
            "merge_labels": False,
            **label_diff(own, template_labels or {}),
            "master_lb_enabled": c.master_lb_enabled,
            "created_at": timestamp(c.created_at),
            "updated_at": timestamp(c.updated_at),
        }
    )
    if c.status in FAILED:
        view["faults"] = {ng.name: ng.status_reason for ng in c.nodegroups if ng.status_reason}
    return view


BAY_LIST_FIELDS = (
    "uuid",
    "name",
    "baymodel_id",
    "docker_volume_size",
    "labels",
    "master_flavor_id",
    "flavor_id",
    "node_count",
    "status",
    "bay_create_timeout",
    "master_count",
    "stack_id",
    "links",
)


def bay_summary_view(row: Row[Any], base_url: str) -> dict[str, Any]:
    """An item of ``GET /v1/bays``: ``row`` as for ``cluster_summary_view``."""
    view = cluster_summary_view(row, base_url, Version(1, 1))
    view["baymodel_id"] = view.pop("cluster_template_id")
    view["bay_create_timeout"] = view.pop("create_timeout")
    view["links"] = links(base_url, f"bays/{view['uuid']}")
    return {k: view[k] for k in BAY_LIST_FIELDS}


def bay_view(c: models.Cluster, base_url: str) -> dict[str, Any]:
    view = cluster_view(c, base_url, Version(1, 1))
    view["baymodel_id"] = view.pop("cluster_template_id")
    view["bay_create_timeout"] = view.pop("create_timeout")
    view["links"] = links(base_url, f"bays/{c.uuid}")
    view["bay_faults"] = view.pop("faults", {})
    for key in (
        "keypair",
        "health_status",
        "health_status_reason",
        "project_id",
        "user_id",
        "merge_labels",
        "labels_overridden",
        "labels_added",
        "labels_skipped",
    ):
        view.pop(key, None)
    return view
