"""/v1/clusters and the legacy /v1/bays (below 1.11). Writes answer 202 at once; the
conductor moves the status on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cove import errors
from cove.api import policy, warnings
from cove.api.context import RequestContext
from cove.api.deps import (
    LIST_QUERY,
    ContextDep,
    ListParamsDep,
    SessionDep,
    SettingsDep,
    min_version,
    strict_query,
)
from cove.api.microversions import Version
from cove.api.pagination import collection, paginate
from cove.api.schemas.clusters import (
    BayCreate,
    ClusterCreate,
    ResizeBody,
    UpgradeBody,
    bay_view,
    cluster_view,
)
from cove.api.schemas.common import PatchItem
from cove.db import models
from cove.db.session import writing
from cove.services import clusters

router = APIRouter(prefix="/v1/clusters", tags=["clusters"])
# Magnum dropped bays at 1.11, but python-magnumclient <= 3.7 sends `latest`: cove keeps
# serving them at every version so those clients keep working.
bays = APIRouter(prefix="/v1/bays", tags=["bays"])


def _wake(request: Request) -> None:
    request.app.state.wakeup()


def _template_labels(session: Session, uuids: set[str]) -> dict[str, dict[str, str]]:
    rows = session.execute(
        select(models.ClusterTemplate.uuid, models.ClusterTemplate.labels).where(
            models.ClusterTemplate.uuid.in_(uuids)
        )
    )
    return {uuid: {k: str(v) for k, v in (labels or {}).items()} for uuid, labels in rows}


def _list(
    session: Session, ctx: RequestContext, params: Any, max_limit: int, *, detail: bool, bay: bool
) -> dict[str, Any]:
    policy.enforce(ctx, "cluster:detail" if detail else "cluster:get_all")
    stmt = select(models.Cluster)  # node groups: one query for the page, below
    where = clusters.scope(ctx)
    if where is not None:
        stmt = stmt.where(where)
    page = paginate(session, stmt, models.Cluster, params, max_limit, not_found="Cluster")
    clusters.load_nodegroups(session, page.items)
    coll = "bays" if bay else "clusters"
    if bay:
        items = [bay_view(c, ctx.base_url, trimmed=not detail) for c in page.items]
    else:
        parents = (
            _template_labels(session, {c.cluster_template_id for c in page.items}) if detail else {}
        )
        items = [
            cluster_view(
                c, ctx.base_url, ctx.version, parents.get(c.cluster_template_id), trimmed=not detail
            )
            for c in page.items
        ]
    path = f"{coll}/detail" if detail else coll
    return collection(coll, items, page, ctx.base_url, path, params, max_limit)


def _show(session: Session, ctx: RequestContext, ident: str) -> models.Cluster:
    cluster = clusters.get_cluster(session, ctx, ident)
    policy.enforce(ctx, "cluster:get", policy.Target(cluster.project_id))
    return cluster


def _full(session: Session, ctx: RequestContext, cluster: models.Cluster) -> dict[str, Any]:
    parent = _template_labels(session, {cluster.cluster_template_id})
    return cluster_view(cluster, ctx.base_url, ctx.version, parent.get(cluster.cluster_template_id))


def _write(session: Session, ctx: RequestContext, ident: str, rule: str) -> models.Cluster:
    cluster = clusters.get_cluster(session, ctx, ident)
    policy.enforce(ctx, rule, policy.Target(cluster.project_id))
    return cluster


@router.get("", dependencies=[Depends(strict_query(*LIST_QUERY))])
def list_clusters(
    session: SessionDep, ctx: ContextDep, params: ListParamsDep, settings: SettingsDep
) -> dict[str, Any]:
    return _list(session, ctx, params, settings.max_limit, detail=False, bay=False)


@router.get("/detail", dependencies=[Depends(strict_query(*LIST_QUERY))])
def detail_clusters(
    session: SessionDep, ctx: ContextDep, params: ListParamsDep, settings: SettingsDep
) -> dict[str, Any]:
    return _list(session, ctx, params, settings.max_limit, detail=True, bay=False)


@router.get("/{ident}", dependencies=[Depends(strict_query())])
def show_cluster(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return _full(session, ctx, _show(session, ctx, ident))


@router.post("", status_code=202, dependencies=[Depends(strict_query())])
def create_cluster(
    body: ClusterCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    ctx: ContextDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    with writing(session):
        cluster = clusters.create_cluster(
            session, ctx, body, default_quota=settings.max_clusters_per_project
        )
        coe = clusters.template_of(session, cluster).coe
    _wake(request)
    warnings.unknown_labels(response, coe, cluster.labels)
    return {"uuid": cluster.uuid}


@router.patch("/{ident}", status_code=202, dependencies=[Depends(strict_query("rollback"))])
def update_cluster(
    ident: str,
    body: list[PatchItem],
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    rollback: bool = Query(False),
) -> dict[str, Any]:
    if "rollback" in request.query_params and ctx.version < Version(1, 3):
        from cove import errors

        raise errors.InvalidRequest('Unknown argument: "rollback"')
    with writing(session):
        cluster = _write(session, ctx, ident, "cluster:update")
        clusters.update_cluster(session, ctx, cluster, [item.to_op() for item in body])
    _wake(request)
    return {"uuid": cluster.uuid}


@router.delete("/{ident}", status_code=204, dependencies=[Depends(strict_query())])
def delete_cluster(ident: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    with writing(session):
        cluster = _write(session, ctx, ident, "cluster:delete")
        clusters.delete_cluster(session, cluster)
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
    with writing(session):
        cluster = _write(session, ctx, ident, "cluster:resize")
        clusters.resize_cluster(session, ctx, cluster, body)
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
    with writing(session):
        cluster = _write(session, ctx, ident, "cluster:upgrade")
        clusters.upgrade_cluster(session, ctx, cluster, body)
    _wake(request)
    return {"uuid": cluster.uuid}


# Legacy bays: the cluster model under old names (python-magnumclient <= 3.7).


@bays.get("", dependencies=[Depends(strict_query(*LIST_QUERY))])
def list_bays(
    session: SessionDep, ctx: ContextDep, params: ListParamsDep, settings: SettingsDep
) -> dict[str, Any]:
    return _list(session, ctx, params, settings.max_limit, detail=False, bay=True)


@bays.get("/detail", dependencies=[Depends(strict_query(*LIST_QUERY))])
def detail_bays(
    session: SessionDep, ctx: ContextDep, params: ListParamsDep, settings: SettingsDep
) -> dict[str, Any]:
    return _list(session, ctx, params, settings.max_limit, detail=True, bay=True)


@bays.get("/{ident}", dependencies=[Depends(strict_query())])
def show_bay(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return bay_view(_show(session, ctx, ident), ctx.base_url)


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
        with writing(session):
            cluster = clusters.create_cluster(
                session, ctx, body.to_cluster(), default_quota=settings.max_clusters_per_project
            )
    except (errors.NotFound, errors.InvalidField) as exc:
        # Magnum's bays answer 400 naming baymodel_id for an unknown baymodel, at any version.
        if isinstance(exc, errors.InvalidField) and exc.field != "cluster_template_id":
            raise
        reason = exc.reason if isinstance(exc, errors.InvalidField) else exc.message
        raise errors.InvalidField("baymodel_id", body.baymodel_id, reason) from None
    _wake(request)
    if ctx.version < Version(1, 2):  # 1.1 bays were synchronous: 201 with the whole bay
        return JSONResponse(bay_view(cluster, ctx.base_url), status_code=201)
    return JSONResponse({"uuid": cluster.uuid}, status_code=202)


@bays.patch(
    "/{ident}",
    status_code=202,
    responses={200: {"description": "1.1: the whole bay"}},
    dependencies=[Depends(strict_query("rollback"))],
)
def update_bay(
    ident: str, body: list[PatchItem], request: Request, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    if "rollback" in request.query_params and ctx.version < Version(1, 3):
        raise errors.InvalidRequest('Unknown argument: "rollback"')
    with writing(session):
        cluster = _write(session, ctx, ident, "cluster:update")
        clusters.update_cluster(session, ctx, cluster, [item.to_op() for item in body])
    _wake(request)
    if ctx.version < Version(1, 2):
        return JSONResponse(bay_view(cluster, ctx.base_url), status_code=200)
    return JSONResponse({"uuid": cluster.uuid}, status_code=202)


@bays.delete("/{ident}", status_code=204, dependencies=[Depends(strict_query())])
def delete_bay(ident: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    return delete_cluster(ident, request, session, ctx)
