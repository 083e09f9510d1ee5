"""Version documents (no authentication), federations (listed, never created: Magnum's
conductor never implemented them) and cove's event logs, per cluster and per deployment."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session, sessionmaker

from cove import policy
from cove.api import longpoll, microversions
from cove.api.deps import ContextDep, SessionDep, strict_query
from cove.api.routing import Router
from cove.db import models
from cove.services import deployment_events
from cove.services.events import read_events, read_operations

router = Router()

RESOURCES = (
    "clustertemplates",
    "clusters",
    "quotas",
    "certificates",
    "mservices",
    "stats",
    "federations",
    "nodegroups",
    "credentials",
)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/", tags=["versions"])
def versions(request: Request) -> dict[str, Any]:
    return {
        "name": "OpenStack Magnum API",
        "description": "Magnum is an OpenStack project which aims to provide container "
        "cluster management.",
        "versions": [
            {
                "id": "v1",
                "links": [{"href": f"{_base(request)}/v1/", "rel": "self"}],
                "status": "CURRENT",
                "max_version": str(microversions.MAX),
                "min_version": str(microversions.MIN),
            }
        ],
    }


@router.get("/v1", tags=["versions"])
def v1(request: Request) -> dict[str, Any]:
    base = _base(request)
    doc_links: list[dict[str, Any]] = [
        {"href": f"{base}/v1/", "rel": "self"},
        {
            "href": "http://docs.openstack.org/developer/magnum/dev/api-spec-v1.html",
            "rel": "describedby",
            "type": "text/html",
        },
    ]
    body: dict[str, Any] = {
        "id": "v1",
        "media_types": [
            {"base": "application/json", "type": "application/vnd.openstack.magnum.v1+json"}
        ],
        "links": doc_links,
    }
    for name in RESOURCES:
        path = "clusters/{cluster_id}/nodegroups" if name == "nodegroups" else name
        body[name] = [
            {"href": f"{base}/v1/{path}/", "rel": "self"},
            {"href": f"{base}/{path}/", "rel": "bookmark"},
        ]
    return body


@router.get("/healthz", tags=["versions"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/v1/federations", tags=["federations"], dependencies=[Depends(strict_query())])
def federations(ctx: ContextDep) -> dict[str, Any]:
    policy.enforce(ctx.caller, "federation:get_all")
    return {"federations": []}


@router.get(
    "/v1/clusters/{ident}/operations",
    tags=["events"],
    dependencies=[Depends(strict_query("limit"))],
)
def operations_of(
    ident: str,
    session: SessionDep,
    ctx: ContextDep,
    limit: int = Query(20, ge=1, le=200),
) -> dict[str, Any]:
    """cove extension: the cluster's operations, newest first, each with its state, attempts,
    deadline and the named steps it has recorded (what a resumed operation skips)."""
    cluster, found = read_operations(session, ctx.caller, ident, limit=limit)
    return {
        "cluster": cluster.uuid,
        "operations": [_operation_view(op) for op in found],
    }


@router.get(
    "/v1/clusters/{ident}/events",
    tags=["events"],
    dependencies=[Depends(strict_query("since", "limit", "wait"))],
)
async def events(
    ident: str,
    request: Request,
    ctx: ContextDep,
    query: longpoll.EventsQueryDep,
) -> dict[str, Any]:
    """cove extension: the cluster's event log, oldest first, with the cluster's status, for
    progress display."""
    factory: sessionmaker[Session] = request.app.state.session_factory

    def read() -> tuple[str, dict[str, Any]]:
        with factory() as session:
            found = read_events(session, ctx.caller, ident, since=query.since, limit=query.limit)
            cluster = found.cluster
            return cluster.uuid, {
                "events": [longpoll.event_view(e) for e in found.events],
                "status": cluster.status,
                "status_reason": cluster.status_reason,
                "health_status": cluster.health_status,
            }

    return await longpoll.poll(request.app.state.events, read, query.wait)


@router.get(
    "/v1/clusters/{cluster_ident}/deployments/{ident}/events",
    tags=["deployments"],
    dependencies=[Depends(strict_query("since", "limit", "wait"))],
)
async def deployment_events_of(
    cluster_ident: str,
    ident: str,
    request: Request,
    ctx: ContextDep,
    query: longpoll.EventsQueryDep,
) -> dict[str, Any]:
    """cove extension: a deployment's event log, oldest first, with its status and progress
    (each change of progress is an event, so ``wait`` wakes on it)."""
    factory: sessionmaker[Session] = request.app.state.session_factory

    def read() -> tuple[str, dict[str, Any]]:
        with factory() as session:
            found = deployment_events.read_events(
                session, ctx.caller, cluster_ident, ident, since=query.since, limit=query.limit
            )
            d = found.deployment
            return d.uuid, {
                "events": [longpoll.event_view(e) for e in found.events],
                "status": d.status,
                "status_reason": d.status_reason,
                "progress": d.progress,
            }

    return await longpoll.poll(request.app.state.events, read, query.wait)


def _operation_view(op: models.Operation) -> dict[str, Any]:
    """An operation as the API shows it: its state and its steps in the order done."""
    steps = [
        {"name": name, "at": entry.get("at"), "data": entry.get("data") or {}}
        for name, entry in (op.progress or {}).items()
        if isinstance(entry, dict)
    ]
    return {
        "uuid": op.uuid,
        "kind": op.kind,
        "state": op.state,
        "attempts": op.attempts,
        "error": op.error,
        "deadline": op.deadline.isoformat() if op.deadline else None,
        "created_at": op.created_at.isoformat(),
        "finished_at": op.finished_at.isoformat() if op.finished_at else None,
        "steps": steps,
    }
