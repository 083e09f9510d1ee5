"""The request context: the caller (built from the identity headers X-Project-Id, X-User-Id,
X-Roles … that auth_token set from the token, or a trusted proxy set, or the local
administrator under ``noauth``) plus what
only HTTP knows: the negotiated microversion and the base URL links are built from."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from cove import errors
from cove.api.microversions import Version
from cove.identity import Caller
from cove.settings import AuthMode

# What the caller is read from (keystonemiddleware's names, lower-cased as ASGI gives them).
IDENTITY_HEADERS = frozenset(
    {"x-project-id", "x-tenant-id", "x-user-id", "x-user", "x-roles", "x-identity-status"}
)
NOAUTH_PROJECT = "admin"
NOAUTH_USER = "admin"
NOAUTH_ROLES = ("admin", "member", "reader")


@dataclass(frozen=True)
class RequestContext:
    caller: Caller
    version: Version
    base_url: str


def _roles(header: str | None) -> frozenset[str]:
    if not header:
        return frozenset()
    return frozenset(role.strip().lower() for role in header.split(",") if role.strip())


def caller_from_request(request: Request, mode: AuthMode) -> Caller:
    headers = request.headers
    project = headers.get("X-Project-Id") or headers.get("X-Tenant-Id")
    user = headers.get("X-User-Id") or headers.get("X-User")
    if mode is not AuthMode.NOAUTH:  # headers set by auth_token (keystone) or a proxy
        if headers.get("X-Identity-Status", "Confirmed") != "Confirmed" or not project:
            raise errors.NotAuthorized("The request you have made requires authentication.")
        return Caller(project, user or "", _roles(headers.get("X-Roles")))
    if project:
        # noauth with identity headers: honour them, so one local cove can serve tests and
        # tools that act as several projects.
        return Caller(project, user or project, _roles(headers.get("X-Roles")))
    return Caller(NOAUTH_PROJECT, NOAUTH_USER, frozenset(NOAUTH_ROLES))


def context_from_request(request: Request, mode: AuthMode, version: Version) -> RequestContext:
    base_url = str(request.base_url).rstrip("/")
    return RequestContext(caller_from_request(request, mode), version, base_url)
