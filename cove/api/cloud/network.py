"""Neutron's v2.0 API, the parts that read networks and subnets (filtered as Horizon and
openstacksdk filter them: by project, ``shared``, ``router:external``, ``id``, ``name``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from cove.api.cloud import PREFIX
from cove.api.cloud.deps import CallerDep, SessionDep
from cove.api.routing import Router
from cove.api.schemas.common import timestamp
from cove.db import models
from cove.services import catalog

router = Router()


@router.get("")
@router.get("/")
def versions(request: Request) -> dict[str, Any]:
    href = str(request.base_url).rstrip("/") + f"{PREFIX}/network/v2.0/"
    return {"versions": [{"id": "v2.0", "status": "CURRENT",
                          "links": [{"rel": "self", "href": href}]}]}  # fmt: skip


def _network(n: models.Network) -> dict[str, Any]:
    return {
        "id": n.uuid, "name": n.name, "tenant_id": n.project_id, "project_id": n.project_id,
        "shared": n.shared, "router:external": n.external, "status": "ACTIVE",
        "admin_state_up": True, "subnets": [s.get("uuid") for s in n.subnets or []],
        "mtu": 1500, "availability_zones": ["nova"], "description": "",
        "is_default": False, "port_security_enabled": True, "tags": [],
        "created_at": timestamp(n.created_at), "updated_at": timestamp(n.updated_at),
        "revision_number": 0,
    }  # fmt: skip


def _subnets(n: models.Network) -> list[dict[str, Any]]:
    return [
        {
            "id": s.get("uuid"), "name": s.get("name", ""), "cidr": s.get("cidr"),
            "network_id": n.uuid, "tenant_id": n.project_id, "project_id": n.project_id,
            "ip_version": 6 if ":" in str(s.get("cidr", "")) else 4, "enable_dhcp": True,
            "gateway_ip": None, "allocation_pools": [], "dns_nameservers": [],
            "host_routes": [], "description": "", "tags": [],
        }
        for s in n.subnets or []
    ]  # fmt: skip


def _matches(item: dict[str, Any], query: dict[str, list[str]]) -> bool:
    """Neutron's filters: a field equal to one of the values given (booleans as words)."""
    for key, wanted in query.items():
        if key in ("fields", "limit", "marker", "sort_key", "sort_dir") or key not in item:
            continue
        value = item[key]
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text not in [w.lower() if isinstance(value, bool) else w for w in wanted]:
            return False
    return True


def _query(request: Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, []).append(value)
    return query


@router.get("/v2.0/networks")
def networks(request: Request, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    listed = [_network(n) for n in catalog.list_networks(session, caller)]
    return {"networks": [n for n in listed if _matches(n, _query(request))]}


@router.get("/v2.0/networks/{ident}")
def network(ident: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return {"network": _network(catalog.show_network(session, caller, ident))}


@router.get("/v2.0/subnets")
def subnets(request: Request, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    listed = [s for n in catalog.list_networks(session, caller) for s in _subnets(n)]
    return {"subnets": [s for s in listed if _matches(s, _query(request))]}


@router.get("/v2.0/extensions")
def extensions() -> dict[str, Any]:
    """None: cove's networks are names for Magnum's fields, with no Neutron extension."""
    return {"extensions": []}
