"""/receivers and the webhook trigger (no authentication: the secret in its URL, shown at
create and by the owner's show, never in lists, is the key)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse

from cove.api.clustering import microversions
from cove.api.clustering.deps import (
    ContextDep,
    SessionDep,
    base_url,
    list_query,
    no_query,
)
from cove.api.clustering.routes.clusters import JsonBody, cap
from cove.api.clustering.schemas import ReceiverCreate, ReceiverPatch, receiver_view
from cove.api.routing import Router
from cove.db import clustering as db
from cove.domain.clustering import errors as cerr
from cove.services.clustering import receivers

router = Router(prefix="/v1")


def render(session: Any, rows: list[db.Receiver]) -> list[dict[str, Any]]:
    clusters = receivers.cluster_uuids(session, rows)
    return [receiver_view(r, clusters.get(r.cluster_id) if r.cluster_id else None) for r in rows]


@router.get("/receivers")
def list_receivers(request: Request, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    q = list_query(request, receivers.FILTERS)
    if q.filters and "user" in q.filters:
        microversions.at_least(ctx.version, "1.4", "user filter")
    return {"receivers": render(session, receivers.list_receivers(session, ctx.caller, q))}


@router.post("/receivers", status_code=201, dependencies=[Depends(no_query)])
def create_receiver(body: ReceiverCreate, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    b = body.receiver
    new = receivers.NewReceiver(b.name, b.type, b.cluster_id, b.action, b.params)
    created = receivers.create_receiver(session, ctx.caller, new, base_url=ctx.base_url)
    return {"receiver": {**render(session, [created.receiver])[0], "channel": created.channel}}


@router.get("/receivers/{receiver_id}", dependencies=[Depends(no_query)])
def show_receiver(receiver_id: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    receiver = receivers.get_receiver(session, ctx.caller, receiver_id)
    cluster = receivers.cluster_uuids(session, [receiver]).get(receiver.cluster_id or 0)
    return {"receiver": receiver_view(receiver, cluster, channel=True)}


@router.patch("/receivers/{receiver_id}", dependencies=[Depends(no_query)])
def update_receiver(
    receiver_id: str, body: ReceiverPatch, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    microversions.at_least(ctx.version, "1.7", "receiver update")
    b = body.receiver
    receiver = receivers.update_receiver(
        session,
        ctx.caller,
        receiver_id,
        name=b.name,
        action=b.action,
        params=b.params,
    )
    return {"receiver": render(session, [receiver])[0]}


@router.delete("/receivers/{receiver_id}", status_code=204, dependencies=[Depends(no_query)])
def delete_receiver(receiver_id: str, session: SessionDep, ctx: ContextDep) -> Response:
    receivers.delete_receiver(session, ctx.caller, receiver_id)
    return Response(status_code=204)


@router.post("/webhooks/{secret}/trigger", status_code=202)
def trigger(
    secret: str, request: Request, session: SessionDep, body: JsonBody = None
) -> JSONResponse:
    params = {k: v for k, v in request.query_params.items() if k != "V"}
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise cerr.BadRequest("The request body must be a JSON object.")
    version = getattr(request.state, "clustering_version", microversions.MIN)
    # Before 1.10 the inputs came under "params"; from 1.10 the body is the inputs.
    extra = body.get("params") if version < microversions.Version(1, 10) else body
    if extra is not None and not isinstance(extra, dict):
        raise cerr.BadRequest("The value for 'params' must be a map.")
    op = receivers.trigger(session, secret, {**params, **(extra or {})}, cap=cap(request))
    request.app.state.wakeup()
    location = f"{base_url(request)}/clustering/v1/actions/{op.uuid}"
    return JSONResponse({"action": op.uuid}, status_code=202, headers={"Location": location})
