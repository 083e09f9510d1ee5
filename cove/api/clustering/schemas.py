"""Request bodies (Senlin's request objects: unknown fields refused, names 1-255 printable
characters) and the views of stored objects in Senlin's field names."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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
