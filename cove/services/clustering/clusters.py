"""Container clusters (Senlin's ``/clusters``): create, update and delete write desired
state and start an action; ``POST /clusters/{id}/actions`` validates each action's inputs
(sizes, nodes, policies) before it starts, so a bad request is a 400 and nothing runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.db import clustering as db
from cove.db import models
from cove.db.session import writing
from cove.domain.clustering import errors as cerr
from cove.domain.clustering import sizes
from cove.domain.clustering.actions import ActionName
from cove.domain.clustering.policies import SINGLETONS
from cove.domain.clustering.statuses import ClusterStatus
from cove.identity import Caller
from cove.services import operations
from cove.services.clustering import actions, common, events, paging
from cove.services.clustering.profiles import get_profile

RECOVER_OPERATIONS = ("RECREATE", "REBOOT")


@dataclass(frozen=True)
class NewCluster:
    name: str
    profile_id: str
    min_size: int = 0
    max_size: int = -1
    desired_capacity: int | None = None
    timeout: int | None = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None


@dataclass(frozen=True)
class ClusterChanges:
    name: str | None = None
    profile_id: str | None = None
    timeout: int | None = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    profile_only: bool | None = None


@dataclass(frozen=True)
class Started:
    cluster: db.ContainerCluster
    action: models.Operation


@dataclass
class Listed:
    clusters: list[db.ContainerCluster]
    nodes: dict[int, list[str]] = field(default_factory=dict)
    policies: dict[int, list[str]] = field(default_factory=dict)
    profiles: dict[int, tuple[str, str]] = field(default_factory=dict)  # name, uuid


def find_cluster(
    session: Session, caller: Caller, ident: str, rule: str, *, lock: bool = False
) -> db.ContainerCluster:
    common.enforce(caller, rule)
    cluster = common.find(
        session,
        db.ContainerCluster,
        ident,
        kind="cluster",
        scope=common.object_scope(db.ContainerCluster, caller),
    )
    common.enforce(caller, rule, cluster.project_id)
    if lock:
        cluster = actions.lock(session, db.ContainerCluster, cluster)
    return cluster


def _check_sizes(
    cluster: sizes.Sizes | None, desired: int | None, low: int | None, high: int | None, cap: int
) -> None:
    message = sizes.check_size_params(cluster, desired, low, high, strict=True, cap=cap)
    if message is not None:
        raise cerr.BadRequest(message)


def create_cluster(session: Session, caller: Caller, new: NewCluster, *, cap: int) -> Started:
    common.enforce(caller, "clusters:create")
    desired = new.min_size if new.desired_capacity is None else new.desired_capacity
    _check_sizes(None, desired, new.min_size, new.max_size, cap)
    with writing(session):
        profile = get_profile(session, caller, new.profile_id)
        cluster = db.ContainerCluster(
            name=new.name, profile_id=profile.id, desired_capacity=desired,
            min_size=new.min_size, max_size=new.max_size,
            timeout=3600 if new.timeout is None else new.timeout,
            status=str(ClusterStatus.INIT), status_reason="Initializing",
            meta=new.metadata or {}, config=new.config or {}, data={}, dependents={},
            project_id=caller.project_id, user_id=caller.user_id, domain_id=None,
        )  # fmt: skip
        session.add(cluster)
        session.flush()
        op = actions.start(session, caller, cluster, ActionName.CLUSTER_CREATE, {})
        events.record(
            session,
            cluster,
            action=ActionName.CLUSTER_CREATE,
            status=cluster.status,
            reason="Initializing",
            operation=op,
        )
    return Started(cluster, op)


SORT_KEYS = {
    "name": db.ContainerCluster.name, "status": db.ContainerCluster.status,
    "init_at": db.ContainerCluster.init_at, "created_at": db.ContainerCluster.created_at,
    "updated_at": db.ContainerCluster.updated_at,
}  # fmt: skip
FILTERS = {"name": db.ContainerCluster.name, "status": db.ContainerCluster.status}


def list_clusters(session: Session, caller: Caller, q: common.ListQuery) -> Listed:
    common.enforce(caller, "clusters:index")
    stmt = select(db.ContainerCluster)
    scope = common.list_scope(db.ContainerCluster, caller, q.global_project)
    if scope is not None:
        stmt = stmt.where(scope)
    for key, values in (q.filters or {}).items():
        stmt = stmt.where(FILTERS[key].in_(values))
    rows = paging.paginate(
        session, stmt, db.ContainerCluster, limit=q.limit, marker=q.marker, sort=q.sort,
        sort_keys=SORT_KEYS, kind="cluster", default_key=db.ContainerCluster.init_at,
    )  # fmt: skip
    return members(session, rows)


def members(session: Session, clusters: list[db.ContainerCluster]) -> Listed:
    """The clusters with their node ids, attached policies' ids and profiles' names."""
    listed = Listed(clusters, {c.id: [] for c in clusters}, {c.id: [] for c in clusters})
    ids = list(listed.nodes)
    if not ids:
        return listed
    for cid, uuid in session.execute(
        select(db.ContainerNode.cluster_id, db.ContainerNode.uuid)
        .where(db.ContainerNode.cluster_id.in_(ids))
        .order_by(db.ContainerNode.index)
    ):
        assert cid is not None
        listed.nodes[cid].append(uuid)
    for cid, uuid in session.execute(
        select(db.PolicyBinding.cluster_id, db.Policy.uuid)
        .join(db.Policy, db.Policy.id == db.PolicyBinding.policy_id)
        .where(db.PolicyBinding.cluster_id.in_(ids))
    ):
        listed.policies[cid].append(uuid)
    listed.profiles = {
        pid: (name, uuid)
        for pid, name, uuid in session.execute(
            select(db.Profile.id, db.Profile.name, db.Profile.uuid).where(
                db.Profile.id.in_({c.profile_id for c in clusters})
            )
        )
    }
    return listed


def show_cluster(session: Session, caller: Caller, ident: str) -> Listed:
    return members(session, [find_cluster(session, caller, ident, "clusters:get")])


def profile_uuid(session: Session, profile_id: int) -> str:
    return str(session.scalar(select(db.Profile.uuid).where(db.Profile.id == profile_id)))


def update_cluster(
    session: Session, caller: Caller, ident: str, changes: ClusterChanges
) -> Started:
    with writing(session):
        cluster = find_cluster(session, caller, ident, "clusters:update", lock=True)
        inputs: dict[str, Any] = {}
        if changes.profile_id is not None:
            profile = get_profile(session, caller, changes.profile_id)
            current = session.get(db.Profile, cluster.profile_id)
            if current is not None and profile.type != current.type:
                raise cerr.BadRequest(
                    "Cannot update a cluster to a different profile type, operation aborted."
                )
            if profile.id != cluster.profile_id:
                inputs["profile_id"] = profile.uuid
                if changes.profile_only:
                    inputs["profile_only"] = True
        if not inputs and all(
            v is None for v in (changes.name, changes.timeout, changes.metadata, changes.config)
        ):
            raise cerr.BadRequest("No property needs an update.")
        actions.ensure_idle(session, cluster, ActionName.CLUSTER_UPDATE)
        if changes.name is not None:
            cluster.name = changes.name
        if changes.timeout is not None:
            cluster.timeout = changes.timeout
        if changes.metadata is not None:
            cluster.meta = changes.metadata
        if changes.config is not None:
            cluster.config = changes.config
        cluster.status = str(ClusterStatus.UPDATING)
        cluster.status_reason = "Updating"
        op = actions.start(session, caller, cluster, ActionName.CLUSTER_UPDATE, inputs)
    return Started(cluster, op)


def delete_cluster(session: Session, caller: Caller, ident: str, *, force: bool = False) -> Started:
    """Supersedes what runs on the cluster (as Magnum's deletes); refused while policies or
    receivers are attached, unless forced (1.8)."""
    with writing(session):
        cluster = find_cluster(session, caller, ident, "clusters:delete", lock=True)
        running = operations.find_active(session, cluster)
        if running is not None and running.kind == ActionName.CLUSTER_DELETE:
            return Started(cluster, running)
        if not force:
            if session.scalar(
                select(db.PolicyBinding.id)
                .where(db.PolicyBinding.cluster_id == cluster.id)
                .limit(1)
            ):
                raise cerr.ResourceInUse(
                    "cluster", ident, "there is still policy(s) attached to it"
                )
            if session.scalar(
                select(db.Receiver.id).where(db.Receiver.cluster_id == cluster.id).limit(1)
            ):
                raise cerr.ResourceInUse(
                    "cluster", ident, "there is still receiver(s) associated with it"
                )
        if running is not None:
            operations.cancel_active(session, cluster, "superseded by delete")
        cluster.status = str(ClusterStatus.DELETING)
        cluster.status_reason = "Deletion in progress"
        op = actions.start(session, caller, cluster, ActionName.CLUSTER_DELETE, {})
        events.record(
            session, cluster, action=ActionName.CLUSTER_DELETE, status=cluster.status, operation=op
        )
    return Started(cluster, op)


# --- POST /clusters/{id}/actions ----------------------------------------------------------


def _sizes(cluster: db.ContainerCluster) -> sizes.Sizes:
    return sizes.Sizes(cluster.desired_capacity, cluster.min_size, cluster.max_size)


def _nodes(session: Session, caller: Caller, idents: list[str]) -> list[db.ContainerNode]:
    if not idents:
        raise cerr.BadRequest("Value for 'nodes' must have at least 1 item(s).")
    found, missing = [], []
    for ident in idents:
        try:
            found.append(
                common.find(
                    session,
                    db.ContainerNode,
                    ident,
                    kind="node",
                    scope=common.object_scope(db.ContainerNode, caller),
                )
            )
        except cerr.ResourceNotFound:
            missing.append(ident)
    if missing:
        raise cerr.BadRequest(f"Nodes not found: {missing}.")
    return found


def _orphans(
    session: Session, caller: Caller, cluster: db.ContainerCluster, idents: list[str]
) -> list[db.ContainerNode]:
    nodes = _nodes(session, caller, idents)
    owned = [n.uuid for n in nodes if n.cluster_id is not None]
    if owned:
        raise cerr.NodeNotOrphan(f"Nodes {owned} already owned by some cluster.")
    inactive = [n.uuid for n in nodes if n.status != "ACTIVE"]
    if inactive:
        raise cerr.BadRequest(f"Nodes are not ACTIVE: {inactive}.")
    profile = session.get(db.Profile, cluster.profile_id)
    wrong = [
        n.uuid
        for n in nodes
        if (p := session.get(db.Profile, n.profile_id)) is None
        or profile is None
        or p.type != profile.type
    ]
    if wrong:
        raise cerr.BadRequest(f"Profile type of nodes {wrong} does not match that of the cluster.")
    return nodes


def _members(
    session: Session, caller: Caller, cluster: db.ContainerCluster, idents: list[str]
) -> list[db.ContainerNode]:
    nodes = _nodes(session, caller, idents)
    outside = [n.uuid for n in nodes if n.cluster_id != cluster.id]
    if outside:
        raise cerr.BadRequest(f"Nodes not members of specified cluster: {outside}.")
    return nodes


def _bound(
    session: Session, caller: Caller, cluster: db.ContainerCluster, ident: str
) -> tuple[db.Policy, db.PolicyBinding | None]:
    policy = common.find(
        session, db.Policy, ident, kind="policy", scope=common.object_scope(db.Policy, caller)
    )
    binding = session.scalar(
        select(db.PolicyBinding).where(
            db.PolicyBinding.cluster_id == cluster.id, db.PolicyBinding.policy_id == policy.id
        )
    )
    return policy, binding


@dataclass(frozen=True)
class ClusterAction:
    """One of Senlin's cluster actions with its (parsed) data."""

    name: str  # add_nodes, del_nodes, …
    data: dict[str, Any]


def _count(data: dict[str, Any]) -> int | None:
    count = data.get("count")
    if count is None:
        return None
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count < 2**31:
        raise cerr.BadRequest(
            f"Invalid value '{count}' specified for 'count': a positive integer is expected."
        )
    return count


def plan_action(
    session: Session, caller: Caller, cluster: db.ContainerCluster, action: ClusterAction, cap: int
) -> tuple[ActionName, dict[str, Any], str]:
    """The action's name, inputs and the cluster's transitional status; BadRequest when the
    request cannot be carried out."""
    data = action.data
    current = _sizes(cluster)
    if action.name == "add_nodes":
        nodes = _orphans(session, caller, cluster, data["nodes"])
        _check_sizes(current, cluster.desired_capacity + len(nodes), None, None, cap)
        return (
            ActionName.CLUSTER_ADD_NODES,
            {"nodes": [n.uuid for n in nodes]},
            ClusterStatus.RESIZING,
        )
    if action.name == "del_nodes":
        nodes = _members(session, caller, cluster, data["nodes"])
        _check_sizes(current, cluster.desired_capacity - len(nodes), None, None, cap)
        inputs = {
            "nodes": [n.uuid for n in nodes],
            "destroy_after_deletion": bool(data.get("destroy_after_deletion", False)),
        }
        return ActionName.CLUSTER_DEL_NODES, inputs, ClusterStatus.RESIZING
    if action.name == "replace_nodes":
        mapping = data["nodes"]
        old = _members(session, caller, cluster, list(mapping))
        new = _orphans(session, caller, cluster, list(mapping.values()))
        if len({n.id for n in new}) != len(new):
            raise cerr.BadRequest("A node can replace only one node.")
        return (
            ActionName.CLUSTER_REPLACE_NODES,
            {"nodes": {o.uuid: n.uuid for o, n in zip(old, new, strict=True)}},
            ClusterStatus.UPDATING,
        )
    if action.name == "resize":
        resize = sizes.Resize.of(data)
        try:
            sizes.parse_resize(current, resize, cap=cap)
        except ValueError as exc:
            raise cerr.BadRequest(str(exc)) from None
        inputs = {k: v for k, v in data.items() if v is not None}
        inputs["strict"] = resize.strict
        return ActionName.CLUSTER_RESIZE, inputs, ClusterStatus.RESIZING
    if action.name in ("scale_out", "scale_in"):
        count = _count(data)
        step = count if count is not None else 1
        if action.name == "scale_out":
            _check_sizes(current, cluster.desired_capacity + step, None, None, cap)
            return (
                ActionName.CLUSTER_SCALE_OUT,
                {"count": count} if count is not None else {},
                ClusterStatus.RESIZING,
            )
        _check_sizes(current, cluster.desired_capacity - step, None, None, cap)
        return (
            ActionName.CLUSTER_SCALE_IN,
            {"count": count} if count is not None else {},
            ClusterStatus.RESIZING,
        )
    if action.name == "policy_attach":
        policy, binding = _bound(session, caller, cluster, data["policy_id"])
        if binding is not None:
            raise cerr.Conflict(
                f"The policy '{data['policy_id']}' is already attached to cluster '{cluster.uuid}'."
            )
        kind = policy.type.rsplit("-", 1)[0]
        if kind in SINGLETONS:
            for other in session.scalars(
                select(db.Policy)
                .join(db.PolicyBinding, db.PolicyBinding.policy_id == db.Policy.id)
                .where(db.PolicyBinding.cluster_id == cluster.id)
            ):
                if other.type.rsplit("-", 1)[0] == kind:
                    raise cerr.Conflict(
                        f"Only one instance of policy type ({kind}) can be attached to a "
                        f"cluster, but another instance ({other.uuid}) is found attached to "
                        f"the cluster ({cluster.uuid}) already."
                    )
        return (
            ActionName.CLUSTER_ATTACH_POLICY,
            {"policy_id": policy.uuid, "enabled": bool(data.get("enabled", True))},
            ClusterStatus(cluster.status)
            if cluster.status in ClusterStatus.__members__
            else ClusterStatus.ACTIVE,
        )
    if action.name in ("policy_detach", "policy_update"):
        policy, binding = _bound(session, caller, cluster, data["policy_id"])
        if binding is None:
            raise cerr.PolicyBindingNotFound(data["policy_id"], cluster.uuid)
        if action.name == "policy_detach":
            return (
                ActionName.CLUSTER_DETACH_POLICY,
                {"policy_id": policy.uuid},
                ClusterStatus(cluster.status),
            )
        enabled = data.get("enabled", binding.enabled)
        return (
            ActionName.CLUSTER_UPDATE_POLICY,
            {"policy_id": policy.uuid, "enabled": bool(enabled)},
            ClusterStatus(cluster.status),
        )
    if action.name == "check":
        return ActionName.CLUSTER_CHECK, {}, ClusterStatus.CHECKING
    if action.name == "recover":
        operation = data.get("operation")
        if operation is not None and str(operation).upper() not in RECOVER_OPERATIONS:
            raise cerr.BadRequest(
                f"Operation value '{operation}' has to be one of the following: "
                f"{', '.join(RECOVER_OPERATIONS)}."
            )
        inputs = {
            "operation": str(operation).upper() if operation else None,
            "params": data.get("operation_params") or {},
        }
        if data.get("check") is not None:
            inputs["check"] = bool(data["check"])
        return ActionName.CLUSTER_RECOVER, inputs, ClusterStatus.RECOVERING
    raise cerr.BadRequest(f"Unrecognized action '{action.name}' specified")


def cluster_action(
    session: Session, caller: Caller, ident: str, action: ClusterAction, *, cap: int
) -> models.Operation:
    with writing(session):
        return run_action(session, caller, ident, action, cap=cap)


def run_action(
    session: Session, caller: Caller, ident: str, action: ClusterAction, *, cap: int
) -> models.Operation:
    """A cluster action in the caller's writing transaction."""
    cluster = find_cluster(session, caller, ident, "clusters:action", lock=True)
    name, inputs, status = plan_action(session, caller, cluster, action, cap)
    actions.ensure_idle(session, cluster, name)
    cluster.status = str(status)
    return actions.start(session, caller, cluster, name, inputs)


def cluster_operation(
    session: Session,
    caller: Caller,
    ident: str,
    operation: str,
    params: dict[str, Any],
    filters: dict[str, Any],
) -> models.Operation:
    from cove.domain.clustering.profiles import check_operation

    with writing(session):
        cluster = find_cluster(session, caller, ident, "clusters:operation", lock=True)
        checked = check_operation(operation, params)
        stmt = select(db.ContainerNode).where(db.ContainerNode.cluster_id == cluster.id)
        for key, value in (filters or {}).items():
            if key not in ("status", "role", "name"):
                raise cerr.BadRequest(f"Filter key '{key}' is unsupported.")
            stmt = stmt.where(getattr(db.ContainerNode, key) == value)
        nodes = [n.uuid for n in session.scalars(stmt.order_by(db.ContainerNode.index))]
        if not nodes:
            raise cerr.BadRequest("No node (matching the filter) could be found.")
        actions.ensure_idle(session, cluster, ActionName.CLUSTER_OPERATION)
        cluster.status = str(ClusterStatus.OPERATING)
        inputs = {"operation": operation, "params": checked, "nodes": nodes}
        return actions.start(session, caller, cluster, ActionName.CLUSTER_OPERATION, inputs)


def bindings(
    session: Session, caller: Caller, ident: str, q: common.ListQuery
) -> tuple[db.ContainerCluster, list[tuple[db.PolicyBinding, db.Policy]]]:
    common.enforce(caller, "cluster_policies:index")
    cluster = find_cluster(session, caller, ident, "clusters:get")
    stmt = (
        select(db.PolicyBinding, db.Policy)
        .join(db.Policy, db.Policy.id == db.PolicyBinding.policy_id)
        .where(db.PolicyBinding.cluster_id == cluster.id)
    )
    for key, values in (q.filters or {}).items():
        if key == "enabled":
            stmt = stmt.where(db.PolicyBinding.enabled.in_([v.lower() == "true" for v in values]))
        elif key == "policy_name":
            stmt = stmt.where(db.Policy.name.in_(values))
        elif key == "policy_type":
            stmt = stmt.where(db.Policy.type.in_(values))
    return cluster, [
        (b, p)
        for b, p in session.execute(stmt.order_by(db.PolicyBinding.priority, db.PolicyBinding.id))
    ]


def binding(
    session: Session, caller: Caller, ident: str, policy_ident: str
) -> tuple[db.ContainerCluster, db.PolicyBinding, db.Policy]:
    common.enforce(caller, "cluster_policies:get")
    cluster = find_cluster(session, caller, ident, "clusters:get")
    policy, bound = _bound(session, caller, cluster, policy_ident)
    if bound is None:
        raise cerr.PolicyBindingNotFound(policy_ident, ident)
    return cluster, bound, policy


def collect(session: Session, caller: Caller, ident: str, path: str) -> list[tuple[str, Any]]:
    """A dotted path's value on each node of the cluster that has it (Senlin's collect)."""
    cluster = find_cluster(session, caller, ident, "clusters:collect")
    if not path.strip() or path.strip() == "None":
        raise cerr.BadRequest("Required path attribute is missing.")
    out = []
    for node, profile in session.execute(
        select(db.ContainerNode, db.Profile.uuid)
        .join(db.Profile, db.Profile.id == db.ContainerNode.profile_id)
        .where(db.ContainerNode.cluster_id == cluster.id)
        .order_by(db.ContainerNode.index)
    ):
        # The node as ``node show`` has it (Senlin collects from the node's own fields),
        # with ``details`` its placement (Senlin: the profile's details of the container).
        value: Any = {
            "id": node.uuid, "name": node.name, "physical_id": node.physical_id,
            "cluster_id": cluster.uuid, "profile_id": profile, "status": node.status,
            "status_reason": node.status_reason, "role": node.role, "index": node.index,
            "user": node.user_id, "project": node.project_id,
            "init_at": _iso(node.init_at), "created_at": _iso(node.created_at),
            "updated_at": _iso(node.updated_at), "data": node.data or {},
            "metadata": node.meta or {}, "dependents": node.dependents or {},
            "tainted": node.tainted, "details": (node.data or {}).get("placement", {}),
        }  # fmt: skip
        for part in path.strip().split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            out.append((node.uuid, value))
    return out


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None
