"""/profiles and /profile-types."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Response

from cove.api.clustering import microversions
from cove.api.clustering.deps import ContextDep, SessionDep, list_query, no_query
from cove.api.clustering.schemas import ProfileCreate, ProfilePatch, ProfileValidate, profile_view
from cove.api.routing import Router
from cove.domain.clustering.schema import SpecType, render
from cove.services.clustering import profiles

router = Router(prefix="/v1")


@router.get("/profile-types", dependencies=[Depends(no_query)])
def list_types(ctx: ContextDep) -> dict[str, Any]:
    kinds = profiles.profile_types(ctx.caller)
    if ctx.version < microversions.Version(1, 5):
        return {"profile_types": [{"name": k.full_name} for k in kinds]}
    return {
        "profile_types": [
            {"name": k.name, "version": k.version, "support_status": k.status()} for k in kinds
        ]
    }


def type_view(kind: SpecType, with_status: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"name": kind.full_name, "schema": render(kind.properties)}
    if with_status:
        view["support_status"] = kind.status()
    return view


@router.get("/profile-types/{type_name}", dependencies=[Depends(no_query)])
def show_type(type_name: str, ctx: ContextDep) -> dict[str, Any]:
    kind = profiles.profile_type(ctx.caller, type_name)
    return {"profile_type": type_view(kind, ctx.version >= microversions.Version(1, 5))}


@router.get("/profile-types/{type_name}/ops", dependencies=[Depends(no_query)])
def type_ops(type_name: str, ctx: ContextDep) -> dict[str, Any]:
    microversions.at_least(ctx.version, "1.4", "profile type operations")
    return {"operations": profiles.profile_type_ops(ctx.caller, type_name)}


@router.get("/profiles")
def list_profiles(request: Request, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    q = list_query(request, tuple(profiles.FILTERS))
    return {"profiles": [profile_view(p) for p in profiles.list_profiles(session, ctx.caller, q)]}


@router.post("/profiles", status_code=201, dependencies=[Depends(no_query)])
def create_profile(body: ProfileCreate, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    new = profiles.NewProfile(body.profile.name, body.profile.spec, body.profile.metadata)
    return {"profile": profile_view(profiles.create_profile(session, ctx.caller, new))}


@router.post("/profiles/validate", dependencies=[Depends(no_query)])
def validate_profile(body: ProfileValidate, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    microversions.at_least(ctx.version, "1.2", "profile validate")
    return {
        "profile": profile_view(profiles.validate_profile(session, ctx.caller, body.profile.spec))
    }


@router.get("/profiles/{profile_id}", dependencies=[Depends(no_query)])
def show_profile(profile_id: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return {"profile": profile_view(profiles.get_profile(session, ctx.caller, profile_id))}


@router.patch("/profiles/{profile_id}", dependencies=[Depends(no_query)])
def update_profile(
    profile_id: str, body: ProfilePatch, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    changes = profiles.ProfileChanges(body.profile.name, body.profile.metadata)
    return {
        "profile": profile_view(profiles.update_profile(session, ctx.caller, profile_id, changes))
    }


@router.delete("/profiles/{profile_id}", status_code=204, dependencies=[Depends(no_query)])
def delete_profile(profile_id: str, session: SessionDep, ctx: ContextDep) -> Response:
    profiles.delete_profile(session, ctx.caller, profile_id)
    return Response(status_code=204)
