"""Request bodies (Senlin's request objects: unknown fields refused, names 1-255 printable
characters) and the views of stored objects in Senlin's field names."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from cove.db import clustering as db
from cove.db import models
from cove.domain import fields
from cove.domain.clustering.actions import ACTION_STATUS


def _printable(value: str) -> str:
    char = fields.bad_character(value)
    if char is not None:
        raise ValueError(f"control character {fields.describe_character(char)} is not allowed")
    return value


Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_printable)]
Text = Annotated[str, Field(max_length=255), AfterValidator(_printable)]
Int = Annotated[int, Field(ge=-(2**31), lt=2**31)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ProfileBody(Strict):
    name: Name
    spec: dict[str, Any]
    metadata: dict[str, Any] | None = None


class ProfileCreate(Strict):
    profile: ProfileBody


class SpecBody(Strict):
    spec: dict[str, Any]


class ProfileValidate(Strict):
    profile: SpecBody


class ProfilePatchBody(Strict):
    name: Name | None = None
    metadata: dict[str, Any] | None = None


class ProfilePatch(Strict):
    profile: ProfilePatchBody


class PolicyBody(Strict):
    name: Name
    spec: dict[str, Any]


class PolicyCreate(Strict):
    policy: PolicyBody


class PolicyValidate(Strict):
    policy: SpecBody


class PolicyPatchBody(Strict):
    name: Name


class PolicyPatch(Strict):
    policy: PolicyPatchBody


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _owner(obj: Any) -> dict[str, Any]:
    return {"user": obj.user_id, "project": obj.project_id, "domain": obj.domain_id}


def profile_view(p: db.Profile) -> dict[str, Any]:
    return {
        "id": p.uuid, "name": p.name, "type": p.type, "spec": p.spec, "metadata": p.meta or {},
        **_owner(p), "created_at": iso(p.created_at), "updated_at": iso(p.updated_at),
    }  # fmt: skip


def policy_view(p: db.Policy) -> dict[str, Any]:
    return {
        "id": p.uuid, "name": p.name, "type": p.type, "spec": p.spec, "data": p.data or {},
        **_owner(p), "created_at": iso(p.created_at), "updated_at": iso(p.updated_at),
    }  # fmt: skip


def event_view(e: db.ClusteringEvent) -> dict[str, Any]:
    import logging

    return {
        "id": e.uuid, "timestamp": iso(e.timestamp), "oid": e.obj_id, "oname": e.obj_name,
        "otype": e.obj_type, "cluster_id": e.cluster_id, "level": logging.getLevelName(e.level),
        "action": e.action, "status": e.status, "status_reason": e.status_reason,
        "meta_data": e.meta or {}, "user": e.user_id, "project": e.project_id,
    }  # fmt: skip


def action_view(op: models.Operation, cluster_uuid: str | None) -> dict[str, Any]:
    target = op.subject_uuid or ""
    return {
        "id": op.uuid,
        "name": f"{op.kind.lower()}_{target[:8]}",
        "action": op.kind,
        "target": target,
        "cluster_id": cluster_uuid or "",
        "cause": op.cause,
        "owner": op.lease_owner,
        "interval": -1,
        "start_time": op.created_at.timestamp() if op.state != "pending" else None,
        "end_time": op.finished_at.timestamp() if op.finished_at else None,
        "timeout": int((op.deadline - op.created_at).total_seconds()) if op.deadline else None,
        "status": ACTION_STATUS.get(op.state, op.state.upper()),
        "status_reason": op.error or _reason(op.state),
        "inputs": (op.params or {}).get("inputs", {}),
        "outputs": op.outputs or {},
        "depends_on": [],
        "depended_by": [],
        "data": {},
        "user": op.user_id,
        "project": op.project_id,
        "domain": None,
        "created_at": iso(op.created_at),
        "updated_at": iso(op.updated_at),
    }


def _reason(state: str) -> str:
    return {
        "pending": "The action is waiting for a conductor.",
        "running": "The action is being processed.",
        "succeeded": "Action completed successfully.",
    }.get(state, "")


def _lax_int(value: Any) -> Any:
    """Senlin's capacity fields take numeric strings (``openstack cluster create --min-size
    1`` sends "1")."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


LaxInt = Annotated[int, BeforeValidator(_lax_int), Field(ge=-(2**31), lt=2**31)]
Capacity = Annotated[int, BeforeValidator(_lax_int), Field(ge=0, lt=2**31)]
MaxSize = Annotated[int, BeforeValidator(_lax_int), Field(ge=-1, lt=2**31)]
Timeout = Annotated[int, BeforeValidator(_lax_int), Field(ge=0, lt=2**31)]


class ClusterBody(Strict):
    name: Name
    profile_id: Name
    min_size: Capacity = 0
    max_size: MaxSize = -1
    desired_capacity: Capacity | None = None
    timeout: Timeout | None = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None


class ClusterCreate(Strict):
    cluster: ClusterBody


class ClusterPatchBody(Strict):
    name: Name | None = None
    profile_id: Name | None = None
    timeout: Timeout | None = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    profile_only: bool | None = None


class ClusterPatch(Strict):
    cluster: ClusterPatchBody


