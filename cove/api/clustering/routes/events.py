"""/events."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from cove.api.clustering.deps import ContextDep, SessionDep, list_query, no_query
from cove.api.clustering.schemas import event_view
from cove.api.routing import Router
from cove.services.clustering import events

router = Router(prefix="/v1")
FILTERS = ("oid", "oname", "otype", "action", "cluster_id", "level")


@router.get("/events")
def list_events(request: Request, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    q = list_query(request, FILTERS)
    return {"events": [event_view(e) for e in events.list_events(session, ctx.caller, q)]}


@router.get("/events/{event_id}", dependencies=[Depends(no_query)])
def show_event(event_id: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return {"event": event_view(events.get_event(session, ctx.caller, event_id))}
