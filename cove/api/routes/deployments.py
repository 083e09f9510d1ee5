"""/v1/clusters/{cluster}/deployments (applications on a cluster), /v1/deployments/schema
(the definition's JSON Schema) and /v1/catalog/packages: cove's extension beyond Magnum."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from cove.api.deps import ContextDep, SessionDep, strict_query
from cove.api.routing import Router
from cove.api.schemas.deployments import (
    DeploymentCreate,
    DeploymentUpdate,
    deployment_view,
    package_view,
)
from cove.domain.deploy.schema import definition_json_schema
from cove.images.apps import refs as images
from cove.services import deployments

router = Router(tags=["deployments"], dependencies=[Depends(strict_query())])
BASE = "/v1/clusters/{cluster_ident}/deployments"


@router.get(BASE)
def list_deployments(cluster_ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    cluster, rows = deployments.list_deployments(session, ctx.caller, cluster_ident)
    return {"deployments": [deployment_view(d, cluster.uuid, ctx.base_url) for d in rows]}


@router.get(BASE + "/{ident}")
def show_deployment(
    cluster_ident: str, ident: str, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    cluster, found = deployments.show(session, ctx.caller, cluster_ident, ident)
    return deployment_view(found, cluster.uuid, ctx.base_url)


@router.post(BASE, status_code=202)
def create_deployment(
    cluster_ident: str,
    body: DeploymentCreate,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
) -> JSONResponse:
    cluster, made = deployments.create(
        session, ctx.caller, cluster_ident, body.to_command(), images.known
    )
    request.app.state.wakeup()
    return JSONResponse(deployment_view(made, cluster.uuid, ctx.base_url), status_code=202)


@router.patch(BASE + "/{ident}", status_code=202)
def update_deployment(
    cluster_ident: str,
    ident: str,
    body: DeploymentUpdate,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
) -> JSONResponse:
    cluster, changed = deployments.update(
        session, ctx.caller, cluster_ident, ident, body.to_command(), images.known
    )
    request.app.state.wakeup()
    return JSONResponse(deployment_view(changed, cluster.uuid, ctx.base_url), status_code=202)


@router.delete(BASE + "/{ident}", status_code=202)
def delete_deployment(
    cluster_ident: str, ident: str, request: Request, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    cluster, gone = deployments.delete(session, ctx.caller, cluster_ident, ident)
    request.app.state.wakeup()
    return JSONResponse(deployment_view(gone, cluster.uuid, ctx.base_url), status_code=202)


@router.get("/v1/deployments/schema")
def schema() -> dict[str, Any]:
    return definition_json_schema()


@router.get("/v1/catalog/packages")
def list_packages() -> dict[str, Any]:
    every = deployments.catalog()
    return {
        "packages": [package_view(p, list(every[n])) for n, p in deployments.packages().items()]
    }


@router.get("/v1/catalog/packages/{name}")
def show_package(name: str) -> dict[str, Any]:
    newest = deployments.package(name)
    return package_view(newest, list(deployments.catalog()[name]), full=True)
