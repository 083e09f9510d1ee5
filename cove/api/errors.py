"""Render every error as Magnum's body:
``{"errors": [{"request_id", "code", "status", "title", "detail", "links"}]}``.

One handler per exception family; routes never build error JSON themselves."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from cove import errors
from cove.api import microversions

log = logging.getLogger(__name__)


def reason(status: int) -> str:
    """The HTTP reason phrase ("Not Found"), what Magnum says when it has nothing else."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(status: int, detail: str) -> dict[str, Any]:
    detail = detail or reason(status)
    # Magnum's title is the text up to the first '.', and the clients print only the title,
    # so users never saw which values were allowed (nor an IP past its first dot). No client
    # parses it: cove's title is the whole message.
    title = detail.rstrip(".")
    return {
        "errors": [
            {
                "request_id": "",
                "code": "client" if 400 <= status < 500 else ("server" if detail else ""),
                "status": status,
                "title": title,
                "detail": detail,
                "links": [],
            }
        ]
    }


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


async def _cove_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.CoveError)
    if isinstance(exc, microversions.UnsupportedVersion):
        return _json(406, unsupported_version_body())
    return _json(exc.status, error_body(exc.status, exc.message))


def unsupported_version_body() -> dict[str, Any]:
    return {
        "errors": [
            {
                "max_version": str(microversions.MAX),
                "min_version": str(microversions.MIN),
                "code": "magnum.microversion-unsupported",
                "links": [
                    {
                        "rel": "help",
                        "href": "http://docs.openstack.org/api-guide/compute/microversions.html",
                    }
                ],
                "title": "Requested microversion is unsupported",
            }
        ]
    }


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    # Routing errors (unknown path, wrong method): Magnum's reason phrase.
    headers = dict(exc.headers or {})
    detail = reason(exc.status_code)
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{detail}: {request.url.path} accepts {', '.join(allowed)}."
    elif exc.status_code == 404:
        detail = f"{detail}: no resource at {errors.quote(request.url.path)}."
    elif exc.status_code == 400:
        # FastAPI's "There was an error parsing the body": bytes that are not UTF-8, or JSON
        # nested deeper than the parser goes.
        detail = "Invalid request body: expected a JSON document in UTF-8, not nested too deep."
    return JSONResponse(error_body(exc.status_code, detail), exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method the document gives this path (Starlette names only the first route's):
    the methods of its most literal matching path templates."""
    path = request.url.path
    matches: list[tuple[int, set[str]]] = []
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            matches.append((template.count("{"), {m.upper() for m in item if m in _METHODS}))
    # The most literal templates name the resource (``/v1/clusters/detail`` is not a cluster
    # called "detail"), as the document does.
    fewest = min((params for params, _ in matches), default=0)
    methods = set().union(*(found for params, found in matches if params == fewest))
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


_METHODS = ("get", "put", "post", "patch", "delete")


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) if parts else "body"


def describe(err: Mapping[str, Any], argument: str = "body") -> str:
    """One Pydantic error in WSME's words, naming the field and, for enums, the values."""
    kind = err.get("type", "")
    loc = tuple(err.get("loc", ()))
    field = _field_name(loc)
    value = err.get("input")
    prefix = f"Invalid input for field/attribute {field}. Value: {errors.quote(value)}."
    if kind == "extra_forbidden":
        if loc and loc[0] == "query":
            return f'Unknown argument: "{field}"'
        return f"Unknown attribute for argument {argument}: {field}"
    if loc == ("query", "limit") and kind == "greater_than_equal":
        return "Limit must be positive"  # Magnum's words
    if kind == "missing":
        return f"Invalid input for field/attribute {field}. Value: 'None'. Mandatory field missing."
    if kind == "json_invalid":
        why = err.get("ctx", {}).get("error") or err.get("msg", "")
        return f"Invalid JSON in request body: {why}."
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        expected = expected.replace("'", "").replace(" or ", ", ")
        return f"{prefix} Value should be one of: {expected}."
    if field == "body" and kind in ("model_attributes_type", "dict_type", "model_type"):
        return "Invalid request body: expected a JSON object."
    if field == "body" and kind == "list_type":
        return "Value not a valid list"
    return f"{prefix} {err.get('msg', 'invalid value')}."


def validation_message(exc: RequestValidationError) -> str:
    return describe(exc.errors()[0])


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message = validation_message(exc)
    content_type = request.headers.get("content-type", "")
    first = exc.errors()[0]
    if first.get("loc", ())[:1] == ("body",) and content_type and not _is_json(content_type):
        message = (
            "Invalid request body: expected a JSON object sent as application/json, "
            f"got {errors.quote(content_type)}."
        )
    return _json(400, error_body(400, message))


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "")
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    body = error_body(500, f"Internal server error (request {request_id}).")
    body["errors"][0]["request_id"] = request_id
    return _json(500, body)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.CoveError, _cove_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)


class ErrorBody(BaseModel):
    errors: list[dict[str, Any]]


DOCUMENTED = {
    400: "Bad request: the field, label or parameter is named in detail",
    401: "No identity",
    403: "Refused by policy or quota",
    404: "Not found",
    406: "Microversion not supported",
    409: "Conflict: ambiguous name, duplicate, or busy cluster",
}
