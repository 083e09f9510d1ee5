"""Nodes (Senlin's ``/nodes``): one container each. A node of a cluster is acted on with
the cluster as the action's subject (one action at a time touches a cluster); an orphan
node is its own subject."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.db import clustering as db
from cove.db import models
from cove.db.session import writing
from cove.domain.clustering import errors as cerr
from cove.domain.clustering import sizes
from cove.domain.clustering.actions import ActionName
from cove.domain.clustering.profiles import check_operation
from cove.domain.clustering.statuses import NodeStatus
from cove.identity import Caller
from cove.services.clustering import actions, common, events, paging
from cove.services.clustering.clusters import RECOVER_OPERATIONS, find_cluster
from cove.services.clustering.profiles import get_profile


@dataclass(frozen=True)
class NewNode:
    name: str
    profile_id: str
    cluster_id: str | None = None
    role: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class NodeChanges:
    name: str | None = None
    profile_id: str | None = None
    role: str | None = None
    metadata: dict[str, Any] | None = None
    tainted: bool | None = None


@dataclass(frozen=True)
class Started:
    node: db.ContainerNode
    action: models.Operation


def find_node(session: Session, caller: Caller, ident: str, rule: str) -> db.ContainerNode:
    common.enforce(caller, rule)
    node = common.find(
        session,
        db.ContainerNode,
        ident,
        kind="node",
        scope=common.object_scope(db.ContainerNode, caller),
    )
    common.enforce(caller, rule, node.project_id)
    return node


def _subject(session: Session, node: db.ContainerNode) -> db.ContainerCluster | db.ContainerNode:
    """The action's subject, locked: the node's cluster, or the orphan node itself."""
    if node.cluster_id is not None:
        cluster = session.get(db.ContainerCluster, node.cluster_id)
        assert cluster is not None
        return actions.lock(session, db.ContainerCluster, cluster)
    return actions.lock(session, db.ContainerNode, node)


def _start(
    session: Session,
    caller: Caller,
    node: db.ContainerNode,
    name: ActionName,
    inputs: dict[str, Any],
    status: NodeStatus,
) -> models.Operation:
    subject = _subject(session, node)
    actions.ensure_idle(session, subject, name)
    node.status = str(status)
    op = actions.start(
        session, caller, subject, name, {"node": node.uuid, **inputs}, target=node.uuid
    )
    events.record(session, node, action=name, status=node.status, operation=op)
    return op


def create_node(session: Session, caller: Caller, new: NewNode, *, cap: int) -> Started:
    common.enforce(caller, "nodes:create")
    with writing(session):
        profile = get_profile(session, caller, new.profile_id)
        cluster = None
        index = -1
        if new.cluster_id:
            cluster = find_cluster(session, caller, new.cluster_id, "clusters:action", lock=True)
            current = session.get(db.Profile, cluster.profile_id)
            if current is not None and current.type != profile.type:
                raise cerr.BadRequest(
                    "Node and cluster have different profile type, operation aborted."
                )
            message = sizes.check_size_params(
                sizes.Sizes(cluster.desired_capacity, cluster.min_size, cluster.max_size),
                cluster.desired_capacity + 1, strict=True, cap=cap,
            )  # fmt: skip
            if message is not None:
                raise cerr.BadRequest(message)
            index = cluster.next_index
            cluster.next_index += 1
        node = db.ContainerNode(
            name=new.name, profile_id=profile.id, cluster_id=cluster.id if cluster else None,
            index=index, role=new.role or None, status=str(NodeStatus.INIT),
            status_reason="Initializing", meta=new.metadata or {}, data={}, dependents={},
            project_id=caller.project_id, user_id=caller.user_id, domain_id=None,
        )  # fmt: skip
        session.add(node)
        session.flush()
        op = _start(session, caller, node, ActionName.NODE_CREATE, {}, NodeStatus.INIT)
    return Started(node, op)


SORT_KEYS = {
    "index": db.ContainerNode.index, "name": db.ContainerNode.name,
    "status": db.ContainerNode.status, "init_at": db.ContainerNode.init_at,
    "created_at": db.ContainerNode.created_at, "updated_at": db.ContainerNode.updated_at,
}  # fmt: skip
FILTERS = ("cluster_id", "name", "status")


def list_nodes(session: Session, caller: Caller, q: common.ListQuery) -> list[db.ContainerNode]:
    common.enforce(caller, "nodes:index")
    stmt = select(db.ContainerNode)
    scope = common.list_scope(db.ContainerNode, caller, q.global_project)
    if scope is not None:
        stmt = stmt.where(scope)
    for key, values in (q.filters or {}).items():
        if key == "cluster_id":
            (ident,) = values[:1]
            cluster = find_cluster(session, caller, ident, "clusters:get")
            stmt = stmt.where(db.ContainerNode.cluster_id == cluster.id)
        else:
            stmt = stmt.where(getattr(db.ContainerNode, key).in_(values))
    return paging.paginate(
        session, stmt, db.ContainerNode, limit=q.limit, marker=q.marker, sort=q.sort,
        sort_keys=SORT_KEYS, kind="node", default_key=db.ContainerNode.init_at,
    )  # fmt: skip


def related(
    session: Session, nodes: list[db.ContainerNode]
) -> tuple[dict[int, str], dict[int, tuple[str, str]]]:
    """The uuids of the nodes' clusters and the names of their profiles, by row id."""
    clusters = dict(
        session.execute(
            select(db.ContainerCluster.id, db.ContainerCluster.uuid).where(
                db.ContainerCluster.id.in_(
                    {n.cluster_id for n in nodes if n.cluster_id is not None}
                )
            )
        ).all()
    )
    profiles = {
        pid: (name, uuid)
        for pid, name, uuid in session.execute(
            select(db.Profile.id, db.Profile.name, db.Profile.uuid).where(
                db.Profile.id.in_({n.profile_id for n in nodes})
            )
        )
    }
    return clusters, profiles


