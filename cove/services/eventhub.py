"""Wake-ups for long-polling readers of a cluster's events (``GET …/events?wait=``).

``record_event`` marks its session with the cluster; when that session commits, the hub
wakes every request waiting on the cluster, in this process, at once. Events committed by
another process (a conductor on the same database) arrive as a note on ``cove_events`` with
the cluster's UUID (``cove.db.notify``), which the API turns into the same wake-up. A reader
subscribes before it reads the database, so an event committed between its read and its wait
is not missed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

CHANNEL = "cove_events"
_PENDING = "cove.events.clusters"


def marked(session: Session, cluster_uuid: str) -> bool:
    return cluster_uuid in session.info.get(_PENDING, ())


def mark(session: Session, cluster_uuid: str) -> None:
    """Called with each recorded event: wake the cluster's readers after the commit."""
    session.info.setdefault(_PENDING, set()).add(cluster_uuid)


class Subscription:
    def __init__(self, hub: EventHub, cluster_uuid: str, future: asyncio.Future[None]) -> None:
        self._hub, self.cluster_uuid, self.future = hub, cluster_uuid, future

    async def wait(self, timeout: float) -> bool:
        """True when woken, False when ``timeout`` passed first."""
        try:
            await asyncio.wait_for(asyncio.shield(self.future), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self.close()

    def close(self) -> None:
        self._hub._discard(self)


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, set[Subscription]] = {}

    def attach(self, factory: sessionmaker[Session]) -> None:
        """Publish what sessions of ``factory`` commit."""
        event.listen(factory, "after_commit", self._after_commit)
        event.listen(factory, "after_rollback", _discard)

    def subscribe(self, cluster_uuid: str) -> Subscription:
        """From a coroutine: a subscription to the next events of the cluster."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        subscription = Subscription(self, cluster_uuid, future)
        with self._lock:
            self._waiting.setdefault(cluster_uuid, set()).add(subscription)
        return subscription

    def waiting(self, cluster_uuid: str) -> int:
        """How many readers wait on the cluster now."""
        with self._lock:
            return len(self._waiting.get(cluster_uuid, ()))

    def publish(self, cluster_uuids: Iterable[str]) -> None:
        """Wake the readers of these clusters; safe from any thread."""
        with self._lock:
            woken = [s for uuid in cluster_uuids for s in self._waiting.pop(uuid, ())]
        for subscription in woken:
            loop = subscription.future.get_loop()
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, subscription.future)

    def _discard(self, subscription: Subscription) -> None:
        with self._lock:
            waiting = self._waiting.get(subscription.cluster_uuid)
            if waiting is not None:
                waiting.discard(subscription)
                if not waiting:
                    del self._waiting[subscription.cluster_uuid]

    def _after_commit(self, session: Session) -> None:
        # Also called as a savepoint is released: readers wake at the transaction's commit.
        if session.in_nested_transaction():
            return
        pending = session.info.pop(_PENDING, None)
        if pending:
            self.publish(pending)


def _discard(session: Session) -> None:
    # A savepoint's rollback keeps the transaction's wake-ups: one too many is harmless.
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
