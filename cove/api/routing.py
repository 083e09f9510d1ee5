"""The routers every API module declares its routes on.

FastAPI hands a synchronous route to the thread pool, then, back on the event loop, hands its
result to the thread pool a second time to check it against the return annotation before it
encodes it. cove's routes return plain JSON data (``dict[str, Any]``), which that check cannot
refuse, so a ``Router``'s routes render it to JSON at the end of the route's own turn in the
thread pool: one hand-off per request instead of two, the encoding off the event loop, and
pydantic-core's encoder rather than ``jsonable_encoder``. The annotation still documents the
response in the OpenAPI document. The route's database session is closed there too: a read's
transaction (SQLite's) ends without a hand-off of its own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import pydantic_core
from fastapi import APIRouter
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

NO_BODY = frozenset({204, 304})


class JSONBody(JSONResponse):
    """JSON encoded by pydantic-core: compact and UTF-8 as Starlette's; a page of 1,000 summary
    items takes 2.7 ms where ``json.dumps`` takes 9.9 (measured once, the machine loaded)."""

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content)


class RenderedRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # A route that names its response model (to filter it) or its response class keeps
        # FastAPI's own handling.
        own_model = not isinstance(kwargs.get("response_model"), DefaultPlaceholder | None)
        own_class = not isinstance(kwargs.get("response_class"), DefaultPlaceholder | None)
        if not (inspect.iscoroutinefunction(endpoint) or own_model or own_class):
            endpoint = _rendering(endpoint, kwargs.get("status_code") or 200)
        super().__init__(path, endpoint, **kwargs)


class Router(APIRouter):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=RenderedRoute, **kwargs)


def _rendering(endpoint: Callable[..., Any], status_code: int) -> Callable[..., Any]:
    """``endpoint`` returning its data already as a response. Headers and a status code set on
    a ``Response`` parameter carry over, as FastAPI does for data it encodes itself."""

    @functools.wraps(endpoint)  # FastAPI reads the parameters and annotations through it
    def route(**values: Any) -> Any:
        try:
            return _render(endpoint(**values), values, status_code)
        finally:
            for value in values.values():
                if isinstance(value, Session):
                    # A read on SQLite leaves its transaction open: end it on this thread,
                    # the answer rendered (or the error raised), not in a second hand-off
                    # when the session dependency closes (cove.api.deps.get_session).
                    value.close()

    return route


def _render(result: Any, values: dict[str, Any], status_code: int) -> Response:
    if isinstance(result, Response):
        return result
    injected = next((v for v in values.values() if isinstance(v, Response)), None)
    status = (injected.status_code if injected else None) or status_code
    response: Response = (
        Response(status_code=status) if status in NO_BODY else JSONBody(result, status)
    )
    if injected is not None:
        response.headers.raw.extend(injected.headers.raw)
    return response


def prepare(app: Starlette) -> None:
    """Build, before the first request, what Starlette and FastAPI build on it: each app's
    middleware stack, and each included router's routes (FastAPI 0.16x makes a pydantic
    adapter per route parameter the first time a request is matched against a router: 20
    to 50 ms on the first request of each resource, measured). Mounted apps too. Where a
    FastAPI release builds them otherwise, nothing is left to do here."""
    if app.middleware_stack is None:
        app.middleware_stack = app.build_middleware_stack()
    _prepare_routes(app.router.routes)


def _prepare_routes(routes: Iterable[Any]) -> None:
    for route in routes:
        if isinstance(route, Mount) and isinstance(route.app, Starlette):
            prepare(route.app)
        effective = getattr(route, "effective_candidates", None)
        if callable(effective):
            _prepare_routes(effective())
