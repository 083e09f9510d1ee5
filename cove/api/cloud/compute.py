"""Nova's v2.1 API, the parts that read flavors, key pairs and availability zones."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from cove import errors
from cove.api.cloud import PREFIX
from cove.api.cloud.deps import CallerDep, SessionDep
from cove.api.routing import Router
from cove.api.schemas.common import timestamp
from cove.db import models
from cove.services import catalog

router = Router()
VERSION = {
    "id": "v2.1", "status": "CURRENT", "version": "2.1", "min_version": "2.1",
    "updated": "2013-07-23T11:33:21Z",
}  # fmt: skip
ZONE = "nova"


def _links(request: Request, path: str) -> list[dict[str, str]]:
    href = str(request.base_url).rstrip("/") + f"{PREFIX}/compute/v2.1/{path}"
    return [{"rel": "self", "href": href}, {"rel": "bookmark", "href": href}]


@router.get("")
@router.get("/")
def versions(request: Request) -> dict[str, Any]:
    return {"versions": [{**VERSION, "links": _links(request, "")[:1]}]}


@router.get("/v2.1")
@router.get("/v2.1/")
def version(request: Request) -> dict[str, Any]:
    return {"version": {**VERSION, "links": _links(request, "")[:1]}}


def _flavor(f: models.Flavor, request: Request, detail: bool) -> dict[str, Any]:
    brief = {"id": f.uuid, "name": f.name, "links": _links(request, f"flavors/{f.uuid}")}
    if not detail:
        return brief
    return {
        **brief, "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk, "swap": 0,
        "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": False,
        "os-flavor-access:is_public": True, "rxtx_factor": 1.0, "description": None,
        "extra_specs": {},
    }  # fmt: skip


@router.get("/v2.1/flavors")
def flavors(request: Request, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return {"flavors": [_flavor(f, request, False) for f in catalog.list_flavors(session, caller)]}


@router.get("/v2.1/flavors/detail")
def flavors_detail(request: Request, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    listed = catalog.list_flavors(session, caller)
    return {"flavors": [_flavor(f, request, True) for f in listed]}


@router.get("/v2.1/flavors/{ident}")
def flavor(ident: str, request: Request, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return {"flavor": _flavor(catalog.show_flavor(session, caller, ident), request, True)}


@router.get("/v2.1/flavors/{ident}/os-extra_specs")
def extra_specs(ident: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    catalog.show_flavor(session, caller, ident)
    return {"extra_specs": {}}


def _keypair(k: models.Keypair) -> dict[str, Any]:
    return {
        "name": k.name, "public_key": k.public_key or "", "fingerprint": k.fingerprint or "",
        "type": "ssh", "user_id": k.user_id, "created_at": timestamp(k.created_at),
        "id": k.id, "deleted": False,
    }  # fmt: skip


@router.get("/v2.1/os-keypairs")
def keypairs(session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return {"keypairs": [{"keypair": _keypair(k)} for k in catalog.list_keypairs(session, caller)]}


@router.get("/v2.1/os-keypairs/{name}")
def keypair(name: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    found = [k for k in catalog.list_keypairs(session, caller) if k.name == name]
    if not found:
        raise errors.NotFound(f"Keypair {name} not found for user {caller.user_id}")
    return {"keypair": _keypair(found[0])}


@router.get("/v2.1/os-availability-zone")
@router.get("/v2.1/os-availability-zone/detail")
def availability_zones() -> dict[str, Any]:
    """One zone: cove's nodes are containers on one Docker engine."""
    return {"availabilityZoneInfo": [
        {"zoneName": ZONE, "zoneState": {"available": True}, "hosts": None}
    ]}  # fmt: skip


@router.get("/v2.1/limits")
def limits() -> dict[str, Any]:
    """No Nova quotas apply to cove's nodes (its own quota counts clusters): unlimited, none
    used. Horizon's project overview reads this when a compute service exists."""
    absolute = {
        "maxTotalInstances": -1, "maxTotalCores": -1, "maxTotalRAMSize": -1,
        "maxTotalKeypairs": -1, "maxServerMeta": -1, "maxServerGroups": -1,
        "maxServerGroupMembers": -1, "totalInstancesUsed": 0, "totalCoresUsed": 0,
        "totalRAMUsed": 0, "totalServerGroupsUsed": 0,
    }  # fmt: skip
    return {"limits": {"absolute": absolute, "rate": []}}


@router.get("/v2.1/servers")
@router.get("/v2.1/servers/detail")
def servers() -> dict[str, Any]:
    """cove makes no Nova servers: its nodes are its clusters' (``/v1/clusters/{c}/nodes``)."""
    return {"servers": []}


@router.get("/v2.1/os-simple-tenant-usage")
@router.get("/v2.1/os-simple-tenant-usage/{project}")
def usage(project: str = "") -> dict[str, Any]:
    return {"tenant_usage": {}} if project else {"tenant_usages": []}
