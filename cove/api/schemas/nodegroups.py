"""Node group bodies and views (microversion 1.9 and later)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from cove.api.links import links
from cove.api.schemas.clusters import label_diff
from cove.api.schemas.common import (
    Bool,
    Count,
    Labels,
    NodeLabels,
    Positive,
    Str255,
    Strict,
    refuse_read_only,
    revalidate,
    stringify_labels,
    timestamp,
)
from cove.db import models
from cove.services.nodegroups import NewNodeGroup, NodeGroupChanges


class Taint(Strict):
    key: Str255
    value: Annotated[str, StringConstraints(max_length=255)] | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


READ_ONLY = frozenset(
    {
        "id",
        "uuid",
        "cluster_id",
        "project_id",
        "links",
        "node_addresses",
        "is_default",
        "stack_id",
        "status",
        "status_reason",
        "version",
        "created_at",
        "updated_at",
    }
)


class NodeGroupCreate(Strict):
    name: Str255
    node_count: Count = 1
    min_node_count: Count = 0
    max_node_count: Count | None = None
    role: Str255 = "worker"
    image_id: Str255 | None = None
    flavor_id: Str255 | None = None
    docker_volume_size: Positive | None = None
    labels: Labels | None = None
    merge_labels: Bool | None = None
    node_labels: NodeLabels | None = None
    node_taints: Annotated[list[Taint], Field(max_length=100)] | None = None

    _read_only = refuse_read_only(READ_ONLY)

    def to_command(self) -> NewNodeGroup:
        return NewNodeGroup(
            name=self.name,
            node_count=self.node_count,
            min_node_count=self.min_node_count,
            max_node_count=self.max_node_count,
            role=self.role,
            image_id=self.image_id,
            flavor_id=self.flavor_id,
            docker_volume_size=self.docker_volume_size,
            labels=self.labels,
            merge_labels=self.merge_labels,
            node_labels=self.node_labels,
            node_taints=_taints(self.node_taints),
        )


def _taints(taints: list[Taint] | None) -> list[dict[str, Any]] | None:
    if taints is None:
        return None
    return [t.model_dump(exclude_none=True) for t in taints]


class NodeGroupPatchable(Strict):
    min_node_count: Count
    max_node_count: Count | None = None
    node_labels: NodeLabels | None = None
    node_taints: Annotated[list[Taint], Field(max_length=100)] | None = None


def parse_changes(document: dict[str, Any]) -> NodeGroupChanges:
    """A patched node group, validated as a request body would be."""
    new = revalidate(NodeGroupPatchable, document)
    return NodeGroupChanges(
        new.min_node_count, new.max_node_count, new.node_labels, _taints(new.node_taints)
    )


LIST_FIELDS = (
    "uuid",
    "name",
    "flavor_id",
    "image_id",
    "node_count",
    "role",
    "min_node_count",
    "max_node_count",
    "is_default",
    "stack_id",
    "status",
    "merge_labels",
)


def nodegroup_view(
    ng: models.NodeGroup,
    cluster: models.Cluster,
    base_url: str,
    *,
    trimmed: Bool = False,
) -> dict[str, Any]:
    own = stringify_labels(ng.labels)
    parent = stringify_labels(cluster.labels)
    view: dict[str, Any] = {
        "id": ng.id,
        "uuid": ng.uuid,
        "name": ng.name,
        "cluster_id": cluster.uuid,
        "project_id": ng.project_id,
        "docker_volume_size": ng.docker_volume_size,
        "labels": own,
        "links": links(base_url, f"clusters/{cluster.uuid}/nodegroups/{ng.uuid}"),
        "flavor_id": ng.flavor_id,
        "image_id": ng.image_id,
        "node_addresses": list(ng.node_addresses or []),
        "node_count": ng.node_count,
        "role": ng.role,
        "min_node_count": ng.min_node_count,
        "max_node_count": ng.max_node_count,
        "is_default": ng.is_default,
        "stack_id": ng.stack_id,
        "status": ng.status,
        "status_reason": ng.status_reason,
        "version": ng.version,
        "merge_labels": ng.merge_labels,
        **label_diff(own, parent),
        "node_labels": dict(ng.node_labels or {}),
        "node_taints": list(ng.node_taints or []),
        "created_at": timestamp(ng.created_at),
        "updated_at": timestamp(ng.updated_at),
    }
    if trimmed:
        return {k: view[k] for k in LIST_FIELDS}
    return view
