"""The events long poll shared by every subject's event log (``GET …/events?since=&wait=``):
answer at once when the read finds events above ``since``, else hold the request until the
subject's next commit wakes it (``EventHub``) or ``wait`` seconds pass. Subscribing before
reading again means an event committed between the first read and the wait is not missed.
Reads run in the thread pool; the wait holds no thread and no database connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from starlette.concurrency import run_in_threadpool

from cove.services.eventhub import EventHub

WAIT_DESCRIPTION = (
    "when no event is above `since`, hold the request until one is recorded or this many "
    "seconds pass (a long poll: no client-side polling)"
)


@dataclass(frozen=True)
class EventsQuery:
    """The query of an events long poll: ``since`` (events above this id), ``limit``, and
    ``wait`` (seconds to wait for one)."""

    since: int
    limit: int
    wait: float


async def events_query(
    since: int = Query(0, ge=0, description="return events with an id above this"),
    limit: int = Query(200, ge=1, le=1000),
    wait: float = Query(0, ge=0, le=60, description=WAIT_DESCRIPTION),
) -> EventsQuery:
    # async: FastAPI would run a plain class or function in the thread pool, a hop for nothing
    return EventsQuery(since, limit, wait)


EventsQueryDep = Annotated[EventsQuery, Depends(events_query)]


async def poll(
    hub: EventHub, read: Callable[[], tuple[str, dict[str, Any]]], wait: float
) -> dict[str, Any]:
    """``read()`` gives the subject's uuid and the body (with its ``events``); raises what
    the read raises (a 404 once the subject is gone)."""
    uuid, body = await run_in_threadpool(read)
    if body["events"] or not wait:
        return body
    # A wake-up that brings nothing new (a notification of a commit already read, which
    # PostgreSQL's NOTIFY can deliver late) waits on until the deadline.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        subscription = hub.subscribe(uuid)
        try:
            _, body = await run_in_threadpool(read)
            remaining = deadline - loop.time()
            if body["events"] or remaining <= 0 or not await subscription.wait(remaining):
                return body
        finally:
            subscription.close()


def event_view(event: Any) -> dict[str, Any]:
    return {
        "id": event.id,
        "time": event.time.isoformat(),
        "level": event.level,
        "message": event.message,
    }
