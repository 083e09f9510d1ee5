"""Senlin's actions are ``operations`` rows: starting one (desired state is written by the
caller in the same transaction), listing, showing and cancelling them."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cove import errors
from cove.db import clustering as db
from cove.db import models
from cove.db.session import writing
from cove.domain.clustering import errors as cerr
from cove.domain.clustering.actions import ACTION_STATUS, ActionName
from cove.identity import Caller
from cove.services import operations
from cove.services.clustering import common, paging

KINDS = (db.ContainerCluster.SUBJECT_KIND, db.ContainerNode.SUBJECT_KIND)
CAUSE = "RPC Request"
Subject = db.ContainerCluster | db.ContainerNode


def lock(session: Session, model: type[Any], row: Any) -> Any:
    """Reload ``row`` locked (FOR UPDATE on PostgreSQL), so writes to one subject queue."""
    stmt = (
        select(model)
        .where(model.id == row.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalar(stmt)


def ensure_idle(session: Session, subject: Subject, name: ActionName) -> None:
    running = operations.find_active(session, subject)
    if running is not None:
        raise cerr.ActionConflict(name, subject.uuid, running.uuid)


def start(
    session: Session,
    caller: Caller,
    subject: Subject,
    name: ActionName,
    inputs: dict[str, Any],
    *,
    target: str | None = None,
    timeout: int | None = None,
    cause: str = CAUSE,
) -> models.Operation:
    """One action on ``subject`` (409 naming the running one if another is active);
    ``target``: the object acted on when it is not the subject (a node of the cluster)."""
    ensure_idle(session, subject, name)
    seconds = timeout if timeout is not None else getattr(subject, "timeout", None) or 3600
    try:
        op = operations.start(
            session, subject, str(name), {"inputs": inputs},
            timeout_minutes=max(1, math.ceil(seconds / 60)),
            message=f"{name} accepted.",
        )  # fmt: skip
    except errors.ClusterBusy:
        running = operations.find_active(session, subject)
        raise cerr.ActionConflict(name, subject.uuid, running.uuid if running else "?") from None
    op.subject_uuid = target or subject.uuid
    op.project_id = subject.project_id
    op.user_id = caller.user_id
    op.cause = cause
    return op


SORT_KEYS = {
    "target": models.Operation.subject_uuid,
    "action": models.Operation.kind,
    "status": models.Operation.state,
    "created_at": models.Operation.created_at,
    "updated_at": models.Operation.updated_at,
}
_STATE = {v: k for k, v in ACTION_STATUS.items()}


def _base(caller: Caller, global_project: bool) -> Any:
    stmt = select(models.Operation).where(models.Operation.subject_kind.in_(KINDS))
    scope = common.list_scope(models.Operation, caller, global_project)
    return stmt.where(scope) if scope is not None else stmt


def list_actions(session: Session, caller: Caller, q: common.ListQuery) -> list[models.Operation]:
    common.enforce(caller, "actions:index")
    stmt = _base(caller, q.global_project)
    for key, values in (q.filters or {}).items():
        if key == "target":
            stmt = stmt.where(models.Operation.subject_uuid.in_(values))
        elif key == "action":
            stmt = stmt.where(models.Operation.kind.in_(values))
        elif key == "status":
            stmt = stmt.where(
                models.Operation.state.in_([_STATE.get(v, v.lower()) for v in values])
            )
        elif key == "cluster_id":
            ids = select(db.ContainerCluster.id).where(db.ContainerCluster.uuid.in_(values))
            stmt = stmt.where(
                models.Operation.subject_kind == db.ContainerCluster.SUBJECT_KIND,
                models.Operation.subject_id.in_(ids),
            )
    return paging.paginate(
        session, stmt, models.Operation, limit=q.limit, marker=q.marker, sort=q.sort,
        sort_keys=SORT_KEYS, kind="action", default_key=models.Operation.created_at,
    )  # fmt: skip


def get_action(
    session: Session, caller: Caller, ident: str, rule: str = "actions:get"
) -> models.Operation:
    common.enforce(caller, rule)
    stmt = select(models.Operation).where(models.Operation.subject_kind.in_(KINDS))
    return common.find(
        session, models.Operation, ident, kind="action",
        scope=common.object_scope(models.Operation, caller), stmt=stmt,
    )  # fmt: skip


def cluster_uuids(session: Session, ops: list[models.Operation]) -> dict[int, str]:
    """The uuid of each action's cluster (for ``cluster_id``), by operation id."""
    ids = {op.subject_id for op in ops if op.subject_kind == db.ContainerCluster.SUBJECT_KIND}
    rows = dict(
        session.execute(
            select(db.ContainerCluster.id, db.ContainerCluster.uuid).where(
                db.ContainerCluster.id.in_(ids)
            )
        ).all()
    )
    return {
        op.id: rows[op.subject_id]
        for op in ops
        if op.subject_kind == db.ContainerCluster.SUBJECT_KIND and op.subject_id in rows
    }


def cancel_action(session: Session, caller: Caller, ident: str, status: str) -> models.Operation:
    if status != "CANCELLED":
        raise cerr.BadRequest(
            f"Unknown status '{status}' for 'action.status': only CANCELLED is supported."
        )
    with writing(session):
        op = get_action(session, caller, ident, "actions:update")
        common.enforce(caller, "actions:update", op.project_id)
        if op.state not in operations.ACTIVE:
            raise cerr.ActionImmutable(op.uuid, ACTION_STATUS.get(op.state, op.state))
        session.execute(
            update(models.Operation)
            .where(models.Operation.id == op.id, models.Operation.state.in_(operations.ACTIVE))
            .values(state="cancelled", error="Cancelled by the user.", finished_at=models.utcnow())
        )
        operations.notify(session)
    session.refresh(op)
    return op
