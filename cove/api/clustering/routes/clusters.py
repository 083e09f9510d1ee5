"""/clusters: writes answer 202 with ``Location: …/actions/<id>`` (what openstacksdk reads)
and the action's id in the body where Senlin puts it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from cove.api.clustering import microversions
from cove.api.clustering.deps import Context, ContextDep, SessionDep, list_query, no_query
from cove.api.clustering.errors import describe
from cove.api.clustering.schemas import (
    CLUSTER_ACTIONS,
    ClusterCreate,
    ClusterPatch,
    binding_view,
    cluster_view,
)
from cove.api.routing import Router
from cove.db import clustering as db
from cove.db import models
from cove.domain.clustering import errors as cerr
from cove.services.clustering import clusters
from cove.settings import Settings

router = Router(prefix="/v1")
# An action's body: any JSON; each route checks its shape with Senlin's messages.
JsonBody = Annotated[Any, Body()]


def cap(request: Request) -> int:
    settings: Settings = request.app.state.settings
    return settings.max_nodes_per_cluster


def accepted(request: Request, ctx: Context, op: models.Operation, body: Any) -> JSONResponse:
    request.app.state.wakeup()
    return JSONResponse(body, status_code=202, headers={"Location": ctx.url(f"actions/{op.uuid}")})


def render(listed: clusters.Listed) -> list[dict[str, Any]]:
    return [
        cluster_view(
            c,
            listed.profiles.get(c.profile_id, (None, ""))[0],
            listed.profiles.get(c.profile_id, (None, ""))[1],
            listed.nodes.get(c.id, []),
            listed.policies.get(c.id, []),
        )
        for c in listed.clusters
    ]


def _one(session: Any, cluster: db.ContainerCluster) -> dict[str, Any]:
    return render(clusters.members(session, [cluster]))[0]


@router.get("/clusters")
def list_clusters(request: Request, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    q = list_query(request, tuple(clusters.FILTERS))
    return {"clusters": render(clusters.list_clusters(session, ctx.caller, q))}


@router.post("/clusters", status_code=202, dependencies=[Depends(no_query)])
def create_cluster(
    body: ClusterCreate, request: Request, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    b = body.cluster
    new = clusters.NewCluster(
        b.name,
        b.profile_id,
        b.min_size,
        b.max_size,
        b.desired_capacity,
        b.timeout,
        b.metadata,
        b.config,
    )
    started = clusters.create_cluster(session, ctx.caller, new, cap=cap(request))
    return accepted(request, ctx, started.action, {"cluster": _one(session, started.cluster)})


@router.get("/clusters/{cluster_id}", dependencies=[Depends(no_query)])
def show_cluster(cluster_id: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return {"cluster": render(clusters.show_cluster(session, ctx.caller, cluster_id))[0]}


@router.patch("/clusters/{cluster_id}", status_code=202, dependencies=[Depends(no_query)])
def update_cluster(
    cluster_id: str, body: ClusterPatch, request: Request, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    b = body.cluster
    if b.profile_only is not None:
        microversions.at_least(ctx.version, "1.6", "profile_only")
    changes = clusters.ClusterChanges(
        b.name, b.profile_id, b.timeout, b.metadata, b.config, b.profile_only
    )
    started = clusters.update_cluster(session, ctx.caller, cluster_id, changes)
    return accepted(request, ctx, started.action, {"cluster": _one(session, started.cluster)})


@router.delete("/clusters/{cluster_id}", status_code=202)
def delete_cluster(
    cluster_id: str, request: Request, session: SessionDep, ctx: ContextDep, body: JsonBody = None
) -> Response:
    force = False
    for key, value in request.query_params.items():
        if key != "force":
            raise cerr.BadRequest(f"Invalid parameter '{key}'")
        if value.lower() not in ("true", "false"):
            raise cerr.BadRequest(f"Invalid value '{value}' specified for 'force'")
        force = value.lower() == "true"
    if body:
        data = body
        if isinstance(data, dict) and isinstance(data.get("force"), bool):
            force = force or data["force"]
    if force:
        microversions.at_least(ctx.version, "1.8", "force")
    started = clusters.delete_cluster(session, ctx.caller, cluster_id, force=force)
    request.app.state.wakeup()
    return Response(
        status_code=202, headers={"Location": ctx.url(f"actions/{started.action.uuid}")}
    )


@router.post("/clusters/{cluster_id}/actions", status_code=202, dependencies=[Depends(no_query)])
def cluster_action(
    cluster_id: str, request: Request, session: SessionDep, ctx: ContextDep, body: JsonBody = None
) -> JSONResponse:
    if not isinstance(body, dict) or len(body) < 1:
        raise cerr.BadRequest("No action specified")
    if len(body) > 1:
        raise cerr.BadRequest("Multiple actions specified")
    name, data = next(iter(body.items()))
    if name not in CLUSTER_ACTIONS:
        raise cerr.BadRequest(f"Unrecognized action '{name}' specified")
    if name == "replace_nodes":
        microversions.at_least(ctx.version, "1.3", "replace_nodes")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise cerr.BadRequest("The data provided is not a map")
    if name == "resize" and not any(
        data.get(k) is not None for k in ("adjustment_type", "number", "min_size", "max_size")
    ):
        raise cerr.BadRequest("Not enough parameters to do resize action.")
    try:
        parsed = CLUSTER_ACTIONS[name].model_validate(data)
    except ValidationError as exc:
        first: dict[str, Any] = dict(exc.errors()[0])
        first["loc"] = (name, *first["loc"])
        raise cerr.BadRequest(describe(first)) from None
    checked = parsed.model_dump(exclude_unset=True)
    if name == "recover" and "operation_params" not in checked and "params" in checked:
        checked["operation_params"] = checked.pop("params")
    action = clusters.ClusterAction(name, checked)
    op = clusters.cluster_action(session, ctx.caller, cluster_id, action, cap=cap(request))
    return accepted(request, ctx, op, {"action": op.uuid})


@router.post("/clusters/{cluster_id}/ops", status_code=202, dependencies=[Depends(no_query)])
def cluster_operation(
    cluster_id: str, request: Request, session: SessionDep, ctx: ContextDep, body: JsonBody = None
) -> JSONResponse:
    microversions.at_least(ctx.version, "1.4", "cluster operation")
    if not isinstance(body, dict) or len(body) < 1:
        raise cerr.BadRequest("No operation specified")
    if len(body) > 1:
        raise cerr.BadRequest("Multiple operations specified")
    operation, data = next(iter(body.items()))
    data = data or {}
    if not isinstance(data, dict):
        raise cerr.BadRequest("The data provided is not a map")
    params, filters = data.get("params") or {}, data.get("filters") or {}
    if not isinstance(filters, dict):
        raise cerr.BadRequest("The value for 'filters' must be a map.")
    op = clusters.cluster_operation(session, ctx.caller, cluster_id, operation, params, filters)
    return accepted(request, ctx, op, {"action": op.uuid})


@router.get("/clusters/{cluster_id}/attrs/{path}", dependencies=[Depends(no_query)])
def collect(cluster_id: str, path: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    microversions.at_least(ctx.version, "1.2", "cluster collect")
    values = clusters.collect(session, ctx.caller, cluster_id, path)
    return {"cluster_attributes": [{"id": node, "value": value} for node, value in values]}


@router.get("/clusters/{cluster_id}/policies")
def list_bindings(
    cluster_id: str, request: Request, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    q = list_query(request, ("enabled", "policy_name", "policy_type"))
    cluster, rows = clusters.bindings(session, ctx.caller, cluster_id, q)
    return {"cluster_policies": [binding_view(cluster, b, p) for b, p in rows]}


@router.get("/clusters/{cluster_id}/policies/{policy_id}", dependencies=[Depends(no_query)])
def show_binding(
    cluster_id: str, policy_id: str, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    cluster, b, p = clusters.binding(session, ctx.caller, cluster_id, policy_id)
    return {"cluster_policy": binding_view(cluster, b, p)}
