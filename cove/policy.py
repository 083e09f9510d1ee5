"""Magnum's default policy (the new RBAC defaults): reads need ``reader``, writes ``member``,
both in the object's project; ``admin`` may do everything and sees every project. Every
rule a service or route uses is listed here; ``enforce`` refuses an unknown one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cove import errors
from cove.identity import Caller


@dataclass(frozen=True)
class Target:
    project_id: str | None = None
    user_id: str | None = None


Check = Callable[[Caller, Target], bool]


def _admin(caller: Caller, _t: Target) -> bool:
    return caller.is_admin


def _in_project(caller: Caller, t: Target) -> bool:
    return t.project_id is None or t.project_id == caller.project_id


def _same_user(caller: Caller, t: Target) -> bool:
    return t.user_id is None or t.user_id == caller.user_id


def _reader(caller: Caller, t: Target) -> bool:
    return caller.is_admin or ("reader" in caller.roles and _in_project(caller, t))


def _member(caller: Caller, t: Target) -> bool:
    return caller.is_admin or ("member" in caller.roles and _in_project(caller, t))


def _reader_same_user(caller: Caller, t: Target) -> bool:
    return caller.is_admin or (_reader(caller, t) and _same_user(caller, t))


def _member_same_user(caller: Caller, t: Target) -> bool:
    return caller.is_admin or (_member(caller, t) and _same_user(caller, t))


RULES: dict[str, Check] = {}
for _resource in ("cluster", "clustertemplate", "nodegroup", "baymodel", "bay", "deployment"):
    for _action in ("get", "get_all", "detail"):
        RULES[f"{_resource}:{_action}"] = _reader
    for _action in ("create", "update", "delete"):
        RULES[f"{_resource}:{_action}"] = _member
RULES.update(
    {
        "cluster:resize": _member,
        "cluster:upgrade": _member,
        "cluster:update_health_status": _member_same_user,
        "clustertemplate:publish": _admin,
        "baymodel:publish": _admin,
        "certificate:get": _reader_same_user,
        "certificate:create": _member_same_user,
        "certificate:rotate_ca": _member,
        "quota:get": _reader,
        "quota:get_all": _admin,
        "quota:create": _admin,
        "quota:update": _admin,
        "quota:delete": _admin,
        "stats:get_all": _reader,
        "magnum-service:get_all": _admin,
        "federation:get_all": _reader,
        # cove's catalog: everyone reads; images, keypairs and networks are project-owned;
        # flavors are the operator's, as in Nova.
        "catalog:get": _reader,
        "catalog:create": _member,
        "catalog:delete": _member,
        "flavor:create": _admin,
        "flavor:delete": _admin,
        "event:get": _reader,
    }
)


# The clustering API (Senlin's rule names, on Magnum's defaults: reads ``reader``, writes
# ``member``, in the object's project; the service list is the operator's).
for _resource in ("profiles", "policies", "clusters", "nodes", "receivers", "actions"):
    for _action in ("index", "get"):
        RULES[f"{_resource}:{_action}"] = _reader
    for _action in ("create", "update", "delete", "validate", "action", "operation", "collect"):
        RULES[f"{_resource}:{_action}"] = _member
for _rule in (
    "events:index",
    "events:get",
    "cluster_policies:index",
    "cluster_policies:get",
    "profile_types:index",
    "profile_types:get",
    "profile_types:ops",
    "policy_types:index",
    "policy_types:get",
    "build_info:build_info",
):
    RULES[_rule] = _reader
RULES["services:index"] = _admin


def enforce(caller: Caller, rule: str, target: Target | None = None) -> None:
    check = RULES[rule]
    if not check(caller, target or Target(caller.project_id, caller.user_id)):
        raise errors.Forbidden(f"Policy doesn't allow {rule} to be performed.")
