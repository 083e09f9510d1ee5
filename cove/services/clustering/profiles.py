"""Profiles (Senlin's ``/profiles``) and profile types: a spec is validated against its type
and its placement against the clusters the caller sees; only name and metadata change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.db import clustering as db
from cove.db.session import writing
from cove.domain.clustering import errors as cerr
from cove.domain.clustering.profiles import OPERATIONS, PROFILE_TYPES, parse_profile_spec
from cove.domain.clustering.schema import SpecType
from cove.identity import Caller
from cove.services.clustering import common, hosts, paging


@dataclass(frozen=True)
class NewProfile:
    name: str
    spec: dict[str, Any]
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class ProfileChanges:
    name: str | None = None
    metadata: dict[str, Any] | None = None


def checked_spec(session: Session, caller: Caller, spec: Any) -> tuple[SpecType, dict[str, Any]]:
    """The spec as stored (version as a string) after checking it and its placement."""
    kind, properties = parse_profile_spec(spec)
    hosts.resolve(session, caller, properties)
    stored = {
        "type": kind.name,
        "version": kind.version,
        "properties": dict(spec.get("properties") or {}),
    }
    return kind, stored


def create_profile(session: Session, caller: Caller, new: NewProfile) -> db.Profile:
    common.enforce(caller, "profiles:create")
    with writing(session):
        kind, spec = checked_spec(session, caller, new.spec)
        profile = db.Profile(
            name=new.name, type=kind.full_name, spec=spec, meta=new.metadata or {},
            project_id=caller.project_id, user_id=caller.user_id, domain_id=None,
        )  # fmt: skip
        session.add(profile)
    return profile


def validate_profile(session: Session, caller: Caller, spec: Any) -> db.Profile:
    """A profile that is not stored, as Senlin's validate answers."""
    common.enforce(caller, "profiles:validate")
    kind, checked = checked_spec(session, caller, spec)
    return db.Profile(
        uuid=None, name="validated_profile", type=kind.full_name, spec=checked, meta={},
        project_id=caller.project_id, user_id=caller.user_id, domain_id=None,
    )  # fmt: skip


def get_profile(
    session: Session, caller: Caller, ident: str, rule: str = "profiles:get"
) -> db.Profile:
    common.enforce(caller, rule)
    return common.find(
        session, db.Profile, ident, kind="profile", scope=common.object_scope(db.Profile, caller)
    )


SORT_KEYS = {
    "type": db.Profile.type, "name": db.Profile.name,
    "created_at": db.Profile.created_at, "updated_at": db.Profile.updated_at,
}  # fmt: skip
FILTERS = {"name": db.Profile.name, "type": db.Profile.type}


def list_profiles(session: Session, caller: Caller, q: common.ListQuery) -> list[db.Profile]:
    common.enforce(caller, "profiles:index")
    stmt = select(db.Profile)
    scope = common.list_scope(db.Profile, caller, q.global_project)
    if scope is not None:
        stmt = stmt.where(scope)
    for key, values in (q.filters or {}).items():
        stmt = stmt.where(FILTERS[key].in_(values))
    return paging.paginate(
        session, stmt, db.Profile, limit=q.limit, marker=q.marker, sort=q.sort,
        sort_keys=SORT_KEYS, kind="profile", default_key=db.Profile.created_at,
    )  # fmt: skip


def update_profile(
    session: Session, caller: Caller, ident: str, changes: ProfileChanges
) -> db.Profile:
    with writing(session):
        profile = get_profile(session, caller, ident, "profiles:update")
        common.enforce(caller, "profiles:update", profile.project_id)
        if changes.name is not None:
            profile.name = changes.name
        if changes.metadata is not None:
            profile.meta = changes.metadata
    return profile


def delete_profile(session: Session, caller: Caller, ident: str) -> None:
    with writing(session):
        profile = get_profile(session, caller, ident, "profiles:delete")
        common.enforce(caller, "profiles:delete", profile.project_id)
        used = session.scalar(
            select(db.ContainerCluster.id)
            .where(db.ContainerCluster.profile_id == profile.id)
            .limit(1)
        )
        used = used or session.scalar(
            select(db.ContainerNode.id).where(db.ContainerNode.profile_id == profile.id).limit(1)
        )
        if used is not None:
            raise cerr.ResourceInUse(
                "profile", ident, "still referenced by some clusters and/or nodes"
            )
        session.delete(profile)


def profile_types(caller: Caller) -> list[SpecType]:
    common.enforce(caller, "profile_types:index")
    return list(PROFILE_TYPES.values())


def profile_type(caller: Caller, name: str, rule: str = "profile_types:get") -> SpecType:
    common.enforce(caller, rule)
    found = PROFILE_TYPES.get(name)
    if found is None:
        raise cerr.ResourceNotFound("profile_type", name)
    return found


def profile_type_ops(caller: Caller, name: str) -> dict[str, Any]:
    profile_type(caller, name, "profile_types:ops")
    return OPERATIONS
