"""The routers every API module declares its routes on.

FastAPI hands a synchronous route to the thread pool, then, back on the event loop, hands its
result to the thread pool a second time to check it against the return annotation before it
encodes it. cove's routes return plain JSON data (``dict[str, Any]``), which that check cannot
refuse, so a ``Router``'s routes render it to JSON at the end of the route's own turn in the
thread pool: one hand-off per request instead of two, the encoding off the event loop, and
pydantic-core's encoder rather than ``jsonable_encoder``. The annotation still documents the
response in the OpenAPI document. The route's database session is closed there too, so the
session dependency is a plain function rather than a generator FastAPI must wind down.

The hand-off itself is ``loop.run_in_executor`` on cove's own pool of threads, as many as
anyio's default limit: anyio's ``to_thread`` (FastAPI's way) looks up the async library, a
capacity limiter and a cancel scope on every call, a sixth of a show's framework work.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pydantic_core
from fastapi import APIRouter
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

NO_BODY = frozenset({204, 304})
ROUTE_THREADS = 40  # anyio's default limit, which FastAPI's hand-off used
_threads = ThreadPoolExecutor(ROUTE_THREADS, thread_name_prefix="cove-route")
_closed_by_route: set[Callable[..., Any]] = set()
D = TypeVar("D", bound=Callable[..., Any])


def closed_by_route(dependency: D) -> D:
    """Mark ``dependency`` as giving a ``Session`` that the route closes at the end of its
    turn in the thread pool. Only a synchronous ``Router`` route may declare it, as its own
    parameter: a route that could not close it is refused when it is declared."""
    _closed_by_route.add(dependency)
    return dependency


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
        rendered = not (inspect.iscoroutinefunction(endpoint) or own_model or own_class)
        if rendered:
            endpoint = _rendering(endpoint, kwargs.get("status_code") or 200)
        super().__init__(path, endpoint, **kwargs)
        for dependency in self.dependant.dependencies:
            # Only the route's own parameters reach it (a ``dependencies=`` entry has no name).
            _check_closed(dependency, path, top=rendered and dependency.name is not None)


def _check_closed(dependant: Dependant, path: str, *, top: bool) -> None:
    if dependant.call in _closed_by_route and not top:
        name = getattr(dependant.call, "__name__", dependant.call)
        raise TypeError(
            f"{path}: {name} gives a session only a synchronous route's own parameter may take "
            "(the route closes it at the end of its turn in the thread pool)"
        )
    for sub in dependant.dependencies:
        _check_closed(sub, path, top=False)


class Router(APIRouter):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=RenderedRoute, **kwargs)


def _rendering(endpoint: Callable[..., Any], status_code: int) -> Callable[..., Any]:
    """``endpoint`` returning its data already as a response. Headers and a status code set on
    a ``Response`` parameter carry over, as FastAPI does for data it encodes itself."""

    def run(values: dict[str, Any]) -> Response:
        try:
            return _render(endpoint(**values), values, status_code)
        finally:
            for value in values.values():
                if isinstance(value, Session):
                    # The session dependency (cove.api.deps.get_session) leaves closing to
                    # the route: a read on SQLite leaves its transaction open, ended here on
                    # the route's thread, the answer rendered or the error raised.
                    value.close()

    @functools.wraps(endpoint)  # FastAPI reads the parameters and annotations through it
    async def route(**values: Any) -> Response:
        # Copied as anyio copies it: what the route sets stays in its own context. If the
        # request is cancelled, the route still finishes and closes its session on its thread.
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_threads, context.run, run, values)

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
