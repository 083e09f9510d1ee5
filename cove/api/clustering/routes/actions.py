"""/actions: cove's operations on container clusters and nodes, as Senlin's actions."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from cove.api.clustering import microversions
from cove.api.clustering.deps import ContextDep, SessionDep, list_query, no_query
from cove.api.clustering.schemas import ActionPatch, action_view
from cove.api.routing import Router
from cove.db import models
from cove.services.clustering import actions

router = Router(prefix="/v1")


def render(
    session: Any, ops: list[models.Operation], version: microversions.Version
) -> list[dict[str, Any]]:
    clusters = actions.cluster_uuids(session, ops)
    views = [action_view(op, clusters.get(op.id)) for op in ops]
    if version < microversions.Version(1, 14):
        for view in views:
            view.pop("cluster_id")
    return views


@router.get("/actions")
def list_actions(request: Request, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    filters: tuple[str, ...] = ("name", "target", "action", "status")
    if ctx.version >= microversions.Version(1, 14):
        filters = (*filters, "cluster_id")
    q = list_query(request, filters)
    if q.filters:
        q.filters.pop(
            "name", None
        )  # names are derived (<action>_<target>); nothing matches by name
    return {"actions": render(session, actions.list_actions(session, ctx.caller, q), ctx.version)}


@router.get("/actions/{action_id}", dependencies=[Depends(no_query)])
def show_action(action_id: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return {
        "action": render(
            session, [actions.get_action(session, ctx.caller, action_id)], ctx.version
        )[0]
    }


@router.patch("/actions/{action_id}", status_code=202, dependencies=[Depends(no_query)])
def cancel_action(
    action_id: str, body: ActionPatch, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    microversions.at_least(ctx.version, "1.12", "action update")
    actions.cancel_action(session, ctx.caller, action_id, body.action.status)
    return JSONResponse(None, status_code=202)
