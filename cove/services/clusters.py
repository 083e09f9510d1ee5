"""Clusters: every write checks policy, quota, the template, the catalog and the cluster's
state, then records desired state and one operation in a single transaction. The conductor
does the rest; these functions never wait on it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session, joinedload, selectinload, with_expression
from sqlalchemy.orm.attributes import set_committed_value

from cove import errors, policy
from cove.db import models
from cove.db.session import duplicate_raises, pipelined, writing
from cove.domain import fields, identifiers, labels, upgrades
from cove.domain.coes import MAX_NODES, Coe
from cove.domain.jsonpatch import PatchOp, apply_patch
from cove.domain.statuses import HealthStatus, Operation, Status, allows, start_status
from cove.identity import Caller
from cove.pki import ca as pki
from cove.pki import keystore
from cove.pki.ca import KeyPair
from cove.services import catalog, operations, quotas, templates
from cove.services.clustering import hosts
from cove.services.lookup import PROJECT, Scope, get_by_ident, project_scope
from cove.services.pagination import Page, PageRequest, paginate, paginate_rows

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


@dataclass(frozen=True)
class ClusterRules:
    """Behaviour Magnum changed across microversions; the API layer picks it per request."""

    zero_nodes: bool = True  # a node group may have zero nodes (1.10)
    unknown_template_is_404: bool = True  # before 1.10, a 400 naming cluster_template_id
    upgrades: bool = True  # cluster upgrade (1.8)


@dataclass(frozen=True)
class NewCluster:
    cluster_template_id: str
    name: str | None = None
    keypair: str | None = None
    node_count: int | None = None
    master_count: int | None = None
    docker_volume_size: int | None = None
    labels: dict[str, Any] | None = None
    master_flavor_id: str | None = None
    flavor_id: str | None = None
    create_timeout: int | None = None
    discovery_url: str | None = None
    fixed_network: str | None = None
    fixed_subnet: str | None = None
    floating_ip_enabled: bool | None = None
    master_lb_enabled: bool | None = None
    merge_labels: bool | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class ClusterChanges:
    """What a cluster PATCH may change, after the patch is applied (Magnum's rule)."""

    node_count: int
    health_status: HealthStatus | None = None
    health_status_reason: dict[str, str] | None = None


# Turns a patched cluster document into changes, refusing what a request body would refuse.
ParseChanges = Callable[[dict[str, Any]], ClusterChanges]


@dataclass(frozen=True)
class Resize:
    node_count: int
    nodes_to_remove: list[str] | None = None
    nodegroup: str | None = None


@dataclass(frozen=True)
class Upgrade:
    cluster_template: str
    max_batch_size: int = 1
    nodegroup: str | None = None


@dataclass(frozen=True)
class CreatedCluster:
    uuid: str
    labels: dict[str, str]
    coe: str


@dataclass(frozen=True)
class ClusterPage:
    # Detail lists: the clusters with their node groups. Summary lists: rows of
    # ``SUMMARY_COLUMNS``, each with its ``node_count`` and ``master_count``.
    page: Page[Any]
    # Labels of the templates of the page's clusters, by template uuid (detail lists only).
    template_labels: dict[str, dict[str, str]]


def _role_count(masters: bool) -> Any:
    ng = models.NodeGroup
    role = ng.role == "master" if masters else ng.role != "master"
    return (
        select(func.coalesce(func.sum(ng.node_count), 0))
        .where(ng.cluster_id == models.Cluster.id, role)
        .scalar_subquery()
    )


# What a summary list item (``GET /v1/clusters``) shows: no node group is loaded, their
# counts are summed by the database in the page's one query.
SUMMARY_COLUMNS = (
    models.Cluster.name,
    models.Cluster.cluster_template_id,
    models.Cluster.keypair,
    models.Cluster.docker_volume_size,
    models.Cluster.labels,
    models.Cluster.master_flavor_id,
    models.Cluster.flavor_id,
    models.Cluster.create_timeout,
    models.Cluster.status,
    models.Cluster.health_status,
    _role_count(masters=False).label("node_count"),
    _role_count(masters=True).label("master_count"),
)


_OWN_PROJECT = models.Cluster.project_id == PROJECT


def scope(caller: Caller) -> Scope | None:
    return project_scope(_OWN_PROJECT, caller)


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


def get_cluster(
    session: Session, caller: Caller, ident: str, *, lock: bool = False
) -> models.Cluster:
    """``lock``: a write to the cluster locks its row first (``SELECT … FOR UPDATE`` on
    PostgreSQL; SQLite's writing transactions are already serialised), so writes to one
    cluster queue and each reads the state the previous one committed: its operation (the
    409 of ``operations.ensure_idle``), its status and its node groups' counts."""
    stmt = _LOCKED_WITH_NODEGROUPS if lock else _WITH_NODEGROUPS
    return get_by_ident(
        session, models.Cluster, ident, kind="Cluster", scope=scope(caller), stmt=stmt
    )


_WITH_NODEGROUPS = select(models.Cluster).options(selectinload(models.Cluster.nodegroups))
_LOCKED_WITH_NODEGROUPS = _WITH_NODEGROUPS.with_for_update(of=models.Cluster).execution_options(
    populate_existing=True
)


def authorized_cluster(
    session: Session, caller: Caller, ident: str, rule: str, *, lock: bool = False
) -> models.Cluster:
    """The cluster, if the caller sees it and the policy ``rule`` allows it on it; ``lock``
    for a write (see ``get_cluster``)."""
    cluster = get_cluster(session, caller, ident, lock=lock)
    policy.enforce(caller, rule, policy.Target(cluster.project_id))
    return cluster


@functools.cache
def _show_statement() -> Select[models.Cluster]:
    """Built once: making its loader options took 0.1 to 0.2 ms of every show (statements are
    immutable; each show adds its own where-clause)."""
    template_labels = (
        select(models.ClusterTemplate.labels)
        .where(models.ClusterTemplate.uuid == models.Cluster.cluster_template_id)
        .scalar_subquery()
    )
    return select(models.Cluster).options(
        joinedload(models.Cluster.nodegroups),
        with_expression(models.Cluster.template_labels, template_labels),
    )


def show_cluster(session: Session, caller: Caller, ident: str) -> models.Cluster:
    """The cluster as a show answers it, in one statement: its node groups joined, and its
    template's labels in ``template_labels``."""
    cluster = get_by_ident(
        session, models.Cluster, ident, kind="Cluster", scope=scope(caller), stmt=_show_statement()
    )
    policy.enforce(caller, "cluster:get", policy.Target(cluster.project_id))
    return cluster


def list_clusters(
    session: Session,
    caller: Caller,
    request: PageRequest,
    max_limit: int,
    *,
    detail: bool,
    with_template_labels: bool,
) -> ClusterPage:
    policy.enforce(caller, "cluster:detail" if detail else "cluster:get_all")
    stmt = select(models.Cluster)  # node groups: one query for the page, below
    where = scope(caller)
    if where is not None:
        stmt = where.apply(stmt)
    if not detail:
        rows = paginate_rows(
            session, stmt, models.Cluster, request, max_limit, SUMMARY_COLUMNS, not_found="Cluster"
        )
        return ClusterPage(rows, {})
    page = paginate(session, stmt, models.Cluster, request, max_limit, not_found="Cluster")
    load_nodegroups(session, page.items)
    parents = (
        labels_of_templates(session, {c.cluster_template_id for c in page.items})
        if with_template_labels
        else {}
    )
    return ClusterPage(page, parents)


def labels_of_templates(session: Session, uuids: set[str]) -> dict[str, dict[str, str]]:
    """The labels of templates, by uuid, as strings (what a cluster's label diff is against)."""
    rows = session.execute(
        select(models.ClusterTemplate.uuid, models.ClusterTemplate.labels).where(
            models.ClusterTemplate.uuid.in_(uuids)
        )
    )
    return {uuid: label_strings(values) for uuid, values in rows}


def label_strings(labels: dict[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (labels or {}).items()}


def template_of(session: Session, cluster: models.Cluster) -> models.ClusterTemplate:
    template = session.scalar(
        select(models.ClusterTemplate).where(
            models.ClusterTemplate.uuid == cluster.cluster_template_id
        )
    )
    if template is None:  # templates in use cannot be deleted; this is corruption
        raise errors.CoveError(f"Cluster {cluster.uuid} lost its template.")
    return template


def _lookup_template(
    session: Session, caller: Caller, ident: str, rules: ClusterRules
) -> models.ClusterTemplate:
    try:
        if ident.isdigit():
            template = session.scalar(
                select(models.ClusterTemplate).where(models.ClusterTemplate.id == int(ident))
            )
            if template is None or (
                templates.visible(caller) is not None
                and template.project_id != caller.project_id
                and not (template.public and not template.hidden)
            ):
                raise errors.NotFound(f"ClusterTemplate {ident} could not be found.")
            return template
        return templates.get_template(session, caller, ident)
    except errors.NotFound as exc:
        if not rules.unknown_template_is_404:
            raise errors.InvalidField("cluster_template_id", ident, exc.message) from None
        raise


def _check_node_count(rules: ClusterRules, count: int, field: str = "node_count") -> None:
    if count == 0 and not rules.zero_nodes:
        raise errors.InvalidField(
            field,
            count,
            "Resizing a nodegroup to zero is not supported in the provided microversion.",
        )
    if count > MAX_NODES:
        raise errors.InvalidField(field, count, f"At most {MAX_NODES} nodes per node group.")


def create_cluster(
    session: Session, caller: Caller, new: NewCluster, *, default_quota: int, rules: ClusterRules
) -> CreatedCluster:
    name = new.name or identifiers.generate_name("cluster")
    # The CA's key is made and sealed before the write lock is taken: writers need not wait.
    authority = pki.create_ca(name)
    authority = KeyPair(authority.cert_pem, keystore.of(session).seal(authority.key_pem))
    with writing(session):
        return _create(
            session, caller, new, name, authority, default_quota=default_quota, rules=rules
        )


def _create(
    session: Session,
    caller: Caller,
    body: NewCluster,
    name: str,
    authority: KeyPair,
    *,
    default_quota: int,
    rules: ClusterRules,
) -> CreatedCluster:
    policy.enforce(caller, "cluster:create")
    quotas.check_cluster_quota(session, caller.project_id, default_quota)
    template = _lookup_template(session, caller, body.cluster_template_id, rules)
    if template.hidden and not caller.is_admin:
        raise errors.Forbidden(
            f"ClusterTemplate {template.name} is hidden: only an administrator may use it."
        )
    coe = Coe(template.coe)
    node_count = 1 if body.node_count is None else body.node_count
    master_count = body.master_count or 1
    _check_node_count(rules, node_count)
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
        if value and (field == "flavor_id" or value != flavor):  # one lookup when both agree
            catalog.resolve_flavor(session, value, field)
    keypair = body.keypair or template.keypair_id
    if keypair:
        catalog.resolve_keypair(session, caller, keypair, "keypair", missing_is_404=True)
    fixed_network = body.fixed_network or template.fixed_network
    fixed_subnet = body.fixed_subnet or template.fixed_subnet
    network = None
    if fixed_network:
        network = catalog.resolve_network(session, caller, fixed_network, "fixed_network")
    if fixed_subnet:
        catalog.resolve_subnet(network, fixed_subnet, "fixed_subnet")
    volume_size = body.docker_volume_size or template.docker_volume_size
    fields.check_storage(template.docker_storage_driver, volume_size)
    min_nodes, max_nodes = _label_bounds(cluster_labels, node_count)

    # The rows are plain INSERTs: the ORM's unit of work was a third of a create's time. The
    # later rows find the cluster by its uuid, so none waits for an answer: on PostgreSQL all
    # five go out together (``pipelined``).
    uuid = body.uuid or models.new_uuid()  # a caller's own, in canonical form (the API's check)
    now = models.utcnow()
    create_timeout = 60 if body.create_timeout is None else body.create_timeout
    table = models.table_of(models.Cluster)
    cluster_id = select(table.c.id).where(table.c.uuid == uuid).scalar_subquery()
    cluster = {
        "uuid": uuid,
        "name": name,
        "project_id": caller.project_id,
        "user_id": caller.user_id,
        "cluster_template_id": template.uuid,
        "keypair": keypair,
        "docker_volume_size": volume_size,
        "labels": cluster_labels,
        "master_flavor_id": master_flavor,
        "flavor_id": flavor,
        "create_timeout": create_timeout,
        "status": str(Status.CREATE_IN_PROGRESS),
        "discovery_url": body.discovery_url,
        "fixed_network": fixed_network,
        "fixed_subnet": fixed_subnet,
        "floating_ip_enabled": (
            template.floating_ip_enabled
            if body.floating_ip_enabled is None
            else body.floating_ip_enabled
        ),
        "master_lb_enabled": master_lb,
        "merge_labels": bool(body.merge_labels),
        "created_at": now,
    }
    group = {
        "project_id": caller.project_id,
        "is_default": True,
        "image_id": template.image_id,
        "docker_volume_size": volume_size,
        "labels": cluster_labels,
        "status": str(Status.CREATE_IN_PROGRESS),
        "stack_id": uuid,
        "created_at": now,
    }
    # The uuid is the only value of these rows a caller chooses that must be unique.
    taken = errors.Conflict(f"A cluster with UUID {uuid} already exists.")
    with duplicate_raises(taken), pipelined(session):
        session.execute(insert(table).inline(), cluster)
        session.execute(
            insert(models.table_of(models.NodeGroup)).inline().values(cluster_id=cluster_id),
            [
                {**group, "uuid": models.new_uuid(), "name": "default-master",
                 "role": "master", "node_count": master_count, "flavor_id": master_flavor,
                 "min_node_count": 0, "max_node_count": None},
                {**group, "uuid": models.new_uuid(), "name": "default-worker",
                 "role": "worker", "node_count": node_count, "flavor_id": flavor,
                 "min_node_count": min_nodes, "max_node_count": max_nodes},
            ],
        )  # fmt: skip
        session.execute(
            insert(models.table_of(models.ClusterCA)).inline().values(cluster_id=cluster_id),
            {"cert_pem": authority.cert_pem, "key_pem": authority.key_pem, "created_at": now},
        )
        operations.start_on_new(
            session,
            operations.NewSubject(models.Cluster.SUBJECT_KIND, cluster_id, uuid, name),
            Operation.CREATE,
            timeout_minutes=create_timeout or None,
            message=f"Create accepted: {master_count} master(s), {node_count} worker(s).",
        )
    return CreatedCluster(uuid, cluster_labels, template.coe)


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
    session: Session,
    caller: Caller,
    ident: str,
    ops: list[PatchOp],
    *,
    parse: ParseChanges,
    rules: ClusterRules,
) -> models.Cluster:
    with writing(session):
        cluster = authorized_cluster(session, caller, ident, "cluster:update", lock=True)
        _update(session, caller, cluster, ops, parse, rules)
    return cluster


def _update(
    session: Session,
    caller: Caller,
    cluster: models.Cluster,
    ops: list[PatchOp],
    parse: ParseChanges,
    rules: ClusterRules,
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
    new = parse({k: patched[k] for k in current})
    if (
        new.health_status != cluster.health_status
        or (new.health_status_reason or {}) != current["health_status_reason"]
    ):
        policy.enforce(
            caller,
            "cluster:update_health_status",
            policy.Target(cluster.project_id, cluster.user_id),
        )
        cluster.health_status = new.health_status
        cluster.health_status_reason = new.health_status_reason or {}
    if new.node_count != worker.node_count:
        _check_node_count(rules, new.node_count)
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
    session: Session, caller: Caller, ident: str, resize: Resize, *, rules: ClusterRules
) -> models.Cluster:
    with writing(session):
        cluster = authorized_cluster(session, caller, ident, "cluster:resize", lock=True)
        _resize(session, cluster, resize, rules)
    return cluster


def _resize(session: Session, cluster: models.Cluster, body: Resize, rules: ClusterRules) -> None:
    _check_node_count(rules, body.node_count)
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
    session: Session, caller: Caller, ident: str, upgrade: Upgrade, *, rules: ClusterRules
) -> models.Cluster:
    with writing(session):
        cluster = authorized_cluster(session, caller, ident, "cluster:upgrade", lock=True)
        _upgrade(session, caller, cluster, upgrade, rules)
    return cluster


