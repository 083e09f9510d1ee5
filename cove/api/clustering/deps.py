"""What the clustering routes declare: the caller, the negotiated version, the base URL
links and ``Location`` are built from, and Senlin's list parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from cove.api.clustering import microversions
from cove.api.context import caller_from_request
from cove.api.deps import SessionDep as SessionDep  # the routes' session, one definition
from cove.api.microversions import Version
from cove.domain.clustering import errors as cerr
from cove.identity import Caller
from cove.services.clustering.common import ListQuery
from cove.settings import Settings


@dataclass(frozen=True)
class Context:
    caller: Caller
    version: Version
    base_url: str  # the server's root: links are <base_url>/clustering/v1/…

    def url(self, path: str) -> str:
        return f"{self.base_url}/clustering/v1/{path}"


def base_url(request: Request) -> str:
    """The server's root URL (the mount point's prefix removed)."""
    root = str(request.base_url).rstrip("/")
    return root.removesuffix("/clustering")


async def get_context(request: Request) -> Context:  # no I/O: no thread hand-off
    settings: Settings = request.app.state.settings
    version = getattr(request.state, "clustering_version", microversions.MIN)
    return Context(
        caller_from_request(request, settings.effective_auth_mode), version, base_url(request)
    )


ContextDep = Annotated[Context, Depends(get_context)]


def _bool(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise cerr.BadRequest(f"Invalid value '{value}' specified for '{name}'")
    return value.lower() == "true"


def list_query(request: Request, filters: tuple[str, ...]) -> ListQuery:
    """Senlin's whitelist: an unknown parameter is "Invalid parameter"; filters may repeat."""
    params = request.query_params
    for key in params:
        if key not in (*filters, "limit", "marker", "sort", "global_project"):
            raise cerr.BadRequest(f"Invalid parameter '{key}'")
    limit = None
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError:
            raise cerr.BadRequest(
                f"The value for 'limit' ({params['limit'][:40]!r}) is not an integer."
            ) from None
        if not 0 <= limit < 2**31:
            raise cerr.BadRequest("The value for 'limit' must be a non-negative integer.")
    found = {key: params.getlist(key) for key in filters if key in params}
    return ListQuery(
        limit=limit,
        marker=params.get("marker"),
        sort=params.get("sort"),
        global_project=_bool("global_project", params["global_project"])
        if "global_project" in params
        else False,
        filters=found,
    )


async def no_query(request: Request) -> None:
    for key in request.query_params:
        raise cerr.BadRequest(f"Invalid parameter '{key}'")
