"""Who is calling: the request context built from identity headers (keystonemiddleware's
X-Project-Id, X-User-Id, X-Roles …), or the local administrator under ``noauth``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from cove import errors
from cove.api.microversions import Version
from cove.settings import AuthMode

NOAUTH_PROJECT = "admin"
NOAUTH_USER = "admin"
NOAUTH_ROLES = ("admin", "member", "reader")


@dataclass(frozen=True)
class RequestContext:
    project_id: str
    user_id: str
    roles: frozenset[str]
    version: Version
    base_url: str

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def _roles(header: str | None) -> frozenset[str]:
    if not header:
        return frozenset()
    return frozenset(role.strip().lower() for role in header.split(",") if role.strip())


def context_from_request(request: Request, mode: AuthMode, version: Version) -> RequestContext:
    headers = request.headers
    project = headers.get("X-Project-Id") or headers.get("X-Tenant-Id")
    user = headers.get("X-User-Id") or headers.get("X-User")
    base_url = str(request.base_url).rstrip("/")
    if mode is AuthMode.KEYSTONE:
        if headers.get("X-Identity-Status", "Confirmed") != "Confirmed" or not project:
            raise errors.NotAuthorized("The request you have made requires authentication.")
        return RequestContext(
            project, user or "", _roles(headers.get("X-Roles")), version, base_url
        )
    if project:
        # noauth with identity headers: honour them, so one local cove can serve tests and
        # tools that act as several projects.
        return RequestContext(
            project, user or project, _roles(headers.get("X-Roles")), version, base_url
        )
    return RequestContext(NOAUTH_PROJECT, NOAUTH_USER, frozenset(NOAUTH_ROLES), version, base_url)
