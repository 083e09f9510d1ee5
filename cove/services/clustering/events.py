"""Senlin's event records (``clustering_events``): ``record`` is called by the API's
services and by the conductor side when an action does something to an object; list and
show read them per project."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.db import clustering as db
from cove.db import models
from cove.identity import Caller
from cove.redact import redact
from cove.services.clustering import common, paging

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_OBJ_TYPES = {
    db.ContainerCluster: "CLUSTER",
    db.ContainerNode: "NODE",
    db.Profile: "PROFILE",
    db.Policy: "POLICY",
    db.Receiver: "RECEIVER",
}


def record(
    session: Session,
    obj: Any,
    *,
    action: str,
    status: str,
    reason: str | None = None,
    level: int = logging.INFO,
    operation: models.Operation | None = None,
    meta: dict[str, Any] | None = None,
) -> db.ClusteringEvent:
    """Add an event about ``obj`` (a cluster, node, profile, policy or receiver) in the
    caller's transaction. ``action``: the action name (``CLUSTER_CREATE``) or phase;
    ``status``: the object's status (or the action's phase: ``start``, ``end``, ``error``).
    The reason passes through ``cove.redact``: nothing an engine echoed leaks a secret."""
    if isinstance(obj, db.ContainerNode):
        cluster_uuid = _cluster_uuid(session, obj.cluster_id)
    elif isinstance(obj, db.ContainerCluster):
        cluster_uuid = obj.uuid
    else:
        cluster_uuid = None
    event = db.ClusteringEvent(
        obj_id=obj.uuid,
        obj_type=_OBJ_TYPES.get(type(obj), type(obj).__name__.upper()),
        obj_name=obj.name,
        cluster_id=cluster_uuid,
        level=level,
        action=action,
        status=status,
        status_reason=redact(reason) if reason else reason,
        meta={**(meta or {}), **({"action": operation.uuid} if operation is not None else {})},
        project_id=obj.project_id,
        user_id=operation.user_id if operation is not None and operation.user_id else obj.user_id,
    )
    session.add(event)
    return event


def _cluster_uuid(session: Session, cluster_id: int | None) -> str | None:
    if cluster_id is None:
        return None
    return session.scalar(
        select(db.ContainerCluster.uuid).where(db.ContainerCluster.id == cluster_id)
    )


SORT_KEYS = {
    "timestamp": db.ClusteringEvent.timestamp,
    "level": db.ClusteringEvent.level,
    "otype": db.ClusteringEvent.obj_type,
    "oname": db.ClusteringEvent.obj_name,
    "action": db.ClusteringEvent.action,
    "status": db.ClusteringEvent.status,
    "oid": db.ClusteringEvent.obj_id,
    "cluster_id": db.ClusteringEvent.cluster_id,
}
_FILTERS = {
    "oid": db.ClusteringEvent.obj_id,
    "oname": db.ClusteringEvent.obj_name,
    "otype": db.ClusteringEvent.obj_type,
    "action": db.ClusteringEvent.action,
    "cluster_id": db.ClusteringEvent.cluster_id,
}


def list_events(session: Session, caller: Caller, q: common.ListQuery) -> list[db.ClusteringEvent]:
    common.enforce(caller, "events:index")
    stmt = select(db.ClusteringEvent)
    scope = common.list_scope(db.ClusteringEvent, caller, q.global_project)
    if scope is not None:
        stmt = stmt.where(scope)
    for key, values in (q.filters or {}).items():
        if key == "level":
            levels = []
            for v in values:
                if v.upper() not in LEVELS:
                    raise common.cerr.BadRequest(
                        f"Invalid value '{v}' for 'level'; use one of: {', '.join(LEVELS)}."
                    )
                levels.append(LEVELS[v.upper()])
            stmt = stmt.where(db.ClusteringEvent.level.in_(levels))
        else:
            stmt = stmt.where(_FILTERS[key].in_(values))
    return paging.paginate(
        session, stmt, db.ClusteringEvent, limit=q.limit, marker=q.marker, sort=q.sort,
        sort_keys=SORT_KEYS, kind="event", default_key=db.ClusteringEvent.timestamp,
    )  # fmt: skip


def get_event(session: Session, caller: Caller, ident: str) -> db.ClusteringEvent:
    common.enforce(caller, "events:get")
    return common.find(
        session, db.ClusteringEvent, ident, kind="event",
        scope=common.object_scope(db.ClusteringEvent, caller),
    )  # fmt: skip
