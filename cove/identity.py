"""Who is calling, as the services see it: a project, a user and their roles. The API layer
builds it from identity headers (or the ``noauth`` administrator); nothing here is HTTP."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    project_id: str
    user_id: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles
