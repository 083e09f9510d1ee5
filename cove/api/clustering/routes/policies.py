"""/policies and /policy-types."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Response

from cove.api.clustering import microversions
from cove.api.clustering.deps import ContextDep, SessionDep, list_query, no_query
from cove.api.clustering.routes.profiles import type_view
from cove.api.clustering.schemas import PolicyCreate, PolicyPatch, PolicyValidate, policy_view
from cove.api.routing import Router
from cove.services.clustering import policies

router = Router(prefix="/v1")


@router.get("/policy-types", dependencies=[Depends(no_query)])
def list_types(ctx: ContextDep) -> dict[str, Any]:
    kinds = policies.policy_types(ctx.caller)
    if ctx.version < microversions.Version(1, 5):
        return {"policy_types": [{"name": k.full_name} for k in kinds]}
    return {
        "policy_types": [
            {"name": k.name, "version": k.version, "support_status": k.status()} for k in kinds
        ]
    }


@router.get("/policy-types/{type_name}", dependencies=[Depends(no_query)])
def show_type(type_name: str, ctx: ContextDep) -> dict[str, Any]:
    kind = policies.policy_type(ctx.caller, type_name)
    return {"policy_type": type_view(kind, ctx.version >= microversions.Version(1, 5))}


@router.get("/policies")
def list_policies(request: Request, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    q = list_query(request, tuple(policies.FILTERS))
    return {"policies": [policy_view(p) for p in policies.list_policies(session, ctx.caller, q)]}


@router.post("/policies", status_code=201, dependencies=[Depends(no_query)])
def create_policy(body: PolicyCreate, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    new = policies.NewPolicy(body.policy.name, body.policy.spec)
    return {"policy": policy_view(policies.create_policy(session, ctx.caller, new))}


@router.post("/policies/validate", dependencies=[Depends(no_query)])
def validate_policy(body: PolicyValidate, ctx: ContextDep) -> dict[str, Any]:
    microversions.at_least(ctx.version, "1.2", "policy validate")
    return {"policy": policy_view(policies.validate_policy(ctx.caller, body.policy.spec))}


@router.get("/policies/{policy_id}", dependencies=[Depends(no_query)])
def show_policy(policy_id: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return {"policy": policy_view(policies.get_policy(session, ctx.caller, policy_id))}


@router.patch("/policies/{policy_id}", dependencies=[Depends(no_query)])
def update_policy(
    policy_id: str, body: PolicyPatch, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    return {
        "policy": policy_view(
            policies.update_policy(session, ctx.caller, policy_id, body.policy.name)
        )
    }


@router.delete("/policies/{policy_id}", status_code=204, dependencies=[Depends(no_query)])
def delete_policy(policy_id: str, session: SessionDep, ctx: ContextDep) -> Response:
    policies.delete_policy(session, ctx.caller, policy_id)
    return Response(status_code=204)
