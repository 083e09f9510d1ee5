"""Node groups of a cluster: create, update (counts, node labels and taints), delete. Each
write is one operation on the cluster, so it is refused while another runs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cove import errors
from cove.api.context import RequestContext
from cove.api.schemas.common import revalidate
from cove.api.schemas.nodegroups import NodeGroupCreate, NodeGroupPatchable
from cove.db import models
from cove.domain import labels
from cove.domain.jsonpatch import PatchOp, apply_patch
from cove.domain.statuses import Operation, Status, allows
from cove.services import catalog, operations
from cove.services.clusters import template_of

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


def create_nodegroup(
    session: Session, ctx: RequestContext, cluster: models.Cluster, body: NodeGroupCreate
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
    catalog.resolve_image(session, ctx, image)
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
        node_taints=[t.model_dump(exclude_none=True) for t in body.node_taints or []],
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


def update_nodegroup(
    session: Session, cluster: models.Cluster, group: models.NodeGroup, ops: list[PatchOp]
) -> None:
    document = {
        "min_node_count": group.min_node_count,
        "max_node_count": group.max_node_count,
        "node_labels": dict(group.node_labels or {}),
        "node_taints": list(group.node_taints or []),
    }
    patched = apply_patch(document, ops, internal=PATCH_INTERNAL)
    new = revalidate(NodeGroupPatchable, patched)
    # Counts too: a resize running on this group was checked against the current bounds.
    operations.ensure_idle(session, cluster)
    if group.role == "master" and (new.node_labels or new.node_taints):
        raise errors.InvalidRequest("node_labels and node_taints cannot be set on master groups.")
    _check_counts(group.name, group.node_count, new.min_node_count, new.max_node_count)
    _check_node_labels(new.node_labels or {})
    taints = [t.model_dump(exclude_none=True) for t in new.node_taints or []]
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


def delete_nodegroup(session: Session, cluster: models.Cluster, group: models.NodeGroup) -> None:
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
