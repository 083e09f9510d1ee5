"""Operations and events: an API write records desired state plus one operation row in the
same transaction; conductors claim and drive it. One operation at a time per subject.

A subject is any row the conductor reconciles (a cluster today; container clusters and
deployments next): it has ``id``, ``uuid``, ``name`` and a class attribute ``SUBJECT_KIND``
naming the reconciler registered for it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cove import errors
from cove.db import models
from cove.db import notify as notes
from cove.domain.statuses import Operation, Status, start_status
from cove.services import eventhub

log = logging.getLogger(__name__)
_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

ACTIVE = ("pending", "running")
CHANNEL = "cove_operations"


class Subject(Protocol):
    SUBJECT_KIND: ClassVar[str]
    id: Any
    uuid: Any
    name: Any


def _of(subject: Subject) -> Any:
    return (models.Operation.subject_kind == subject.SUBJECT_KIND) & (
        models.Operation.subject_id == subject.id
    )


def find_active(session: Session, cluster: Subject) -> models.Operation | None:
    return session.scalar(
        select(models.Operation)
        .where(_of(cluster), models.Operation.state.in_(ACTIVE))
        .order_by(models.Operation.id)
        .limit(1)
    )


def events_since(
    session: Session, subject: Subject, since: int, limit: int
) -> Sequence[models.Event]:
    """The subject's events with an id above ``since``, oldest first."""
    return session.scalars(
        select(models.Event)
        .where(
            models.Event.subject_kind == subject.SUBJECT_KIND,
            models.Event.subject_id == subject.id,
            models.Event.id > since,
        )
        .order_by(models.Event.id)
        .limit(limit)
    ).all()


def history(session: Session, subject: Subject, limit: int) -> Sequence[models.Operation]:
    """The subject's operations, newest first."""
    return session.scalars(
        select(models.Operation)
        .where(_of(subject))
        .order_by(models.Operation.id.desc())
        .limit(limit)
    ).all()


def forget(session: Session, subject: Subject) -> None:
    """Remove a deleted subject's operations and events (no cascade does it), and leave a
    tombstone for the orphan sweep."""
    session.add(models.Tombstone(subject_kind=subject.SUBJECT_KIND, uuid=subject.uuid))
    session.execute(
        delete(models.Event).where(
            models.Event.subject_kind == subject.SUBJECT_KIND,
            models.Event.subject_id == subject.id,
        )
    )
    session.execute(delete(models.Operation).where(_of(subject)))


def ensure_idle(session: Session, cluster: models.Cluster) -> None:
    """Refuse a write while another operation runs (Magnum drops it silently instead).

    Writers load the subject with its row locked (``FOR UPDATE`` on PostgreSQL; SQLite's
    writing transactions are serialised by BEGIN IMMEDIATE), so this check sees every
    operation committed before; the unique index on active operations backs it (``start``)."""
    running = find_active(session, cluster)
    if running is not None:
        raise errors.ClusterBusy(cluster.name, f"{running.kind} {running.uuid}", cluster.status)


def record_event(
    session: Session,
    cluster: Subject,
    message: str,
    *,
    level: str = "info",
    operation: models.Operation | None = None,
) -> None:
    """Add an event; readers waiting on the cluster's events wake at commit. Events are
    also the service's log of what happens to clusters."""
    op_id = operation.id if operation is not None else None
    row = _event_row(session, cluster.SUBJECT_KIND, cluster.id, cluster.name, cluster.uuid,
                     message, level=level, operation_id=op_id)  # fmt: skip
    session.add(models.Event(**row))


def _event_row(
    session: Session,
    kind: str,
    subject_id: int | ColumnElement[int],
    name: str,
    uuid: str,
    message: str,
    *,
    level: str = "info",
    operation_id: int | ColumnElement[int] | None = None,
) -> dict[str, Any]:
    """An event's row (ids, or subqueries that find them); logged, and its readers woken at
    commit."""
    _log(kind, name, uuid, level, message)
    _announce(session, uuid)
    return {"subject_kind": kind, "subject_id": subject_id, "operation_id": operation_id,
            "level": level, "message": message}  # fmt: skip


def _log(subject_kind: str, name: str, uuid: str, level: str, message: str) -> None:
    log.log(_LOG_LEVELS.get(level, logging.INFO), "%s %s (%s): %s",
            subject_kind, name, uuid, message)  # fmt: skip


