"""Clusters: every write checks policy, quota, the template, the catalog and the cluster's
state, then records desired state and one operation in a single transaction. The conductor
does the rest; these functions never wait on it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from cove import errors
from cove.api import policy
from cove.api.context import RequestContext
from cove.api.microversions import Version
from cove.api.schemas.clusters import ClusterCreate, ClusterPatchable, ResizeBody, UpgradeBody
from cove.api.schemas.common import revalidate
from cove.db import models
from cove.domain import fields, identifiers, labels, upgrades
from cove.domain.coes import MAX_NODES, Coe
from cove.domain.jsonpatch import PatchOp, apply_patch
from cove.domain.statuses import Operation, Status, allows, start_status
from cove.pki import ca as pki
from cove.services import catalog, operations, quotas, templates
from cove.services.lookup import get_by_ident

PATCH_INTERNAL = frozenset(
    {
        "/api_address",
        "/node_addresses",
        "/master_addresses",
        "/stack_id",
        "/cluster_id",
        "/ca_cert_ref",
        "/magnum_cert_ref",
        "/etcd_ca_cert_ref",
        "/front_proxy_ca_cert_ref",
    }
)
ZERO_NODES = Version(1, 10)


def scope(ctx: RequestContext) -> Any:
    return None if ctx.is_admin else models.Cluster.project_id == ctx.project_id


def load_nodegroups(session: Session, clusters: list[models.Cluster]) -> None:
    """Load the node groups of a page of clusters in one query (selectinload would split a
    1,000-cluster page into chunks of 500 keys)."""
    by_cluster: dict[int, list[models.NodeGroup]] = {c.id: [] for c in clusters}
    if by_cluster:
        rows = session.scalars(
            select(models.NodeGroup)
            .where(models.NodeGroup.cluster_id.in_(list(by_cluster)))
            .order_by(models.NodeGroup.id)
        )
        for ng in rows:
            by_cluster[ng.cluster_id].append(ng)
    for cluster in clusters:
        set_committed_value(cluster, "nodegroups", by_cluster[cluster.id])


def get_cluster(session: Session, ctx: RequestContext, ident: str) -> models.Cluster:
    return get_by_ident(
        session,
        models.Cluster,
        ident,
        kind="Cluster",
        scope=scope(ctx),
        stmt=select(models.Cluster).options(selectinload(models.Cluster.nodegroups)),
    )


def template_of(session: Session, cluster: models.Cluster) -> models.ClusterTemplate:
    template = session.scalar(
        select(models.ClusterTemplate).where(
            models.ClusterTemplate.uuid == cluster.cluster_template_id
        )
    )
    if template is None:  # templates in use cannot be deleted; this is corruption
        raise errors.CoveError(f"Cluster {cluster.uuid} lost its template.")
    return template


def _lookup_template(session: Session, ctx: RequestContext, ident: str) -> models.ClusterTemplate:
    try:
        if ident.isdigit():
            template = session.scalar(
                select(models.ClusterTemplate).where(models.ClusterTemplate.id == int(ident))
            )
            if template is None or (
                templates.visible(ctx) is not None
                and template.project_id != ctx.project_id
                and not (template.public and not template.hidden)
            ):
                raise errors.NotFound(f"ClusterTemplate {ident} could not be found.")
            return template
        return templates.get_template(session, ctx, ident)
    except errors.NotFound as exc:
        if ctx.version < ZERO_NODES:  # Magnum answered 400 here before 1.10
            raise errors.InvalidField("cluster_template_id", ident, exc.message) from None
        raise


def _check_node_count(ctx: RequestContext, count: int, field: str = "node_count") -> None:
    if count == 0 and ctx.version < ZERO_NODES:
        raise errors.InvalidField(
            field,
            count,
            "Resizing a nodegroup to zero is not supported in the provided microversion.",
        )
    if count > MAX_NODES:
        raise errors.InvalidField(field, count, f"At most {MAX_NODES} nodes per node group.")


def create_cluster(
    session: Session, ctx: RequestContext, body: ClusterCreate, *, default_quota: int
) -> models.Cluster:
    policy.enforce(ctx, "cluster:create")
    quotas.check_cluster_quota(session, ctx.project_id, default_quota)
    template = _lookup_template(session, ctx, body.cluster_template_id)
    if template.hidden and not ctx.is_admin:
        raise errors.Forbidden(
            f"ClusterTemplate {template.name} is hidden: only an administrator may use it."
        )
    coe = Coe(template.coe)
    node_count = 1 if body.node_count is None else body.node_count
    master_count = body.master_count or 1
    _check_node_count(ctx, node_count)
    template_labels = {k: str(v) for k, v in template.labels.items()}
    own_labels = {k: str(v) for k, v in (body.labels or {}).items()}
    if not own_labels:
        cluster_labels = template_labels
    elif body.merge_labels:
        cluster_labels = {**template_labels, **own_labels}
    else:
        cluster_labels = own_labels
    labels.validate_labels(str(coe), cluster_labels)
    master_lb = (
        template.master_lb_enabled if body.master_lb_enabled is None else body.master_lb_enabled
    )
    fields.check_master_count(coe, master_count, master_lb)
    flavor = body.flavor_id or template.flavor_id
    master_flavor = body.master_flavor_id or template.master_flavor_id
    for field, value in (("flavor_id", flavor), ("master_flavor_id", master_flavor)):
        if value:
            catalog.resolve_flavor(session, value, field)
    keypair = body.keypair or template.keypair_id
    if keypair:
        catalog.resolve_keypair(session, ctx, keypair, "keypair")
    fixed_network = body.fixed_network or template.fixed_network
    fixed_subnet = body.fixed_subnet or template.fixed_subnet
    network = None
    if fixed_network:
        network = catalog.resolve_network(session, ctx, fixed_network, "fixed_network")
    if fixed_subnet:
        catalog.resolve_subnet(network, fixed_subnet, "fixed_subnet")
    volume_size = body.docker_volume_size or template.docker_volume_size
    fields.check_storage(template.docker_storage_driver, volume_size)
    min_nodes, max_nodes = _label_bounds(cluster_labels, node_count)

    cluster = models.Cluster(
        uuid=(
            identifiers.normalise_uuid(body.uuid)
            if body.uuid and identifiers.is_uuid(body.uuid)
            else models.new_uuid()
        ),
        name=body.name or identifiers.generate_name("cluster"),
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        cluster_template_id=template.uuid,
        keypair=keypair,
        docker_volume_size=volume_size,
        labels=cluster_labels,
        master_flavor_id=master_flavor,
        flavor_id=flavor,
        create_timeout=60 if body.create_timeout is None else body.create_timeout,
        status=str(Status.CREATE_IN_PROGRESS),
        discovery_url=body.discovery_url,
        fixed_network=fixed_network,
        fixed_subnet=fixed_subnet,
        floating_ip_enabled=(
            template.floating_ip_enabled
            if body.floating_ip_enabled is None
            else body.floating_ip_enabled
        ),
        master_lb_enabled=master_lb,
        merge_labels=bool(body.merge_labels),
    )
    cluster.nodegroups = [
        _default_group(cluster, template, "default-master", "master", master_count, master_flavor),
        _default_group(cluster, template, "default-worker", "worker", node_count, flavor),
    ]
    cluster.nodegroups[1].min_node_count = min_nodes
    cluster.nodegroups[1].max_node_count = max_nodes
    session.add(cluster)
    session.flush()
    authority = pki.create_ca(cluster.name)
    session.add(
        models.ClusterCA(
            cluster_id=cluster.id, cert_pem=authority.cert_pem, key_pem=authority.key_pem
        )
    )
    operations.start(
        session,
        cluster,
        Operation.CREATE,
        timeout_minutes=cluster.create_timeout or None,
        message=f"Create accepted: {master_count} master(s), {node_count} worker(s).",
    )
    return cluster


def _label_bounds(cluster_labels: dict[str, str], node_count: int) -> tuple[int, int | None]:
    low = int(cluster_labels.get("min_node_count", 0) or 0)
    high_text = cluster_labels.get("max_node_count")
    high = int(high_text) if high_text else None
    if node_count < low or (high is not None and node_count > high):
        raise errors.InvalidField(
            "node_count",
            node_count,
            f"Outside the range set by labels min_node_count={low}, max_node_count={high}.",
        )
    return low, high


def _default_group(
    cluster: models.Cluster,
    template: models.ClusterTemplate,
    name: str,
    role: str,
    count: int,
    flavor: str | None,
) -> models.NodeGroup:
    return models.NodeGroup(
        name=name,
        project_id=cluster.project_id,
        role=role,
        node_count=count,
        is_default=True,
        flavor_id=flavor,
        image_id=template.image_id,
        docker_volume_size=cluster.docker_volume_size,
        labels=dict(cluster.labels),
        status=str(Status.CREATE_IN_PROGRESS),
        stack_id=cluster.uuid,
    )


def default_group(cluster: models.Cluster, role: str) -> models.NodeGroup:
    for ng in cluster.nodegroups:
        if ng.is_default and ng.role == role:
            return ng
    raise errors.NotFound(f"Cluster {cluster.name} has no default {role} node group.")


def begin_operation(
    session: Session,
    cluster: models.Cluster,
    kind: Operation,
    params: dict[str, Any],
    message: str,
    groups: list[models.NodeGroup],
) -> models.Operation:
    operations.ensure_idle(session, cluster)
    if not allows(cluster.status, kind):
        raise errors.InvalidRequest(
            f'{kind.capitalize()} of a cluster when status is "{cluster.status}" is not supported.'
        )
    status = start_status(kind)
    operations.set_status(cluster, status)
    for ng in groups:
        ng.status = str(status)
        ng.status_reason = None
    return operations.start(session, cluster, kind, params, message=message)


def update_cluster(
    session: Session, ctx: RequestContext, cluster: models.Cluster, ops: list[PatchOp]
) -> None:
    """PATCH: Magnum lets only node_count and the health fields change."""
    worker = default_group(cluster, "worker")
    current = {
        "node_count": worker.node_count,
        "health_status": cluster.health_status,
        "health_status_reason": dict(cluster.health_status_reason or {}),
    }
    document = {
        **{
            k: None
            for k in (
                "name",
                "master_count",
                "labels",
                "keypair",
                "flavor_id",
                "master_flavor_id",
                "docker_volume_size",
                "create_timeout",
                "discovery_url",
                "cluster_template_id",
                "status",
                "status_reason",
                "merge_labels",
            )
        },
        "name": cluster.name,
        "master_count": sum(ng.node_count for ng in cluster.nodegroups if ng.role == "master"),
        "labels": dict(cluster.labels),
        "cluster_template_id": cluster.cluster_template_id,
        **current,
    }
    patched = apply_patch(document, ops, internal=PATCH_INTERNAL)
    changed = sorted(k for k in document if patched[k] != document[k] and k not in current)
    if changed:
        raise errors.InvalidRequest(f"cannot change cluster property(ies) {', '.join(changed)}.")
    new = revalidate(ClusterPatchable, {k: patched[k] for k in current})
    if (
        new.health_status != cluster.health_status
        or (new.health_status_reason or {}) != current["health_status_reason"]
    ):
        policy.enforce(
            ctx, "cluster:update_health_status", policy.Target(cluster.project_id, cluster.user_id)
        )
        cluster.health_status = new.health_status
        cluster.health_status_reason = new.health_status_reason or {}
    if new.node_count != worker.node_count:
        _check_node_count(ctx, new.node_count)
        _resize_group(session, cluster, worker, new.node_count, [], Operation.UPDATE)


def _resize_group(
    session: Session,
    cluster: models.Cluster,
    group: models.NodeGroup,
    count: int,
    nodes_to_remove: list[str],
    kind: Operation,
) -> None:
    previous = group.node_count
    begin_operation(
        session,
        cluster,
        kind,
        {
            "nodegroup": group.uuid,
            "node_count": count,
            "previous_count": previous,
            "nodes_to_remove": nodes_to_remove,
        },
        f"Resize of node group {group.name} from {previous} to {count} node(s) accepted.",
        [group],
    )
    group.node_count = count


def resize_cluster(
    session: Session, ctx: RequestContext, cluster: models.Cluster, body: ResizeBody
) -> None:
    _check_node_count(ctx, body.node_count)
    group = (
        find_nodegroup(cluster, body.nodegroup)
        if body.nodegroup
        else default_group(cluster, "worker")
    )
    if group.role == "master":
        fields.check_master_count(
            Coe(template_of(session, cluster).coe), body.node_count, cluster.master_lb_enabled
        )
    elif body.node_count < group.min_node_count or (
        group.max_node_count is not None and body.node_count > group.max_node_count
    ):
        raise errors.InvalidField(
            "node_count",
            body.node_count,
            f"Resizing {group.name} outside the allowed range: min_node_count = "
            f"{group.min_node_count}, max_node_count = {group.max_node_count}.",
        )
    remove = list(body.nodes_to_remove or [])
    if remove and body.node_count >= group.node_count:
        raise errors.InvalidField(
            "nodes_to_remove",
            remove,
            "nodes_to_remove applies only when node_count shrinks the node group.",
        )
    if remove and len(remove) > group.node_count - body.node_count:
        raise errors.InvalidField(
            "nodes_to_remove",
            remove,
            f"{len(remove)} node(s) named for removal but the node group shrinks by "
            f"{group.node_count - body.node_count}.",
        )
    _resize_group(session, cluster, group, body.node_count, remove, Operation.RESIZE)


def find_nodegroup(cluster: models.Cluster, ident: str) -> models.NodeGroup:
    matches = [ng for ng in cluster.nodegroups if ident in (ng.uuid, ng.name, str(ng.id))]
    if not matches:
        raise errors.NotFound(f"Nodegroup {ident} could not be found.")
    if len(matches) > 1:
        raise errors.Conflict(
            "Multiple nodegroups exist with same name. Please use the nodegroup uuid instead."
        )
    return matches[0]


def upgrade_cluster(
    session: Session, ctx: RequestContext, cluster: models.Cluster, body: UpgradeBody
) -> None:
    if ctx.version < Version(1, 8):
        raise errors.InvalidRequest("Cluster upgrade is not supported in the provided microversion")
    new = templates.get_template(session, ctx, body.cluster_template)
    current = template_of(session, cluster)
    group = find_nodegroup(cluster, body.nodegroup) if body.nodegroup else None
    if group is not None and not group.is_default and new.uuid != current.uuid:
        raise errors.Conflict(
            f"Node group {group.name} can only be upgraded to the cluster's current template "
            f"{current.name}: upgrade the cluster first."
        )
    if new.coe != current.coe:
        raise errors.InvalidField(
            "cluster_template",
            body.cluster_template,
            f"Template {new.name} is for COE {new.coe}; the cluster runs {current.coe}.",
        )
    old_image = catalog.resolve_image(session, ctx, current.image_id)
    new_image = catalog.resolve_image(session, ctx, new.image_id, field="cluster_template")
    upgrades.check_upgrade(current.labels, new.labels, old_image.properties, new_image.properties)
    groups = [group] if group is not None else list(cluster.nodegroups)
    begin_operation(
        session,
        cluster,
        Operation.UPGRADE,
        {
            "cluster_template": new.uuid,
            "previous_template": current.uuid,
            "max_batch_size": body.max_batch_size,
            "nodegroups": [g.uuid for g in groups],
        },
        f"Upgrade to template {new.name} accepted ({body.max_batch_size} node(s) at a time).",
        groups,
    )


def delete_cluster(session: Session, cluster: models.Cluster) -> None:
    """Always accepted: supersedes a running operation; repeating it changes nothing."""
    running = operations.find_active(session, cluster)
    if running is not None and running.kind == Operation.DELETE:
        return
    if running is not None:
        operations.cancel_active(session, cluster, "superseded by delete")
    operations.set_status(cluster, Status.DELETE_IN_PROGRESS)
    for ng in cluster.nodegroups:
        ng.status = str(Status.DELETE_IN_PROGRESS)
    operations.start(session, cluster, Operation.DELETE, message="Delete accepted.")
