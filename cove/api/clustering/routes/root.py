"""Senlin's versions document (``/clustering/``, 300) and version (``/clustering/v1``),
build-info and the service list."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from cove import __version__
from cove.api.clustering import microversions
from cove.api.clustering.deps import ContextDep, base_url, no_query
from cove.api.routing import Router
from cove.services.clustering import common

router = Router()


def version_info(request: Request) -> dict[str, Any]:
    return {
        "id": "1.0",
        "status": "CURRENT",
        "updated": "2016-01-18T00:00:00Z",
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.clustering-v1+json"}
        ],
        "links": [
            {"href": f"{base_url(request)}/clustering/v1", "rel": "self"},
            {"rel": "help", "href": "https://docs.openstack.org/api-ref/clustering"},
        ],
        "min_version": str(microversions.MIN),
        "max_version": str(microversions.MAX),
    }


@router.get("/")
def versions(request: Request) -> JSONResponse:
    return JSONResponse({"versions": [version_info(request)]}, status_code=300)


@router.get("/v1")
def version(request: Request) -> dict[str, Any]:
    return {"version": version_info(request)}


@router.get("/v1/build-info", dependencies=[Depends(no_query)])
def build_info(ctx: ContextDep) -> dict[str, Any]:
    common.enforce(ctx.caller, "build_info:build_info")
    return {"build_info": {"api": {"revision": __version__}, "engine": {"revision": __version__}}}


@router.get("/v1/services", dependencies=[Depends(no_query)])
def services(ctx: ContextDep) -> dict[str, Any]:
    microversions.at_least(ctx.version, "1.7", "service list")
    common.enforce(ctx.caller, "services:index")
    # cove's API and conductors are one service; Magnum's service list names them.
    return {"services": []}