class NodeBody(Strict):
    name: Name
    profile_id: Name
    cluster_id: Text | None = None
    role: Text | None = None
    metadata: dict[str, Any] | None = None


class NodeCreate(Strict):
    node: NodeBody


class NodePatchBody(Strict):
    name: Name | None = None
    profile_id: Name | None = None
    role: Text | None = None
    metadata: dict[str, Any] | None = None
    tainted: bool | None = None  # from 1.13; dropped before, as Senlin drops it


class NodePatch(Strict):
    node: NodePatchBody


class ReceiverBody(Strict):
    name: Name
    type: Literal["webhook", "message"] = "webhook"
    cluster_id: Text | None = None
    action: Text | None = None
    actor: dict[str, Any] | None = None
    params: dict[str, Any] | None = None


class ReceiverCreate(Strict):
    receiver: ReceiverBody


class ReceiverPatchBody(Strict):
    name: Name | None = None
    action: Text | None = None
    params: dict[str, Any] | None = None


class ReceiverPatch(Strict):
    receiver: ReceiverPatchBody


class ActionPatchBody(Strict):
    status: Text


class ActionPatch(Strict):
    action: ActionPatchBody


class NodeList(Strict):
    nodes: list[Text]
    destroy_after_deletion: bool = False


class NodeMap(Strict):
    nodes: dict[str, Text] = Field(min_length=1)


class ResizeData(Strict):
    adjustment_type: (
        Literal["EXACT_CAPACITY", "CHANGE_IN_CAPACITY", "CHANGE_IN_PERCENTAGE"] | None
    ) = None
    number: Annotated[float, Field(ge=-(2**31), lt=2**31)] | None = None
    min_size: Capacity | None = None
    max_size: MaxSize | None = None
    min_step: Capacity | None = None
    strict: bool = True


class Count(Strict):
    count: LaxInt | None = None


class PolicyRef(Strict):
    policy_id: Text
    enabled: bool | None = None


class Recover(Strict):
    operation: Text | None = None
    operation_params: dict[str, Any] | None = None
    check: bool | None = None
    params: dict[str, Any] | None = None


class Empty(Strict):
    pass


# The body of each cluster action, as Senlin's request objects accept it.
CLUSTER_ACTIONS: dict[str, type[Strict]] = {
    "add_nodes": NodeList,
    "del_nodes": NodeList,
    "replace_nodes": NodeMap,
    "resize": ResizeData,
    "scale_out": Count,
    "scale_in": Count,
    "policy_attach": PolicyRef,
    "policy_detach": PolicyRef,
    "policy_update": PolicyRef,
    "check": Empty,
    "recover": Recover,
}


def cluster_view(
    c: db.ContainerCluster,
    profile_name: str | None,
    profile_uuid: str,
    nodes: list[str],
    policies: list[str],
) -> dict[str, Any]:
    return {
        "id": c.uuid, "name": c.name, "profile_id": profile_uuid, "profile_name": profile_name,
        **_owner(c), "init_at": iso(c.init_at), "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at), "min_size": c.min_size, "max_size": c.max_size,
        "desired_capacity": c.desired_capacity, "timeout": c.timeout, "status": c.status,
        "status_reason": c.status_reason, "metadata": c.meta or {}, "data": c.data or {},
        "config": c.config or {}, "dependents": c.dependents or {}, "nodes": nodes,
        "policies": policies,
    }  # fmt: skip


def node_view(
    n: db.ContainerNode,
    cluster_uuid: str | None,
    profile_name: str | None,
    profile_uuid: str,
    *,
    tainted: bool,
) -> dict[str, Any]:
    view = {
        "id": n.uuid, "name": n.name, "physical_id": n.physical_id,
        "cluster_id": cluster_uuid or "",
        "profile_id": profile_uuid, "profile_name": profile_name, **_owner(n),
        "index": n.index, "role": n.role or "", "init_at": iso(n.init_at),
        "created_at": iso(n.created_at), "updated_at": iso(n.updated_at), "status": n.status,
        "status_reason": n.status_reason, "data": n.data or {}, "metadata": n.meta or {},
        "dependents": n.dependents or {},
    }  # fmt: skip
    if tainted:
        view["tainted"] = n.tainted
    return view


def receiver_view(
    r: db.Receiver, cluster_uuid: str | None, *, channel: bool = False
) -> dict[str, Any]:
    """``channel`` (the webhook's URL, its secret inside) only where one receiver is shown
    to a reader of its project, never in lists."""
    actor = {k: v for k, v in (r.actor or {}).items() if k in ("user_id", "project_id")}
    return {
        "id": r.uuid, "name": r.name, "type": r.type, "cluster_id": cluster_uuid,
        "action": r.action, "actor": actor, "params": r.params or {},
        "channel": (r.channel or {}) if channel else {},
        **_owner(r), "created_at": iso(r.created_at), "updated_at": iso(r.updated_at),
    }  # fmt: skip


def binding_view(c: db.ContainerCluster, b: db.PolicyBinding, p: db.Policy) -> dict[str, Any]:
    return {
        "id": b.uuid, "cluster_id": c.uuid, "cluster_name": c.name, "policy_id": p.uuid,
        "policy_name": p.name, "policy_type": p.type, "enabled": b.enabled,
        "priority": b.priority, "data": b.data or {},
    }  # fmt: skip
