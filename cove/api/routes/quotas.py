"""/v1/quotas (admin), /v1/stats and /v1/mservices."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cove import errors
from cove.api import policy
from cove.api.deps import ContextDep, ListParamsDep, SessionDep, SettingsDep, strict_query
from cove.api.pagination import collection, paginate
from cove.api.schemas.common import Strict, timestamp
from cove.db import models
from cove.db.session import writing
from cove.services import quotas

router = APIRouter(tags=["quotas"])

ProjectId = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class QuotaBody(Strict):
    project_id: ProjectId
    resource: Literal["Cluster"] = "Cluster"
    hard_limit: Annotated[int, Field(ge=0)] = 1
    id: Any = None
    created_at: Any = None
    updated_at: Any = None


def quota_view(q: models.Quota) -> dict[str, Any]:
    return {
        "id": q.id,
        "hard_limit": q.hard_limit,
        "project_id": q.project_id,
        "resource": q.resource,
        "created_at": timestamp(q.created_at),
        "updated_at": timestamp(q.updated_at),
    }


def _find(session: Session, project_id: str, resource: str) -> models.Quota | None:
    return session.scalar(
        select(models.Quota).where(
            models.Quota.project_id == project_id, models.Quota.resource == resource
        )
    )


def _get(session: Session, project_id: str, resource: str) -> models.Quota:
    quota = _find(session, project_id, resource)
    if quota is None:
        raise errors.NotFound(
            f"Quota for project {project_id} and resource {resource} could not be found."
        )
    return quota


def _resource(resource: str) -> str:
    if resource not in quotas.RESOURCES:
        raise errors.InvalidField("resource", resource, "Unknown quota resource.", quotas.RESOURCES)
    return resource


@router.get(
    "/v1/quotas",
    dependencies=[Depends(strict_query("limit", "marker", "sort_key", "sort_dir", "all_tenants"))],
)
def list_quotas(
    session: SessionDep,
    ctx: ContextDep,
    params: ListParamsDep,
    settings: SettingsDep,
    all_tenants: bool = Query(False),
) -> dict[str, Any]:
    policy.enforce(ctx, "quota:get_all")
    stmt = select(models.Quota)
    if not all_tenants:
        stmt = stmt.where(models.Quota.project_id == ctx.project_id)
    page = paginate(
        session,
        stmt,
        models.Quota,
        params,
        settings.max_limit,
        marker_field="id",
        not_found="Quota",
    )
    items = [quota_view(q) for q in page.items]
    return collection("quotas", items, page, ctx.base_url, "quotas", params, settings.max_limit)


@router.get("/v1/quotas/{project_id}/{resource}", dependencies=[Depends(strict_query())])
def show_quota(
    project_id: str, resource: str, session: SessionDep, ctx: ContextDep, settings: SettingsDep
) -> dict[str, Any]:
    policy.enforce(ctx, "quota:get")
    if not ctx.is_admin and project_id != ctx.project_id:
        raise errors.Forbidden("Not authorized to view another project's quota.")
    quota = _find(session, project_id, _resource(resource))
    if quota is None:
        return {
            "hard_limit": quotas.limit_for(
                session, project_id, settings.max_clusters_per_project, resource
            ),
            "project_id": project_id,
            "resource": resource,
        }
    return quota_view(quota)


@router.post("/v1/quotas", status_code=201, dependencies=[Depends(strict_query())])
def create_quota(body: QuotaBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    policy.enforce(ctx, "quota:create")
    with writing(session):
        if _find(session, body.project_id, body.resource) is not None:
            raise errors.Conflict(
                f"Quota for project {body.project_id} already exists for resource {body.resource}."
            )
        quota = models.Quota(
            project_id=body.project_id, resource=body.resource, hard_limit=body.hard_limit
        )
        session.add(quota)
        session.flush()
    return JSONResponse(quota_view(quota), status_code=201)


@router.patch(
    "/v1/quotas/{project_id}/{resource}", status_code=202, dependencies=[Depends(strict_query())]
)
def update_quota(
    project_id: str, resource: str, body: QuotaBody, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    policy.enforce(ctx, "quota:update")
    with writing(session):
        quota = _get(session, project_id, _resource(resource))
        quota.hard_limit = body.hard_limit
        session.flush()
    return quota_view(quota)


@router.delete(
    "/v1/quotas/{project_id}/{resource}", status_code=204, dependencies=[Depends(strict_query())]
)
def delete_quota(project_id: str, resource: str, session: SessionDep, ctx: ContextDep) -> Response:
    policy.enforce(ctx, "quota:delete")
    with writing(session):
        session.delete(_get(session, project_id, _resource(resource)))
    return Response(status_code=204)


@router.get("/v1/stats", dependencies=[Depends(strict_query("project_id", "type"))])
def stats(
    session: SessionDep,
    ctx: ContextDep,
    project_id: str | None = Query(None),
    type: str = Query("cluster"),
) -> dict[str, int]:
    policy.enforce(ctx, "stats:get_all")
    if type != "cluster":
        raise errors.InvalidField("type", type, "Unsupported stats type.", ["cluster"])
    if not ctx.is_admin:
        if project_id is not None and project_id != ctx.project_id:
            raise errors.Forbidden("Not authorized.")
        project_id = ctx.project_id
    clusters_q = select(func.count(models.Cluster.id))
    nodes_q = select(func.coalesce(func.sum(models.NodeGroup.node_count), 0))
    if project_id is not None:
        clusters_q = clusters_q.where(models.Cluster.project_id == project_id)
        nodes_q = nodes_q.where(models.NodeGroup.project_id == project_id)
    return {"clusters": session.scalar(clusters_q) or 0, "nodes": int(session.scalar(nodes_q) or 0)}


@router.get("/v1/mservices", dependencies=[Depends(strict_query())])
def mservices(session: SessionDep, ctx: ContextDep, settings: SettingsDep) -> dict[str, Any]:
    policy.enforce(ctx, "magnum-service:get_all")
    now = models.utcnow()
    rows = session.scalars(select(models.Service).order_by(models.Service.id))
    down_after = settings.lease_seconds * 3
    items = []
    for svc in rows:
        alive = (
            svc.last_seen_up is not None and (now - svc.last_seen_up).total_seconds() <= down_after
        )
        items.append(
            {
                "id": svc.id,
                "host": svc.host,
                "binary": svc.binary,
                "state": "up" if alive else "down",
                "report_count": svc.report_count,
                "disabled": svc.disabled,
                "disabled_reason": svc.disabled_reason,
                "created_at": timestamp(svc.created_at),
                "updated_at": timestamp(svc.updated_at),
            }
        )
    return {"mservices": items}
