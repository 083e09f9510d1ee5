"""Operations and events: an API write records desired state plus one operation row in the
same transaction; conductors claim and drive it. One operation at a time per cluster."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from cove import errors
from cove.db import models
from cove.domain.statuses import Operation, Status
from cove.services import eventhub

log = logging.getLogger(__name__)
_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

ACTIVE = ("pending", "running")
CHANNEL = "cove_operations"


def find_active(session: Session, cluster: models.Cluster) -> models.Operation | None:
    return session.scalar(
        select(models.Operation)
        .where(models.Operation.cluster_id == cluster.id, models.Operation.state.in_(ACTIVE))
        .order_by(models.Operation.id)
        .limit(1)
    )


def ensure_idle(session: Session, cluster: models.Cluster) -> None:
    """Refuse a write while another operation runs (Magnum drops it silently instead)."""
    running = find_active(session, cluster)
    if running is not None:
        raise errors.ClusterBusy(cluster.name, f"{running.kind} {running.uuid}", cluster.status)


def record_event(
    session: Session,
    cluster: models.Cluster,
    message: str,
    *,
    level: str = "info",
    operation: models.Operation | None = None,
) -> None:
    """Add an event; readers waiting on the cluster's events wake at commit. Events are
    also the service's log of what happens to clusters."""
    log.log(
        _LOG_LEVELS.get(level, logging.INFO), "cluster %s (%s): %s",
        cluster.name, cluster.uuid, message,
    )  # fmt: skip
    announce(session, cluster)
    session.add(
        models.Event(
            cluster_id=cluster.id,
            operation_id=operation.id if operation is not None else None,
            level=level,
            message=message,
        )
    )


def announce(session: Session, cluster: models.Cluster) -> None:
    """Wake readers waiting on the cluster's events when this transaction commits (see
    ``eventhub``): in this process at once, in others through NOTIFY on PostgreSQL. Also
    for a deleted cluster, whose readers then find it gone."""
    if session.get_bind().dialect.name == "postgresql" and not eventhub.marked(
        session, cluster.uuid
    ):
        session.execute(
            text("SELECT pg_notify(:channel, :uuid)"),
            {"channel": eventhub.CHANNEL, "uuid": cluster.uuid},
        )
    eventhub.mark(session, cluster.uuid)


def start(
    session: Session,
    cluster: models.Cluster,
    kind: Operation,
    params: dict[str, Any] | None = None,
    *,
    timeout_minutes: int | None = None,
    message: str,
) -> models.Operation:
    op = models.Operation(cluster_id=cluster.id, kind=str(kind), params=params or {})
    if timeout_minutes:
        op.deadline = models.utcnow() + timedelta(minutes=timeout_minutes)
    session.add(op)
    session.flush()
    record_event(session, cluster, message, operation=op)
    notify(session)
    return op


def notify(session: Session) -> None:
    """Wake conductors in other processes. PostgreSQL delivers NOTIFY at commit, so nobody
    wakes to look for an operation that is not visible yet; SQLite is single-process and
    the in-process wake-up suffices."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


def cancel_active(session: Session, cluster: models.Cluster, reason: str) -> None:
    """Delete supersedes whatever runs: the runner sees the state change at its next step."""
    session.execute(
        update(models.Operation)
        .where(models.Operation.cluster_id == cluster.id, models.Operation.state.in_(ACTIVE))
        .values(state="cancelled", error=reason, finished_at=models.utcnow())
    )


def set_status(cluster: models.Cluster, status: Status, reason: str | None = None) -> None:
    cluster.status = str(status)
    cluster.status_reason = reason
