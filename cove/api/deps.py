"""Dependencies the routes declare: the database session, the caller's context, strict
query parameters, microversion gates and pagination parameters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session, sessionmaker

from cove import errors
from cove.api import microversions
from cove.api.context import RequestContext, context_from_request
from cove.api.routing import closed_by_route
from cove.services.pagination import PageRequest, sortable_keys
from cove.settings import Settings

# The dependencies are ``async def`` though they do no I/O: FastAPI runs a plain ``def`` one
# in the thread pool, a hand-off each; a show request paid five of them for one query.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@closed_by_route
async def get_session(request: Request) -> Session:
    """A session per request; service functions open the transactions they need. Making one
    does no I/O, and the route closes it on its own thread (``cove.api.routing``), so a
    request whose parameters are refused before the route runs leaves one that never held a
    connection."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory()


async def get_context(request: Request) -> RequestContext:
    settings: Settings = request.app.state.settings
    version = getattr(request.state, "version", microversions.MIN)
    return context_from_request(request, settings.effective_auth_mode, version)


SessionDep = Annotated[Session, Depends(get_session)]
ContextDep = Annotated[RequestContext, Depends(get_context)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def strict_query(*allowed: str) -> Callable[[Request], Awaitable[None]]:
    """WSME refuses query parameters a method does not declare; so does cove."""

    async def check(request: Request) -> None:
        for key in request.query_params:
            if key not in allowed:
                raise errors.InvalidRequest(f'Unknown argument: "{key}"')

    return check


def min_version(minimum: str, maximum: str | None = None) -> Callable[[Request], Awaitable[None]]:
    """A route that exists only from (and up to) a microversion: 406 with Magnum's empty
    generic body outside that range."""
    low = microversions.Version.parse(minimum)
    high = microversions.Version.parse(maximum) if maximum else microversions.MAX

    async def check(request: Request) -> None:
        version = getattr(request.state, "version", microversions.MIN)
        if not low <= version <= high:
            upper = "" if high == microversions.MAX else f" up to {high}"
            raise errors.NotAcceptable(
                f"Not Acceptable: this method needs microversion {low}{upper}, "
                f"the request asked for {version}."
            )

    return check


def list_params_for(
    model: type[Any], *, marker: str = "uuid"
) -> Callable[..., Awaitable[PageRequest]]:
    """Pagination parameters of a listing of ``model``: the document names the sort keys the
    server takes (the model's columns) and the marker's form (a uuid, or an integer id)."""
    marker_schema: dict[str, Any] = (
        {"format": "uuid"} if marker == "uuid" else {"pattern": "^[0-9]{1,18}$"}
    )
    sort_keys: dict[str, Any] = {"enum": sortable_keys(model)}

    async def params(
        # At least 1 ("Limit must be positive", as Magnum says); more than the maximum is
        # clamped.
        limit: int | None = Query(None, ge=1),
        # Defaults, not ``Annotated``: the annotations are strings this closure cannot resolve.
        marker: str | None = Query(None, json_schema_extra=marker_schema),
        sort_key: str = Query("id", json_schema_extra=sort_keys),
        sort_dir: Literal["asc", "desc"] = Query("asc"),
    ) -> PageRequest:
        return PageRequest(limit, marker, sort_key, sort_dir)

    return params


LIST_QUERY = ("limit", "marker", "sort_key", "sort_dir")
