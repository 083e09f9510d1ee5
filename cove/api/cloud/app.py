"""The ``/cloud`` sub-application: ``/cloud/compute/v2.1`` (Nova), ``/cloud/image`` (Glance)
and ``/cloud/network`` (Neutron), mounted by ``cove.api.app`` and registered in Keystone's
catalog by ``cove keystone register --cloud-apis``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cove import errors
from cove.api.cloud import compute, image, network


def create_cloud_app(state: Any) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    for name in ("settings", "engine", "session_factory"):
        setattr(app.state, name, getattr(state, name))
    app.include_router(compute.router, prefix="/compute")
    app.include_router(image.router, prefix="/image")
    app.include_router(network.router, prefix="/network")
    app.add_exception_handler(errors.CoveError, _cove_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    return app


def fault(status: int, message: str) -> JSONResponse:
    """The body Nova, Glance and Neutron clients all read a message from."""
    kind = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound"}
    return JSONResponse(
        {kind.get(status, "computeFault"): {"code": status, "message": message},
         "NeutronError": {"message": message, "type": kind.get(status, "Error"), "detail": ""}},
        status_code=status,
    )  # fmt: skip


async def _cove_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.CoveError)
    return fault(exc.status, exc.message)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return fault(exc.status_code, str(exc.detail))


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return fault(400, "Invalid input")