def announce(session: Session, cluster: Subject) -> None:
    """Wake readers waiting on the cluster's events when this transaction commits (see
    ``eventhub``): in this process at once, in others through a note (``cove.db.notify``).
    Also for a deleted cluster, whose readers then find it gone."""
    _announce(session, cluster.uuid)


def _announce(session: Session, uuid: str) -> None:
    if not eventhub.marked(session, uuid):
        notes.notify(session, eventhub.CHANNEL, uuid)
    eventhub.mark(session, uuid)


# Every operation has a deadline; create's is the cluster's create_timeout.
DEFAULT_TIMEOUT_MINUTES = 60


def start(
    session: Session,
    cluster: Subject,
    kind: Operation | str,
    params: dict[str, Any] | None = None,
    *,
    timeout_minutes: int | None = None,
    message: str,
) -> models.Operation:
    op = models.Operation(
        subject_kind=cluster.SUBJECT_KIND,
        subject_id=cluster.id,
        kind=str(kind),
        params=params or {},
    )
    op.deadline = _deadline(timeout_minutes)
    try:
        # A savepoint: when the database refuses the row, the caller's transaction stays
        # usable (to read the winner here, or to keep what else the monitor recorded).
        with session.begin_nested():
            session.add(op)
    except IntegrityError:
        # The unique index on active operations: another writer's operation on this
        # subject committed after our check (or the caller did not check).
        raise _busy(session, cluster) from None
    record_event(session, cluster, message, operation=op)
    notify(session)
    return op


@dataclass(frozen=True)
class NewSubject:
    """A subject this transaction inserted (``Subject``'s fields, the kind as a value). Its id
    may be a subquery that finds the row, when the insert's answer has not come back."""

    kind: str
    id: int | ColumnElement[int]
    uuid: str
    name: str


def start_on_new(
    session: Session,
    subject: NewSubject,
    kind: Operation | str,
    *,
    timeout_minutes: int | None = None,
    message: str,
) -> None:
    """``start`` for a subject this transaction made: no other operation can hold it, so the
    row needs no savepoint, and the operation and its event are two plain INSERTs (no ORM
    unit of work: a create's writes are its request's largest cost). Neither reads a result,
    so they may run in a ``pipelined`` block."""
    ops, events = models.table_of(models.Operation), models.table_of(models.Event)
    op_uuid = models.new_uuid()
    session.execute(
        insert(ops)
        .inline()
        .values(
            uuid=op_uuid,
            subject_kind=subject.kind,
            subject_id=subject.id,
            kind=str(kind),
            params={},
            deadline=_deadline(timeout_minutes),
        )
    )
    # The event finds its operation by uuid: nothing waits for the operation's id.
    op_id = select(ops.c.id).where(ops.c.uuid == op_uuid).scalar_subquery()
    row = _event_row(session, subject.kind, subject.id, subject.name, subject.uuid, message,
                     operation_id=op_id)  # fmt: skip
    session.execute(insert(events).inline().values(row))
    notify(session)


def _deadline(timeout_minutes: int | None) -> datetime:
    return models.utcnow() + timedelta(minutes=timeout_minutes or DEFAULT_TIMEOUT_MINUTES)


def _busy(session: Session, subject: Subject) -> errors.ClusterBusy:
    """The 409 ``ensure_idle`` gives, naming the operation that won. The subject's status is
    the one the winner set (this transaction may already have changed its own copy)."""
    running = find_active(session, subject)
    if running is None:  # the winner finished in the meantime
        return errors.ClusterBusy(
            subject.name, "started by another request", str(Status.UPDATE_IN_PROGRESS)
        )
    try:
        status = str(start_status(Operation(running.kind)))
    except ValueError:  # a kind of another subject's reconciler
        status = str(getattr(subject, "status", ""))
    return errors.ClusterBusy(subject.name, f"{running.kind} {running.uuid}", status)


def notify(session: Session) -> None:
    """Wake conductors in other processes once this transaction commits (so nobody wakes to
    look for an operation that is not visible yet)."""
    notes.notify(session, CHANNEL)


def cancel_active(session: Session, cluster: Subject, reason: str) -> None:
    """Delete supersedes whatever runs: the runner sees the state change at its next step."""
    session.execute(
        update(models.Operation)
        .where(_of(cluster), models.Operation.state.in_(ACTIVE))
        .values(state="cancelled", error=reason, finished_at=models.utcnow())
    )


def set_status(cluster: models.Cluster, status: Status, reason: str | None = None) -> None:
    cluster.status = str(status)
    cluster.status_reason = reason
