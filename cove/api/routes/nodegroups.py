"""/v1/clusters/{cluster}/nodegroups (microversion 1.9 and later)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.api import policy
from cove.api.context import RequestContext
from cove.api.deps import (
    ContextDep,
    ListParamsDep,
    SessionDep,
    SettingsDep,
    min_version,
    strict_query,
)
from cove.api.pagination import collection, paginate
from cove.api.schemas.common import PatchItem
from cove.api.schemas.nodegroups import NodeGroupCreate, nodegroup_view
from cove.db import models
from cove.db.session import writing
from cove.services import clusters, nodegroups


def _cluster(session: Session, ctx: RequestContext, ident: str, rule: str) -> models.Cluster:
    cluster = clusters.get_cluster(session, ctx, ident)
    policy.enforce(ctx, rule, policy.Target(cluster.project_id))
    return cluster


router = APIRouter(
    prefix="/v1/clusters/{cluster_ident}/nodegroups",
    tags=["nodegroups"],
    dependencies=[Depends(min_version("1.9"))],
)


@router.get(
    "", dependencies=[Depends(strict_query("limit", "marker", "sort_key", "sort_dir", "role"))]
)
def list_nodegroups(
    cluster_ident: str,
    session: SessionDep,
    ctx: ContextDep,
    params: ListParamsDep,
    settings: SettingsDep,
    role: str | None = Query(None),
) -> dict[str, Any]:
    cluster = _cluster(session, ctx, cluster_ident, "nodegroup:get_all")
    stmt = select(models.NodeGroup).where(models.NodeGroup.cluster_id == cluster.id)
    if role:
        stmt = stmt.where(models.NodeGroup.role == role)
    if params.marker is not None and not params.marker.isdigit():
        marker = clusters.find_nodegroup(cluster, params.marker)
        params = type(params)(params.limit, marker.uuid, params.sort_key, params.sort_dir)
    page = paginate(
        session, stmt, models.NodeGroup, params, settings.max_limit, not_found="Nodegroup"
    )
    items = [nodegroup_view(ng, cluster, ctx.base_url, trimmed=True) for ng in page.items]
    return collection(
        "nodegroups",
        items,
        page,
        ctx.base_url,
        f"clusters/{cluster.uuid}/nodegroups",
        params,
        settings.max_limit,
    )


@router.get("/{ident}", dependencies=[Depends(strict_query())])
def show_nodegroup(
    cluster_ident: str, ident: str, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    cluster = _cluster(session, ctx, cluster_ident, "nodegroup:get")
    return nodegroup_view(clusters.find_nodegroup(cluster, ident), cluster, ctx.base_url)


@router.post("", status_code=202, dependencies=[Depends(strict_query())])
def create_nodegroup(
    cluster_ident: str,
    body: NodeGroupCreate,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
) -> JSONResponse:
    with writing(session):
        cluster = _cluster(session, ctx, cluster_ident, "nodegroup:create")
        group = nodegroups.create_nodegroup(session, ctx, cluster, body)
    request.app.state.wakeup()
    return JSONResponse(nodegroup_view(group, cluster, ctx.base_url), status_code=202)


@router.patch("/{ident}", status_code=202, dependencies=[Depends(strict_query())])
def update_nodegroup(
    cluster_ident: str,
    ident: str,
    body: list[PatchItem],
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
) -> JSONResponse:
    with writing(session):
        cluster = _cluster(session, ctx, cluster_ident, "nodegroup:update")
        group = clusters.find_nodegroup(cluster, ident)
        nodegroups.update_nodegroup(session, cluster, group, [item.to_op() for item in body])
    request.app.state.wakeup()
    return JSONResponse(nodegroup_view(group, cluster, ctx.base_url), status_code=202)


@router.delete("/{ident}", status_code=204, dependencies=[Depends(strict_query())])
def delete_nodegroup(
    cluster_ident: str, ident: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    with writing(session):
        cluster = _cluster(session, ctx, cluster_ident, "nodegroup:delete")
        group = clusters.find_nodegroup(cluster, ident)
        nodegroups.delete_nodegroup(session, cluster, group)
    request.app.state.wakeup()
    return Response(status_code=204)
