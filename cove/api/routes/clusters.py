"""/v1/clusters and the legacy /v1/bays (below 1.11). Writes answer 202 at once; the
conductor moves the status on."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from cove import errors
from cove.api import warnings
from cove.api.context import RequestContext
from cove.api.deps import (
    LIST_QUERY,
    ContextDep,
    SessionDep,
    SettingsDep,
    list_params_for,
    min_version,
    strict_query,
)
from cove.api.microversions import Version
from cove.api.pagination import collection
from cove.api.routing import Router
from cove.api.schemas.clusters import (
    BayCreate,
    ClusterCreate,
    ResizeBody,
    UpgradeBody,
    bay_summary_view,
    bay_view,
    cluster_summary_view,
    cluster_view,
    parse_changes,
)
from cove.api.schemas.common import PatchItem
from cove.db import models
from cove.services import catalog, clusters
from cove.services.pagination import PageRequest

ClusterPageDep = Annotated[PageRequest, Depends(list_params_for(models.Cluster))]

router = Router(prefix="/v1/clusters", tags=["clusters"])
# Magnum dropped bays at 1.11, but python-magnumclient <= 3.7 sends `latest`: cove keeps
# serving them at every version so those clients keep working.
bays = Router(prefix="/v1/bays", tags=["bays"])


def _wake(request: Request) -> None:
    request.app.state.wakeup()


def _rules(version: Version) -> clusters.ClusterRules:
    return clusters.ClusterRules(
        zero_nodes=version >= Version(1, 10),
        unknown_template_is_404=version >= Version(1, 10),
        upgrades=version >= Version(1, 8),
    )


def _list(
    session: Session,
    ctx: RequestContext,
    params: PageRequest,
    max_limit: int,
    *,
    detail: bool,
    bay: bool,
) -> dict[str, Any]:
    listed = clusters.list_clusters(
        session,
        ctx.caller,
        params,
        max_limit,
        detail=detail,
        with_template_labels=detail and not bay,
    )
    page = listed.page
    coll = "bays" if bay else "clusters"
    items: list[dict[str, Any]]
    if bay:
        view = bay_view if detail else bay_summary_view
        items = [view(c, ctx.base_url) for c in page.items]
    elif detail:
        labels = listed.template_labels
        items = [
            cluster_view(c, ctx.base_url, ctx.version, labels.get(c.cluster_template_id))
            for c in page.items
        ]
    else:
        items = [cluster_summary_view(c, ctx.base_url, ctx.version) for c in page.items]
    path = f"{coll}/detail" if detail else coll
    return collection(coll, items, page, ctx.base_url, path, params, max_limit)


def _refuse_rollback_before_1_3(request: Request, ctx: RequestContext) -> None:
    if "rollback" in request.query_params and ctx.version < Version(1, 3):
        raise errors.InvalidRequest('Unknown argument: "rollback"')


@router.get("", dependencies=[Depends(strict_query(*LIST_QUERY))])
def list_clusters(
    session: SessionDep, ctx: ContextDep, params: ClusterPageDep, settings: SettingsDep
) -> dict[str, Any]:
    return _list(session, ctx, params, settings.max_limit, detail=False, bay=False)


@router.get("/detail", dependencies=[Depends(strict_query(*LIST_QUERY))])
def detail_clusters(
    session: SessionDep, ctx: ContextDep, params: ClusterPageDep, settings: SettingsDep
) -> dict[str, Any]:
    return _list(session, ctx, params, settings.max_limit, detail=True, bay=False)


@router.get("/{ident}", dependencies=[Depends(strict_query())])
def show_cluster(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    cluster = clusters.show_cluster(session, ctx.caller, ident)
    parent = clusters.label_strings(cluster.template_labels)
    return cluster_view(cluster, ctx.base_url, ctx.version, parent)


@router.post("", status_code=202, dependencies=[Depends(strict_query())])
def create_cluster(
    body: ClusterCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    ctx: ContextDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    created = clusters.create_cluster(
        session,
        ctx.caller,
        body.to_command(),
        default_quota=settings.max_clusters_per_project,
        rules=_rules(ctx.version),
    )
    _wake(request)
    warnings.unknown_labels(response, created.coe, created.labels)
    return {"uuid": created.uuid}


@router.patch("/{ident}", status_code=202, dependencies=[Depends(strict_query("rollback"))])
def update_cluster(
    ident: str,
    body: list[PatchItem],
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    rollback: bool = Query(False),
) -> dict[str, Any]:
    _refuse_rollback_before_1_3(request, ctx)
    cluster = clusters.update_cluster(
        session,
        ctx.caller,
        ident,
        [item.to_op() for item in body],
        parse=parse_changes,
        rules=_rules(ctx.version),
    )
    _wake(request)
    return {"uuid": cluster.uuid}


@router.delete("/{ident}", status_code=204, dependencies=[Depends(strict_query())])
def delete_cluster(ident: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    clusters.delete_cluster(session, ctx.caller, ident)
    _wake(request)
    return Response(status_code=204)


@router.post(
    "/{ident}/actions/resize",
    status_code=202,
    dependencies=[Depends(strict_query()), Depends(min_version("1.7"))],
)
def resize_cluster(
    ident: str, body: ResizeBody, request: Request, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    cluster = clusters.resize_cluster(
        session, ctx.caller, ident, body.to_command(), rules=_rules(ctx.version)
    )
    _wake(request)
    return {"uuid": cluster.uuid}


@router.post(
    "/{ident}/actions/upgrade",
    status_code=202,
    dependencies=[Depends(strict_query()), Depends(min_version("1.7"))],
)
def upgrade_cluster(
    ident: str, body: UpgradeBody, request: Request, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    cluster = clusters.upgrade_cluster(
        session, ctx.caller, ident, body.to_command(), rules=_rules(ctx.version)
    )
    _wake(request)
    return {"uuid": cluster.uuid}


# Legacy bays: the cluster model under old names (python-magnumclient <= 3.7).


@bays.get("", dependencies=[Depends(strict_query(*LIST_QUERY))])
def list_bays(
    session: SessionDep, ctx: ContextDep, params: ClusterPageDep, settings: SettingsDep
) -> dict[str, Any]:
    return _list(session, ctx, params, settings.max_limit, detail=False, bay=True)


@bays.get("/detail", dependencies=[Depends(strict_query(*LIST_QUERY))])
def detail_bays(
    session: SessionDep, ctx: ContextDep, params: ClusterPageDep, settings: SettingsDep
) -> dict[str, Any]:
    return _list(session, ctx, params, settings.max_limit, detail=True, bay=True)


@bays.get("/{ident}", dependencies=[Depends(strict_query())])
def show_bay(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return bay_view(clusters.show_cluster(session, ctx.caller, ident), ctx.base_url)


@bays.post(
    "",
    status_code=202,
    responses={201: {"description": "1.1: the whole bay"}},
    dependencies=[Depends(strict_query())],
)
def create_bay(
    body: BayCreate,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    settings: SettingsDep,
) -> JSONResponse:
    try:
        created = clusters.create_cluster(
            session,
            ctx.caller,
            body.to_cluster().to_command(),
            default_quota=settings.max_clusters_per_project,
            rules=_rules(ctx.version),
        )
    except catalog.KeypairNotFound:
        raise
    except (errors.NotFound, errors.InvalidField) as exc:
        # Magnum's bays answer 400 naming baymodel_id for an unknown baymodel, at any version.
        if isinstance(exc, errors.InvalidField) and exc.field != "cluster_template_id":
            raise
        reason = exc.reason if isinstance(exc, errors.InvalidField) else exc.message
        raise errors.InvalidField("baymodel_id", body.baymodel_id, reason) from None
    _wake(request)
    if ctx.version < Version(1, 2):  # 1.1 bays were synchronous: 201 with the whole bay
        cluster = clusters.show_cluster(session, ctx.caller, created.uuid)
        return JSONResponse(bay_view(cluster, ctx.base_url), status_code=201)
    return JSONResponse({"uuid": created.uuid}, status_code=202)


@bays.patch(
    "/{ident}",
    status_code=202,
    responses={200: {"description": "1.1: the whole bay"}},
    dependencies=[Depends(strict_query("rollback"))],
)
def update_bay(
    ident: str, body: list[PatchItem], request: Request, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    _refuse_rollback_before_1_3(request, ctx)
    cluster = clusters.update_cluster(
        session,
        ctx.caller,
        ident,
        [item.to_op() for item in body],
        parse=parse_changes,
        rules=_rules(ctx.version),
    )
    _wake(request)
    if ctx.version < Version(1, 2):
        return JSONResponse(bay_view(cluster, ctx.base_url), status_code=200)
    return JSONResponse({"uuid": cluster.uuid}, status_code=202)


@bays.delete("/{ident}", status_code=204, dependencies=[Depends(strict_query())])
def delete_bay(ident: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    return delete_cluster(ident, request, session, ctx)