def _upgrade(
    session: Session, caller: Caller, cluster: models.Cluster, body: Upgrade, rules: ClusterRules
) -> None:
    if not rules.upgrades:
        raise errors.InvalidRequest("Cluster upgrade is not supported in the provided microversion")
    new = templates.get_template(session, caller, body.cluster_template)
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
    old_image = catalog.resolve_image(session, caller, current.image_id)
    new_image = catalog.resolve_image(session, caller, new.image_id, field="cluster_template")
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


def delete_cluster(session: Session, caller: Caller, ident: str) -> models.Cluster:
    with writing(session):
        cluster = authorized_cluster(session, caller, ident, "cluster:delete", lock=True)
        _delete(session, cluster)
    return cluster


def _delete(session: Session, cluster: models.Cluster) -> None:
    """Accepted unless containers of the clustering service run on the cluster; supersedes a
    running operation; repeating it changes nothing."""
    hosted = hosts.container_clusters_on(session, cluster)
    if hosted:
        raise errors.Conflict(
            f"Cluster {cluster.name} hosts the containers of container cluster(s) "
            f"{', '.join(hosted)}: delete them (or their profiles' users) first."
        )
    running = operations.find_active(session, cluster)
    if running is not None and running.kind == Operation.DELETE:
        return
    if running is not None:
        operations.cancel_active(session, cluster, "superseded by delete")
    operations.set_status(cluster, Status.DELETE_IN_PROGRESS)
    for ng in cluster.nodegroups:
        ng.status = str(Status.DELETE_IN_PROGRESS)
    operations.start(session, cluster, Operation.DELETE, message="Delete accepted.")
