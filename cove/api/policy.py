"""Magnum's default policy (the new RBAC defaults): reads need ``reader``, writes ``member``,
both in the object's project; ``admin`` may do everything and sees every project. Every
rule a route uses is listed here; ``enforce`` refuses an unknown one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cove import errors
from cove.api.context import RequestContext


@dataclass(frozen=True)
class Target:
    project_id: str | None = None
    user_id: str | None = None


Check = Callable[[RequestContext, Target], bool]


def _admin(ctx: RequestContext, _t: Target) -> bool:
    return ctx.is_admin


def _in_project(ctx: RequestContext, t: Target) -> bool:
    return t.project_id is None or t.project_id == ctx.project_id


def _same_user(ctx: RequestContext, t: Target) -> bool:
    return t.user_id is None or t.user_id == ctx.user_id


def _reader(ctx: RequestContext, t: Target) -> bool:
    return ctx.is_admin or ("reader" in ctx.roles and _in_project(ctx, t))


def _member(ctx: RequestContext, t: Target) -> bool:
    return ctx.is_admin or ("member" in ctx.roles and _in_project(ctx, t))


def _reader_same_user(ctx: RequestContext, t: Target) -> bool:
    return ctx.is_admin or (_reader(ctx, t) and _same_user(ctx, t))


def _member_same_user(ctx: RequestContext, t: Target) -> bool:
    return ctx.is_admin or (_member(ctx, t) and _same_user(ctx, t))


RULES: dict[str, Check] = {}
for _resource in ("cluster", "clustertemplate", "nodegroup", "baymodel", "bay"):
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


def enforce(ctx: RequestContext, rule: str, target: Target | None = None) -> None:
    check = RULES[rule]
    if not check(ctx, target or Target(ctx.project_id, ctx.user_id)):
        raise errors.Forbidden(f"Policy doesn't allow {rule} to be performed.")
