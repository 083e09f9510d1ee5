"""/v1/clusters/{cluster}/nodegroups (microversion 1.9 and later)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from cove.api.deps import (
    ContextDep,
    SessionDep,
    SettingsDep,
    list_params_for,
    min_version,
    strict_query,
)
from cove.api.pagination import collection
from cove.api.routing import Router
from cove.api.schemas.common import PatchItem
from cove.api.schemas.nodegroups import NodeGroupCreate, nodegroup_view, parse_changes
from cove.db import models
from cove.services import nodegroups
from cove.services.pagination import PageRequest

NodeGroupPageDep = Annotated[PageRequest, Depends(list_params_for(models.NodeGroup))]

router = Router(
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
    params: NodeGroupPageDep,
    settings: SettingsDep,
    role: str | None = Query(None),
) -> dict[str, Any]:
    listed = nodegroups.list_nodegroups(
        session, ctx.caller, cluster_ident, params, settings.max_limit, role=role
    )
    cluster, page = listed.cluster, listed.page
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
    found = nodegroups.show_nodegroup(session, ctx.caller, cluster_ident, ident)
    return nodegroup_view(found.group, found.cluster, ctx.base_url)


@router.post("", status_code=202, dependencies=[Depends(strict_query())])
def create_nodegroup(
    cluster_ident: str,
    body: NodeGroupCreate,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
) -> JSONResponse:
    created = nodegroups.create_nodegroup(session, ctx.caller, cluster_ident, body.to_command())
    request.app.state.wakeup()
    return JSONResponse(
        nodegroup_view(created.group, created.cluster, ctx.base_url), status_code=202
    )


@router.patch("/{ident}", status_code=202, dependencies=[Depends(strict_query())])
def update_nodegroup(
    cluster_ident: str,
    ident: str,
    body: list[PatchItem],
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
) -> JSONResponse:
    updated = nodegroups.update_nodegroup(
        session,
        ctx.caller,
        cluster_ident,
        ident,
        [item.to_op() for item in body],
        parse=parse_changes,
    )
    request.app.state.wakeup()
    return JSONResponse(
        nodegroup_view(updated.group, updated.cluster, ctx.base_url), status_code=202
    )


@router.delete("/{ident}", status_code=204, dependencies=[Depends(strict_query())])
def delete_nodegroup(
    cluster_ident: str, ident: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    nodegroups.delete_nodegroup(session, ctx.caller, cluster_ident, ident)
    request.app.state.wakeup()
    return Response(status_code=204)
