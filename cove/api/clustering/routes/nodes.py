"""/nodes."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from cove.api.clustering import microversions
from cove.api.clustering.deps import ContextDep, SessionDep, list_query, no_query
from cove.api.clustering.routes.clusters import JsonBody, accepted, cap
from cove.api.clustering.schemas import NodeCreate, NodePatch, node_view
from cove.api.routing import Router
from cove.db import clustering as db
from cove.domain.clustering import errors as cerr
from cove.services.clustering import nodes

router = Router(prefix="/v1")


def render(session: Any, rows: list[db.ContainerNode], *, tainted: bool) -> list[dict[str, Any]]:
    clusters, profiles = nodes.related(session, rows)
    return [
        node_view(
            n,
            clusters.get(n.cluster_id) if n.cluster_id is not None else None,
            profiles.get(n.profile_id, (None, ""))[0],
            profiles.get(n.profile_id, (None, ""))[1],
            tainted=tainted,
        )
        for n in rows
    ]


def _tainted(version: microversions.Version) -> bool:
    return version >= microversions.Version(1, 13)


@router.get("/nodes")
def list_nodes(request: Request, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    q = list_query(request, nodes.FILTERS)
    rows = nodes.list_nodes(session, ctx.caller, q)
    return {"nodes": render(session, rows, tainted=_tainted(ctx.version))}


@router.post("/nodes", status_code=202, dependencies=[Depends(no_query)])
def create_node(
    body: NodeCreate, request: Request, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    b = body.node
    new = nodes.NewNode(b.name, b.profile_id, b.cluster_id or None, b.role, b.metadata)
    started = nodes.create_node(session, ctx.caller, new, cap=cap(request))
    view = render(session, [started.node], tainted=_tainted(ctx.version))[0]
    return accepted(request, ctx, started.action, {"node": view})


@router.get("/nodes/{node_id}")
def show_node(
    node_id: str, request: Request, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    for key in request.query_params:
        if key != "show_details":
            raise cerr.BadRequest(f"Invalid parameter '{key}'")
    node = nodes.find_node(session, ctx.caller, node_id, "nodes:get")
    view = render(session, [node], tainted=_tainted(ctx.version))[0]
    if request.query_params.get("show_details", "false").lower() == "true":
        view["details"] = (node.data or {}).get("placement", {})
    return {"node": view}


@router.patch("/nodes/{node_id}", status_code=202, dependencies=[Depends(no_query)])
def update_node(
    node_id: str, body: NodePatch, request: Request, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    b = body.node
    tainted = b.tainted if _tainted(ctx.version) else None
    changes = nodes.NodeChanges(b.name, b.profile_id, b.role, b.metadata, tainted)
    started = nodes.update_node(session, ctx.caller, node_id, changes)
    view = render(session, [started.node], tainted=_tainted(ctx.version))[0]
    return accepted(request, ctx, started.action, {"node": view})


@router.delete("/nodes/{node_id}", status_code=202)
def delete_node(
    node_id: str, request: Request, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    for key in request.query_params:
        if key != "force":
            raise cerr.BadRequest(f"Invalid parameter '{key}'")
    started = nodes.delete_node(session, ctx.caller, node_id)
    request.app.state.wakeup()
    return JSONResponse(
        None, status_code=202, headers={"Location": ctx.url(f"actions/{started.action.uuid}")}
    )


@router.post("/nodes/{node_id}/actions", status_code=202, dependencies=[Depends(no_query)])
def node_action(
    node_id: str, request: Request, session: SessionDep, ctx: ContextDep, body: JsonBody = None
) -> JSONResponse:
    if not isinstance(body, dict) or len(body) < 1:
        raise cerr.BadRequest("No action specified.")
    if len(body) > 1:
        raise cerr.BadRequest("Multiple actions specified.")
    name, data = next(iter(body.items()))
    if name not in ("check", "recover"):
        raise cerr.BadRequest(f"Unrecognized action '{name}' specified")
    data = data or {}
    if not isinstance(data, dict):
        raise cerr.BadRequest("The data provided is not a map")
    allowed = {"check": set(), "recover": {"operation", "operation_params", "check", "params"}}[
        name
    ]
    for key in data:
        if key not in allowed:
            raise cerr.BadRequest(f"Unrecognized field '{name}.{key}'.")
    op = nodes.node_action(session, ctx.caller, node_id, name, data)
    return accepted(request, ctx, op, {"action": op.uuid})


@router.post("/nodes/{node_id}/ops", status_code=202, dependencies=[Depends(no_query)])
def node_operation(
    node_id: str, request: Request, session: SessionDep, ctx: ContextDep, body: JsonBody = None
) -> JSONResponse:
    microversions.at_least(ctx.version, "1.4", "node operation")
    if not isinstance(body, dict) or len(body) != 1:
        raise cerr.BadRequest(
            "No operation specified" if not body else "Multiple operations specified"
        )
    operation, data = next(iter(body.items()))
    data = data or {}
    if not isinstance(data, dict):
        raise cerr.BadRequest("The data provided is not a map")
    op = nodes.node_operation(session, ctx.caller, node_id, operation, data.get("params"))
    return accepted(request, ctx, op, {"action": op.uuid})
