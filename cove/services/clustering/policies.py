"""Policies (Senlin's ``/policies``) and policy types; a policy attached to a cluster
cannot be deleted, and only its name changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.db import clustering as db
from cove.db.session import writing
from cove.domain.clustering import errors as cerr
from cove.domain.clustering.policies import POLICY_TYPES, parse_policy_spec
from cove.domain.clustering.schema import SpecType
from cove.identity import Caller
from cove.services.clustering import common, paging


@dataclass(frozen=True)
class NewPolicy:
    name: str
    spec: dict[str, Any]


def _checked(spec: Any) -> tuple[SpecType, dict[str, Any]]:
    kind, _ = parse_policy_spec(spec)
    return kind, {
        "type": kind.name,
        "version": kind.version,
        "properties": dict(spec.get("properties") or {}),
    }


def create_policy(session: Session, caller: Caller, new: NewPolicy) -> db.Policy:
    common.enforce(caller, "policies:create")
    kind, spec = _checked(new.spec)
    with writing(session):
        policy = db.Policy(
            name=new.name, type=kind.full_name, spec=spec, data={},
            project_id=caller.project_id, user_id=caller.user_id, domain_id=None,
        )  # fmt: skip
        session.add(policy)
    return policy


def validate_policy(caller: Caller, spec: Any) -> db.Policy:
    common.enforce(caller, "policies:validate")
    kind, checked = _checked(spec)
    return db.Policy(
        uuid=None, name="validated_policy", type=kind.full_name, spec=checked, data={},
        project_id=caller.project_id, user_id=caller.user_id, domain_id=None,
    )  # fmt: skip


def get_policy(
    session: Session, caller: Caller, ident: str, rule: str = "policies:get"
) -> db.Policy:
    common.enforce(caller, rule)
    return common.find(
        session, db.Policy, ident, kind="policy", scope=common.object_scope(db.Policy, caller)
    )


SORT_KEYS = {
    "type": db.Policy.type, "name": db.Policy.name,
    "created_at": db.Policy.created_at, "updated_at": db.Policy.updated_at,
}  # fmt: skip
FILTERS = {"name": db.Policy.name, "type": db.Policy.type}


def list_policies(session: Session, caller: Caller, q: common.ListQuery) -> list[db.Policy]:
    common.enforce(caller, "policies:index")
    stmt = select(db.Policy)
    scope = common.list_scope(db.Policy, caller, q.global_project)
    if scope is not None:
        stmt = stmt.where(scope)
    for key, values in (q.filters or {}).items():
        stmt = stmt.where(FILTERS[key].in_(values))
    return paging.paginate(
        session, stmt, db.Policy, limit=q.limit, marker=q.marker, sort=q.sort,
        sort_keys=SORT_KEYS, kind="policy", default_key=db.Policy.created_at,
    )  # fmt: skip


def update_policy(session: Session, caller: Caller, ident: str, name: str) -> db.Policy:
    with writing(session):
        policy = get_policy(session, caller, ident, "policies:update")
        common.enforce(caller, "policies:update", policy.project_id)
        policy.name = name
    return policy


def delete_policy(session: Session, caller: Caller, ident: str) -> None:
    with writing(session):
        policy = get_policy(session, caller, ident, "policies:delete")
        common.enforce(caller, "policies:delete", policy.project_id)
        bound = session.scalar(
            select(db.PolicyBinding.id).where(db.PolicyBinding.policy_id == policy.id).limit(1)
        )
        if bound is not None:
            raise cerr.ResourceInUse("policy", ident, "still attached to some clusters")
        session.delete(policy)


def policy_types(caller: Caller) -> list[SpecType]:
    common.enforce(caller, "policy_types:index")
    return list(POLICY_TYPES.values())


def policy_type(caller: Caller, name: str) -> SpecType:
    common.enforce(caller, "policy_types:get")
    found = POLICY_TYPES.get(name)
    if found is None:
        raise cerr.ResourceNotFound("policy_type", name)
    return found
