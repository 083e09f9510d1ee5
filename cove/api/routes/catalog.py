"""cove's own catalog resources, standing in for Glance, Nova and Neutron:
/v1/images, /v1/flavors (admin-managed), /v1/keypairs (per user), /v1/networks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import JSONResponse, Response
from pydantic import Field, StringConstraints

from cove.api.deps import ContextDep, SessionDep, strict_query
from cove.api.links import links
from cove.api.routing import Router
from cove.api.schemas.common import WHOLE, Bool, NodeLabels, Strict, timestamp
from cove.db import models
from cove.domain.fields import INT32_MAX
from cove.services import catalog

router = Router(tags=["catalog"], dependencies=[Depends(strict_query())])

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class ImageBody(Strict):
    name: Name
    os_distro: Name
    node_image: Name | None = None
    properties: NodeLabels | None = None
    public: Bool = False

    def to_command(self) -> catalog.NewImage:
        return catalog.NewImage(
            self.name, self.os_distro, self.node_image, self.properties, self.public
        )


class FlavorBody(Strict):
    name: Name
    vcpus: Annotated[int, Field(strict=True, ge=1, le=256), WHOLE]
    ram: Annotated[int, Field(strict=True, ge=64, le=INT32_MAX, description="MiB"), WHOLE]
    disk: Annotated[int, Field(strict=True, ge=0, le=INT32_MAX, description="GiB"), WHOLE]

    def to_command(self) -> catalog.NewFlavor:
        return catalog.NewFlavor(self.name, self.vcpus, self.ram, self.disk)


# An OpenSSH public key as ``catalog.fingerprint`` reads it: a key type, then base64 in whole
# quanta, then an optional comment; no control character but tabs and line breaks.
_BASE64 = "(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)"
OPENSSH_PUBLIC_KEY = (
    r"^[ \t\r\n]*[^\s\x00-\x1f\x7f-\x9f]+[ \t]+"
    + _BASE64
    + r"(?:[ \t\r\n][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*)?$"
)
PublicKey = Annotated[str, StringConstraints(max_length=65536, pattern=OPENSSH_PUBLIC_KEY)]


class KeypairBody(Strict):
    multiline = frozenset({"public_key"})

    name: Name
    public_key: PublicKey | None = None

    def to_command(self) -> catalog.NewKeypair:
        return catalog.NewKeypair(self.name, self.public_key)


class Subnet(Strict):
    name: Name
    cidr: Name


class NetworkBody(Strict):
    name: Name
    external: Bool = False
    shared: Bool = False
    subnets: Annotated[list[Subnet], Field(max_length=100)] = []

    def to_command(self) -> catalog.NewNetwork:
        subnets = [s.model_dump() for s in self.subnets]
        return catalog.NewNetwork(self.name, self.external, self.shared, subnets)


def _common(row: Any, base_url: str, coll: str) -> dict[str, Any]:
    return {
        "uuid": row.uuid,
        "name": row.name,
        "links": links(base_url, f"{coll}/{row.uuid}"),
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def image_view(i: models.Image, base_url: str) -> dict[str, Any]:
    return {
        **_common(i, base_url, "images"),
        "os_distro": i.os_distro,
        "node_image": i.node_image,
        "properties": dict(i.properties or {}),
        "public": i.public,
        "project_id": i.project_id,
    }


def flavor_view(f: models.Flavor, base_url: str) -> dict[str, Any]:
    return {**_common(f, base_url, "flavors"), "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk}


def keypair_view(k: models.Keypair, base_url: str) -> dict[str, Any]:
    return {
        **_common(k, base_url, "keypairs"),
        "fingerprint": k.fingerprint,
        "public_key": k.public_key,
        "user_id": k.user_id,
    }


def network_view(n: models.Network, base_url: str) -> dict[str, Any]:
    return {
        **_common(n, base_url, "networks"),
        "external": n.external,
        "shared": n.shared,
        "subnets": list(n.subnets or []),
        "project_id": n.project_id,
    }


# images


@router.get("/v1/images")
def list_images(session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    images = catalog.list_images(session, ctx.caller)
    return {"images": [image_view(i, ctx.base_url) for i in images]}


@router.get("/v1/images/{ident}")
def show_image(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return image_view(catalog.show_image(session, ctx.caller, ident), ctx.base_url)


@router.post("/v1/images", status_code=201)
def create_image(body: ImageBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    image = catalog.create_image(session, ctx.caller, body.to_command())
    return JSONResponse(image_view(image, ctx.base_url), status_code=201)


@router.delete("/v1/images/{ident}", status_code=204)
def delete_image(ident: str, session: SessionDep, ctx: ContextDep) -> Response:
    catalog.delete_image(session, ctx.caller, ident)
    return Response(status_code=204)


# flavors


@router.get("/v1/flavors")
def list_flavors(session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    flavors = catalog.list_flavors(session, ctx.caller)
    return {"flavors": [flavor_view(f, ctx.base_url) for f in flavors]}


@router.get("/v1/flavors/{ident}")
def show_flavor(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return flavor_view(catalog.show_flavor(session, ctx.caller, ident), ctx.base_url)


@router.post("/v1/flavors", status_code=201)
def create_flavor(body: FlavorBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    flavor = catalog.create_flavor(session, ctx.caller, body.to_command())
    return JSONResponse(flavor_view(flavor, ctx.base_url), status_code=201)


@router.delete("/v1/flavors/{ident}", status_code=204)
def delete_flavor(ident: str, session: SessionDep, ctx: ContextDep) -> Response:
    catalog.delete_flavor(session, ctx.caller, ident)
    return Response(status_code=204)


# keypairs (per user, as in Nova)


@router.get("/v1/keypairs")
def list_keypairs(session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    keypairs = catalog.list_keypairs(session, ctx.caller)
    return {"keypairs": [keypair_view(k, ctx.base_url) for k in keypairs]}


@router.get("/v1/keypairs/{ident}")
def show_keypair(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return keypair_view(catalog.show_keypair(session, ctx.caller, ident), ctx.base_url)


@router.post("/v1/keypairs", status_code=201)
def create_keypair(body: KeypairBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    keypair = catalog.create_keypair(session, ctx.caller, body.to_command())
    return JSONResponse(keypair_view(keypair, ctx.base_url), status_code=201)


@router.delete("/v1/keypairs/{ident}", status_code=204)
def delete_keypair(ident: str, session: SessionDep, ctx: ContextDep) -> Response:
    catalog.delete_keypair(session, ctx.caller, ident)
    return Response(status_code=204)


# networks


@router.get("/v1/networks")
def list_networks(session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    networks = catalog.list_networks(session, ctx.caller)
    return {"networks": [network_view(n, ctx.base_url) for n in networks]}


@router.get("/v1/networks/{ident}")
def show_network(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    return network_view(catalog.show_network(session, ctx.caller, ident), ctx.base_url)


@router.post("/v1/networks", status_code=201)
def create_network(body: NetworkBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    net = catalog.create_network(session, ctx.caller, body.to_command())
    return JSONResponse(network_view(net, ctx.base_url), status_code=201)


@router.delete("/v1/networks/{ident}", status_code=204)
def delete_network(ident: str, session: SessionDep, ctx: ContextDep) -> Response:
    catalog.delete_network(session, ctx.caller, ident)
    return Response(status_code=204)
