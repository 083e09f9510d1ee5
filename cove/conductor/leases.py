"""Claiming operations with leases in the database: a compare-and-set on the operation row,
so two conductors never run one operation, and a dead conductor's work is taken over once
its lease expires. ``lease_expires_at`` on a pending operation means "not before" (backoff)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cove.db import models
from cove.db.session import transaction

Clock = Callable[[], datetime]


def _claimable(now: datetime) -> ColumnElement[bool]:
    op = models.Operation
    return or_(
        and_(op.state == "pending", or_(op.lease_expires_at.is_(None), op.lease_expires_at <= now)),
        and_(op.state == "running", op.lease_expires_at <= now),
    )


def claim(
    factory: sessionmaker[Session], owner: str, lease_seconds: float, clock: Clock
) -> int | None:
    """Claim the oldest claimable operation; return its id, or None when there is none."""
    with transaction(factory) as session:
        now = clock()
        candidates = session.scalars(
            select(models.Operation.id)
            .where(_claimable(now))
            .order_by(models.Operation.id)
            .limit(5)
        ).all()
        for op_id in candidates:
            result = session.execute(
                update(models.Operation)
                .where(models.Operation.id == op_id, _claimable(now))
                .values(
                    state="running",
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    attempts=models.Operation.attempts + 1,
                )
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return op_id
    return None


def renew(
    factory: sessionmaker[Session], op_id: int, owner: str, lease_seconds: float, clock: Clock
) -> bool:
    """Extend our lease; False when the operation is no longer ours (cancelled, taken over)."""
    with transaction(factory) as session:
        result = session.execute(
            update(models.Operation)
            .where(
                models.Operation.id == op_id,
                models.Operation.lease_owner == owner,
                models.Operation.state == "running",
            )
            .values(lease_expires_at=clock() + timedelta(seconds=lease_seconds))
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def next_due(factory: sessionmaker[Session], clock: Clock) -> float | None:
    """Seconds until the earliest backed-off or leased operation becomes claimable."""
    with transaction(factory, write=False) as session:
        earliest = session.scalar(
            select(func.min(models.Operation.lease_expires_at)).where(
                models.Operation.state.in_(("pending", "running")),
                models.Operation.lease_expires_at.is_not(None),
            )
        )
    if earliest is None:
        return None
    return max(0.0, (earliest - clock()).total_seconds())