def update_node(session: Session, caller: Caller, ident: str, changes: NodeChanges) -> Started:
    with writing(session):
        node = find_node(session, caller, ident, "nodes:update")
        inputs: dict[str, Any] = {}
        if changes.profile_id is not None:
            profile = get_profile(session, caller, changes.profile_id)
            current = session.get(db.Profile, node.profile_id)
            if current is not None and current.type != profile.type:
                raise cerr.BadRequest(
                    "Cannot update a node to a different profile type, operation aborted."
                )
            if profile.id != node.profile_id:
                inputs["profile_id"] = profile.uuid
        if changes.name is not None and changes.name != node.name:
            inputs["name"] = changes.name
        if changes.tainted is not None and changes.tainted != node.tainted:
            inputs["tainted"] = changes.tainted
        if not inputs and changes.role is None and changes.metadata is None:
            raise cerr.BadRequest("No property needs an update.")
        if changes.role is not None:
            node.role = changes.role
        if changes.metadata is not None:
            node.meta = changes.metadata
        op = _start(session, caller, node, ActionName.NODE_UPDATE, inputs, NodeStatus.UPDATING)
    return Started(node, op)


def delete_node(session: Session, caller: Caller, ident: str) -> Started:
    with writing(session):
        node = find_node(session, caller, ident, "nodes:delete")
        if node.dependents:
            raise cerr.ResourceInUse("node", ident, "still depended by other clusters and/or nodes")
        op = _start(session, caller, node, ActionName.NODE_DELETE, {}, NodeStatus.DELETING)
    return Started(node, op)


def node_action(
    session: Session, caller: Caller, ident: str, name: str, data: dict[str, Any]
) -> models.Operation:
    with writing(session):
        node = find_node(session, caller, ident, "nodes:action")
        if name == "check":
            return _start(
                session,
                caller,
                node,
                ActionName.NODE_CHECK,
                {},
                NodeStatus(node.status)
                if node.status in NodeStatus.__members__
                else NodeStatus.ACTIVE,
            )
        if name == "recover":
            operation = data.get("operation")
            if operation is not None and str(operation).upper() not in RECOVER_OPERATIONS:
                raise cerr.BadRequest(
                    f"Operation value '{operation}' has to be one of the following: "
                    f"{', '.join(RECOVER_OPERATIONS)}."
                )
            inputs: dict[str, Any] = {
                "operation": str(operation).upper() if operation else None,
                "params": data.get("operation_params") or {},
            }
            if data.get("check") is not None:
                inputs["check"] = bool(data["check"])
            return _start(
                session, caller, node, ActionName.NODE_RECOVER, inputs, NodeStatus.RECOVERING
            )
        raise cerr.BadRequest(f"Unrecognized action '{name}' specified")


def node_operation(
    session: Session, caller: Caller, ident: str, operation: str, params: Any
) -> models.Operation:
    with writing(session):
        node = find_node(session, caller, ident, "nodes:operation")
        checked = check_operation(operation, params)
        inputs = {"operation": operation, "params": checked}
        return _start(
            session, caller, node, ActionName.NODE_OPERATION, inputs, NodeStatus.OPERATING
        )
