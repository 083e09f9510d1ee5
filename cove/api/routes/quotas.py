"""/v1/quotas (admin), /v1/stats and /v1/mservices."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import StringConstraints

from cove.api.deps import ContextDep, SessionDep, SettingsDep, list_params_for, strict_query
from cove.api.pagination import collection
from cove.api.routing import Router
from cove.api.schemas.common import Count, Int, Str255, Strict, timestamp
from cove.db import models
from cove.services import quotas
from cove.services.mservices import ServiceState, list_services
from cove.services.pagination import PageRequest
from cove.services.stats import STATS_TYPES, cluster_stats

QuotaPageDep = Annotated[PageRequest, Depends(list_params_for(models.Quota, marker="id"))]

router = Router(tags=["quotas"])

ProjectId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# The service refuses other resources naming the allowed ones; the document lists them.
Resource = Annotated[str, Path(json_schema_extra={"enum": list(quotas.RESOURCES)})]


class QuotaBody(Strict):
    project_id: ProjectId
    resource: Literal["Cluster"] = "Cluster"
    hard_limit: Count = 1
    # Shown in a quota, accepted back and ignored.
    id: Int | None = None
    created_at: Str255 | None = None
    updated_at: Str255 | None = None

    def to_command(self) -> quotas.NewQuota:
        return quotas.NewQuota(self.project_id, self.resource, self.hard_limit)


def quota_view(q: models.Quota | quotas.QuotaLimit) -> dict[str, Any]:
    if isinstance(q, quotas.QuotaLimit):
        return {"hard_limit": q.hard_limit, "project_id": q.project_id, "resource": q.resource}
    return {
        "id": q.id,
        "hard_limit": q.hard_limit,
        "project_id": q.project_id,
        "resource": q.resource,
        "created_at": timestamp(q.created_at),
        "updated_at": timestamp(q.updated_at),
    }


def mservice_view(state: ServiceState) -> dict[str, Any]:
    svc = state.service
    return {
        "id": svc.id,
        "host": svc.host,
        "binary": svc.binary,
        "state": "up" if state.up else "down",
        "report_count": svc.report_count,
        "disabled": svc.disabled,
        "disabled_reason": svc.disabled_reason,
        "created_at": timestamp(svc.created_at),
        "updated_at": timestamp(svc.updated_at),
    }


@router.get(
    "/v1/quotas",
    dependencies=[Depends(strict_query("limit", "marker", "sort_key", "sort_dir", "all_tenants"))],
)
def list_quotas(
    session: SessionDep,
    ctx: ContextDep,
    params: QuotaPageDep,
    settings: SettingsDep,
    all_tenants: bool = Query(False),
) -> dict[str, Any]:
    page = quotas.list_quotas(
        session, ctx.caller, params, settings.max_limit, all_tenants=all_tenants
    )
    items = [quota_view(q) for q in page.items]
    return collection("quotas", items, page, ctx.base_url, "quotas", params, settings.max_limit)


@router.get("/v1/quotas/{project_id}/{resource}", dependencies=[Depends(strict_query())])
def show_quota(
    project_id: str, resource: Resource, session: SessionDep, ctx: ContextDep, settings: SettingsDep
) -> dict[str, Any]:
    quota = quotas.show_quota(
        session, ctx.caller, project_id, resource, default=settings.max_clusters_per_project
    )
    return quota_view(quota)


@router.post("/v1/quotas", status_code=201, dependencies=[Depends(strict_query())])
def create_quota(body: QuotaBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    quota = quotas.create_quota(session, ctx.caller, body.to_command())
    return JSONResponse(quota_view(quota), status_code=201)


@router.patch(
    "/v1/quotas/{project_id}/{resource}", status_code=202, dependencies=[Depends(strict_query())]
)
def update_quota(
    project_id: str, resource: Resource, body: QuotaBody, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    quota = quotas.update_quota(session, ctx.caller, project_id, resource, body.hard_limit)
    return quota_view(quota)


@router.delete(
    "/v1/quotas/{project_id}/{resource}", status_code=204, dependencies=[Depends(strict_query())]
)
def delete_quota(
    project_id: str, resource: Resource, session: SessionDep, ctx: ContextDep
) -> Response:
    quotas.delete_quota(session, ctx.caller, project_id, resource)
    return Response(status_code=204)


@router.get("/v1/stats", dependencies=[Depends(strict_query("project_id", "type"))])
def stats(
    session: SessionDep,
    ctx: ContextDep,
    project_id: str | None = Query(None),
    type: Annotated[str, Query(json_schema_extra={"enum": list(STATS_TYPES)})] = "cluster",
) -> dict[str, int]:
    counts = cluster_stats(session, ctx.caller, project_id, type)
    return {"clusters": counts.clusters, "nodes": counts.nodes}


@router.get("/v1/mservices", dependencies=[Depends(strict_query())])
def mservices(session: SessionDep, ctx: ContextDep, settings: SettingsDep) -> dict[str, Any]:
    states = list_services(session, ctx.caller, lease_seconds=settings.lease_seconds)
    return {"mservices": [mservice_view(s) for s in states]}
