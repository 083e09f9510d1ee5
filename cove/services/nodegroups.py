"""Node groups of a cluster: create, update (counts, node labels and taints), delete. Each
write is one operation on the cluster, so it is refused while another runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove import errors
from cove.db import models
from cove.db.session import writing
from cove.domain import labels
from cove.domain.jsonpatch import PatchOp, apply_patch
from cove.domain.statuses import Operation, Status, allows
from cove.identity import Caller
from cove.services import catalog, operations
from cove.services.clusters import authorized_cluster, find_nodegroup, template_of
from cove.services.pagination import Page, PageRequest, paginate

PATCH_INTERNAL = frozenset(
    {
        "/name",
        "/cluster_id",
        "/project_id",
        "/docker_volume_size",
        "/labels",
        "/flavor_id",
        "/image_id",
        "/node_addresses",
        "/node_count",
        "/role",
        "/is_default",
        "/stack_id",
        "/status",
        "/status_reason",
        "/version",
        "/merge_labels",
    }
)


@dataclass(frozen=True)
class NewNodeGroup:
    name: str
    node_count: int = 1
    min_node_count: int = 0
    max_node_count: int | None = None
    role: str = "worker"
    image_id: str | None = None
    flavor_id: str | None = None
    docker_volume_size: int | None = None
    labels: dict[str, Any] | None = None
    merge_labels: bool | None = None
    node_labels: dict[str, str] | None = None
    node_taints: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class NodeGroupChanges:
    """What a node group PATCH may change, after the patch is applied."""

    min_node_count: int
    max_node_count: int | None = None
    node_labels: dict[str, str] | None = None
    node_taints: list[dict[str, Any]] | None = None


# Turns a patched node group document into changes, refusing what a request body would refuse.
ParseChanges = Callable[[dict[str, Any]], NodeGroupChanges]


@dataclass(frozen=True)
class ClusterNodeGroup:
    cluster: models.Cluster
    group: models.NodeGroup


@dataclass(frozen=True)
class NodeGroupPage:
    cluster: models.Cluster
    page: Page[models.NodeGroup]


RESERVED_LABEL_PREFIXES = ("kubernetes.io/", "k8s.io/")
ALLOWED_LABEL_PREFIXES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")


def _check_counts(name: str, count: int, low: int, high: int | None) -> None:
    if low > count:
        raise errors.Conflict(
            f"min_node_count for {name} is invalid (min_node_count ({low}) should be less "
            f"or equal to node_count ({count}))."
        )
    if high is not None and high < count:
        raise errors.Conflict(
            f"max_node_count for {name} is invalid (max_node_count ({high}) should be greater "
            f"or equal to node_count ({count}))."
        )


def _check_node_labels(node_labels: dict[str, str]) -> None:
    for key in node_labels:
        domain = key.split("/", 1)[0] + "/" if "/" in key else ""
        reserved = any(
            key.startswith(p) or domain.endswith("." + p) for p in RESERVED_LABEL_PREFIXES
        )
        if reserved and not key.startswith(ALLOWED_LABEL_PREFIXES):
            raise errors.InvalidField(
                "node_labels",
                key,
                "Labels under kubernetes.io/ and k8s.io/ are reserved, except "
                "kubelet.kubernetes.io/ and node.kubernetes.io/.",
            )


def _begin(
    session: Session,
    cluster: models.Cluster,
    kind: Operation,
    params: dict[str, object],
    message: str,
) -> None:
    operations.ensure_idle(session, cluster)
    if not allows(cluster.status, kind):
        raise errors.InvalidRequest(
            f'Changing node groups of a cluster when status is "{cluster.status}" is not supported.'
        )
    operations.set_status(cluster, Status.UPDATE_IN_PROGRESS)
    operations.start(session, cluster, kind, params, message=message)


def list_nodegroups(
    session: Session,
    caller: Caller,
    cluster_ident: str,
    request: PageRequest,
    max_limit: int,
    *,
    role: str | None,
) -> NodeGroupPage:
    cluster = authorized_cluster(session, caller, cluster_ident, "nodegroup:get_all")
    stmt = select(models.NodeGroup).where(models.NodeGroup.cluster_id == cluster.id)
    if role:
        stmt = stmt.where(models.NodeGroup.role == role)
    if request.marker is not None and not request.marker.isdigit():
        # A node group's marker may be its name too: page from its uuid.
        request = replace(request, marker=find_nodegroup(cluster, request.marker).uuid)
    page = paginate(session, stmt, models.NodeGroup, request, max_limit, not_found="Nodegroup")
    return NodeGroupPage(cluster, page)


def show_nodegroup(
    session: Session, caller: Caller, cluster_ident: str, ident: str
) -> ClusterNodeGroup:
    cluster = authorized_cluster(session, caller, cluster_ident, "nodegroup:get")
    return ClusterNodeGroup(cluster, find_nodegroup(cluster, ident))


def create_nodegroup(
    session: Session, caller: Caller, cluster_ident: str, new: NewNodeGroup
) -> ClusterNodeGroup:
    with writing(session):
        cluster = authorized_cluster(session, caller, cluster_ident, "nodegroup:create", lock=True)
        group = _create(session, caller, cluster, new)
    return ClusterNodeGroup(cluster, group)


def update_nodegroup(
    session: Session,
    caller: Caller,
    cluster_ident: str,
    ident: str,
    ops: list[PatchOp],
    *,
    parse: ParseChanges,
) -> ClusterNodeGroup:
    with writing(session):
        cluster = authorized_cluster(session, caller, cluster_ident, "nodegroup:update", lock=True)
        group = find_nodegroup(cluster, ident)
        _update(session, cluster, group, parse(_patched(group, ops)))
    return ClusterNodeGroup(cluster, group)


def delete_nodegroup(session: Session, caller: Caller, cluster_ident: str, ident: str) -> None:
    with writing(session):
        cluster = authorized_cluster(session, caller, cluster_ident, "nodegroup:delete", lock=True)
        _delete(session, cluster, find_nodegroup(cluster, ident))


def _create(
    session: Session, caller: Caller, cluster: models.Cluster, body: NewNodeGroup
) -> models.NodeGroup:
    if not cluster.api_address:
        raise errors.Conflict("Cluster API address is not available yet")
    if body.role == "master":
        raise errors.InvalidRequest("Creating master nodegroups is currently not supported.")
    if any(ng.name == body.name for ng in cluster.nodegroups):
        raise errors.Conflict(
            f"A node group with name {body.name} already exists in the cluster {cluster.name}."
        )
    _check_counts(body.name, body.node_count, body.min_node_count, body.max_node_count)
    template = template_of(session, cluster)
    image = body.image_id or template.image_id
    catalog.resolve_image(session, caller, image)
    flavor = body.flavor_id or cluster.flavor_id
    if flavor:
        catalog.resolve_flavor(session, flavor, "flavor_id")
    own = {k: str(v) for k, v in (body.labels or {}).items()}
    group_labels = {**cluster.labels, **own} if body.merge_labels or not own else own
    labels.validate_labels(template.coe, group_labels)
    _check_node_labels(body.node_labels or {})
    group = models.NodeGroup(
        uuid=models.new_uuid(),  # the operation names it before the row is flushed
        name=body.name,
        cluster_id=cluster.id,
        project_id=cluster.project_id,
        role=body.role,
        node_count=body.node_count,
        min_node_count=body.min_node_count,
        max_node_count=body.max_node_count,
        image_id=image,
        flavor_id=flavor,
        docker_volume_size=body.docker_volume_size or cluster.docker_volume_size,
        labels=group_labels,
        merge_labels=bool(body.merge_labels),
        node_labels=body.node_labels or {},
        node_taints=list(body.node_taints or []),
        status=str(Status.CREATE_IN_PROGRESS),
        is_default=False,
    )
    _begin(
        session,
        cluster,
        Operation.CREATE_NODEGROUP,
        {"nodegroup": group.uuid},
        f"Node group {body.name} ({body.node_count} node(s)) accepted.",
    )
    group.stack_id = group.uuid
    cluster.nodegroups.append(group)
    session.flush()
    return group


def _patched(group: models.NodeGroup, ops: list[PatchOp]) -> dict[str, Any]:
    document = {
        "min_node_count": group.min_node_count,
        "max_node_count": group.max_node_count,
        "node_labels": dict(group.node_labels or {}),
        "node_taints": list(group.node_taints or []),
    }
    return apply_patch(document, ops, internal=PATCH_INTERNAL)


def _update(
    session: Session, cluster: models.Cluster, group: models.NodeGroup, new: NodeGroupChanges
) -> None:
    # Counts too: a resize running on this group was checked against the current bounds.
    operations.ensure_idle(session, cluster)
    if group.role == "master" and (new.node_labels or new.node_taints):
        raise errors.InvalidRequest("node_labels and node_taints cannot be set on master groups.")
    _check_counts(group.name, group.node_count, new.min_node_count, new.max_node_count)
    _check_node_labels(new.node_labels or {})
    taints = list(new.node_taints or [])
    if (new.min_node_count, new.max_node_count, new.node_labels or {}, taints) == (
        group.min_node_count,
        group.max_node_count,
        group.node_labels,
        group.node_taints,
    ):
        return
    group.min_node_count = new.min_node_count
    group.max_node_count = new.max_node_count
    labels_or_taints_changed = (
        new.node_labels or {}
    ) != group.node_labels or taints != group.node_taints
    group.node_labels = new.node_labels or {}
    group.node_taints = taints
    if labels_or_taints_changed:
        # Counts are bookkeeping; labels and taints must reach the nodes.
        group.status = str(Status.UPDATE_IN_PROGRESS)
        _begin(
            session,
            cluster,
            Operation.UPDATE_NODEGROUP,
            {"nodegroup": group.uuid},
            f"Node group {group.name}: node labels or taints changed.",
        )


def _delete(session: Session, cluster: models.Cluster, group: models.NodeGroup) -> None:
    if group.is_default:
        raise errors.InvalidRequest("Deleting a default nodegroup is not supported.")
    _begin(
        session,
        cluster,
        Operation.DELETE_NODEGROUP,
        {"nodegroup": group.uuid},
        f"Delete of node group {group.name} accepted.",
    )
    group.status = str(Status.DELETE_IN_PROGRESS)
