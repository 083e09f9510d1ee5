"""The operation runner: claims an operation, hands it to the reconciler registered for its
subject's kind, and records the outcome in one transaction. Steps, retries, backoff,
deadlines and events are decided here, the same for every kind; reconcilers only raise.

It must not hold a database transaction while a reconciler works: work may take minutes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cove.conductor import leases
from cove.conductor.reconcilers import OperationRun, Reconciler, Registry
from cove.db import models
from cove.db.session import transaction
from cove.drivers.registry import DriverRegistry
from cove.failures import Pause, Temporary, is_permanent
from cove.redact import redact
from cove.services import operations
from cove.steps import StepData, Steps

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


class Superseded(Exception):
    """The operation was cancelled (by a delete) or taken over while it ran."""


class Runner:
    def __init__(
        self,
        factory: sessionmaker[Session],
        reconcilers: Registry,
        owner: str,
        *,
        lease_seconds: float = 30.0,
        clock: leases.Clock = models.utcnow,
        after_step: Callable[[str], object] | None = None,
    ) -> None:
        self.factory = factory
        self.reconcilers = reconcilers
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.clock = clock
        # Called with a step's name once it is recorded (fault injection in crash tests).
        self.after_step = after_step

    @classmethod
    def standalone(
        cls, factory: sessionmaker[Session], drivers: DriverRegistry, owner: str, **kw: Any
    ) -> Runner:
        """A runner of every kind of operation over ``drivers``, without a conductor
        around it (tests, tools)."""
        from cove.conductor.kinds import every_reconciler

        return cls(factory, every_reconciler(factory, drivers)[0], owner, **kw)

    # -- one operation -------------------------------------------------------------------

    def run_one(self) -> bool:
        """Claim and drive one operation. Returns False when nothing was claimable."""
        op_id = leases.claim(self.factory, self.owner, self.lease_seconds, self.clock)
        if op_id is None:
            return False
        stop = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat, args=(op_id, stop), daemon=True)
        heartbeat.start()
        try:
            self._drive(op_id)
        except Superseded:
            log.info("operation %s was superseded", op_id)
        finally:
            stop.set()
            heartbeat.join()
        return True

    def _heartbeat(self, op_id: int, stop: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 3):
            if not leases.renew(self.factory, op_id, self.owner, self.lease_seconds, self.clock):
                return

    def _drive(self, op_id: int) -> None:
        with transaction(self.factory, write=False) as session:
            row = session.get(models.Operation, op_id)
            if row is None:
                return
            reconciler = self.reconcilers[row.subject_kind]
            run: OperationRun | None = None
            if reconciler.subject(session, row.subject_id) is not None:
                run = OperationRun(
                    id=row.id,
                    kind=row.kind,
                    subject_id=row.subject_id,
                    params=dict(row.params),
                    steps=Steps(row.progress, self._step_recorder(op_id)),
                    deadline=row.deadline,
                    event=self._event_writer(op_id),
                )
        if run is None:
            self._cancel(op_id, "its subject no longer exists")
            return
        try:
            outcome = reconciler.run(run)
        except Superseded:
            raise
        except Exception as exc:
            if is_permanent(exc):
                self._finish(reconciler, op_id, ok=False, reason=str(exc))
                return
            if not isinstance(exc, Temporary):
                log.warning("operation %s: unexpected error", op_id, exc_info=True)
            delay = exc.delay if isinstance(exc, Temporary) else None
            self._retry_or_fail(reconciler, op_id, exc, delay)
            return
        if self._finish(reconciler, op_id, ok=True, outcome=outcome):
            completed = getattr(reconciler, "completed", None)
            if completed is not None:
                completed(run.subject_id, run.kind)

    # -- writing ---------------------------------------------------------------------------

    def _cancel(self, op_id: int, reason: str) -> None:
        """End an operation that has nothing left to act on (so it is not claimed again)."""
        with transaction(self.factory) as session:
            op = self._owned(session, op_id)
            op.state, op.error, op.finished_at = "cancelled", reason, self.clock()
            op.lease_owner = None

    def _owned(self, session: Session, op_id: int) -> models.Operation:
        op = session.get(models.Operation, op_id)
        if op is None or op.state != "running" or op.lease_owner != self.owner:
            raise Superseded()
        return op

    def _subject(self, session: Session, reconciler: Reconciler, op: models.Operation) -> Any:
        subject = reconciler.subject(session, op.subject_id)
        if subject is None:
            raise Superseded()
        return subject

    def _event_writer(self, op_id: int) -> Callable[[str], None]:
        def write(message: str) -> None:
            with transaction(self.factory) as session:
                op = self._owned(session, op_id)
                subject = self._subject(session, self.reconcilers[op.subject_kind], op)
                operations.record_event(session, subject, redact(message), operation=op)

        return write

    def _step_recorder(self, op_id: int) -> Callable[[str, StepData], None]:
        def record(name: str, data: StepData) -> None:
            with transaction(self.factory) as session:
                op = self._owned(session, op_id)
                entry = {"state": "done", "data": data, "at": self.clock().isoformat()}
                op.progress = {**op.progress, name: entry}
            if self.after_step is not None:
                self.after_step(name)

        return record

    def _retry_or_fail(
        self, reconciler: Reconciler, op_id: int, exc: Exception, delay: float | None
    ) -> None:
        reason = redact(str(exc) or exc.__class__.__name__)
        with transaction(self.factory) as session:
            op = self._owned(session, op_id)
            now = self.clock()
            if op.deadline is not None and now >= op.deadline:
                deadline_reason = (
                    f"{op.kind} did not finish by its deadline "
                    f"({op.deadline:%Y-%m-%d %H:%M:%S} UTC); last error: {reason}"
                )
                session.rollback()
            else:
                wait = delay if delay is not None else min(MAX_BACKOFF, 2.0 ** min(op.attempts, 5))
                if op.deadline is not None:
                    # Never sleep past the deadline: the last attempt happens at it.
                    wait = max(0.0, min(wait, (op.deadline - now).total_seconds()))
                op.state = "pending"
                op.lease_owner = None
                op.lease_expires_at = now + timedelta(seconds=wait)
                paused = isinstance(exc, Pause)
                op.error = None if paused else reason
                # A pause says what it waits for; said once, until that changes.
                if not (paused and _last_event(session, op) == reason):
                    operations.record_event(
                        session,
                        self._subject(session, reconciler, op),
                        reason if paused else f"Retrying in {wait:.0f}s: {reason}",
                        level="info" if paused else "warning",
                        operation=op,
                    )
                if paused:
                    log.debug("operation %s pauses %.1fs: %s", op_id, wait, reason)
                else:
                    log.warning("operation %s failed (%s); retrying in %.1fs", op_id, reason, wait)
                return
        self._finish(reconciler, op_id, ok=False, reason=deadline_reason)

    def _finish(
        self,
        reconciler: Reconciler,
        op_id: int,
        *,
        ok: bool,
        outcome: Any = None,
        reason: str | None = None,
    ) -> bool:
        with transaction(self.factory) as session:
            op = self._owned(session, op_id)
            subject = self._subject(session, reconciler, op)
            op.state = "succeeded" if ok else "failed"
            op.error = None if ok else redact(reason or "failed")
            op.finished_at = self.clock()
            op.lease_owner = None
            if ok:
                reconciler.succeeded(session, op, subject, outcome)
            else:
                reconciler.failed(session, op, subject, op.error or "failed")
        return ok


def _last_event(session: Session, op: models.Operation) -> str | None:
    """The subject's latest event (ix_events_subject)."""
    return session.scalar(
        select(models.Event.message)
        .where(
            models.Event.subject_kind == op.subject_kind,
            models.Event.subject_id == op.subject_id,
        )
        .order_by(models.Event.id.desc())
        .limit(1)
    )
