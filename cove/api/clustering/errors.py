"""Senlin's fault body for every error under ``/clustering``:
``{"code", "title", "explanation", "error": {"code", "message", "type"}}``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from cove import errors

log = logging.getLogger(__name__)

# webob's explanations, which Senlin's body carries.
EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed or "
    "otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document you "
    "requested.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method specified is not allowed for this resource.",
    406: "The resource could not be generated that was acceptable to your browser.",
    409: "There was a conflict when trying to complete your request.",
    413: "The request is larger than the server is willing or able to process.",
    500: "The server has either erred or is incapable of performing the requested operation.",
}
_TYPES = {
    400: "BadRequest", 401: "HTTPUnauthorized", 403: "Forbidden", 404: "ResourceNotFound",
    405: "HTTPMethodNotAllowed", 406: "InvalidGlobalAPIVersion", 409: "Conflict",
    413: "RequestLimitExceeded", 500: "InternalError",
}  # fmt: skip


def body(status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {
        "code": status,
        "title": title,
        "explanation": EXPLANATIONS.get(status, ""),
        "error": {"code": status, "message": message, "type": kind or _TYPES.get(status, "Error")},
    }


def reply(status: int, message: str, kind: str | None = None) -> JSONResponse:
    return JSONResponse(body(status, message, kind), status_code=status)


async def _cove_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.CoveError)
    return reply(exc.status, exc.message, getattr(exc, "senlin_type", None))


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def describe(err: dict[str, Any]) -> str:
    field = _field(tuple(err.get("loc", ())))
    kind = err.get("type", "")
    if kind == "missing":
        return f"The '{field}' field is required."
    if kind == "extra_forbidden":
        return f"Unrecognized field '{field}'."
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if field == "body":
        return "The request body must be a JSON object."
    value = repr(err.get("input"))
    if len(value) > 60:
        value = value[:60] + "..."
    return f"The value ({value}) for '{field}' is invalid: {err.get('msg', 'invalid value')}."


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return reply(400, describe(exc.errors()[0]), "BadRequest")


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return reply(404, f"The resource at '{request.url.path}' could not be found.")
    if exc.status_code == 400:
        return reply(400, "The request body is not valid JSON.")
    return reply(exc.status_code, HTTPStatus(exc.status_code).phrase + ".")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return reply(500, "An unexpected error occurred.", "InternalError")


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.CoveError, _cove_error)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
