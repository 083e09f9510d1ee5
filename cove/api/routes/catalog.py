"""cove's own catalog resources, standing in for Glance, Nova and Neutron:
/v1/images, /v1/flavors (admin-managed), /v1/keypairs (per user), /v1/networks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import Field, StringConstraints
from sqlalchemy import exists, or_, select

from cove import errors
from cove.api import policy
from cove.api.context import RequestContext
from cove.api.deps import ContextDep, SessionDep, strict_query
from cove.api.links import links
from cove.api.schemas.common import Strict, timestamp
from cove.db import models
from cove.db.session import writing
from cove.services import catalog
from cove.services.lookup import get_by_ident

router = APIRouter(tags=["catalog"], dependencies=[Depends(strict_query())])

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class ImageBody(Strict):
    name: Name
    os_distro: Name
    node_image: Name | None = None
    properties: dict[str, str] | None = None
    public: bool = False


class FlavorBody(Strict):
    name: Name
    vcpus: Annotated[int, Field(ge=1, le=256)]
    ram: Annotated[int, Field(ge=64, description="MiB")]
    disk: Annotated[int, Field(ge=0, description="GiB")]


class KeypairBody(Strict):
    name: Name
    public_key: str | None = None


class Subnet(Strict):
    name: Name
    cidr: Name


class NetworkBody(Strict):
    name: Name
    external: bool = False
    shared: bool = False
    subnets: list[Subnet] = []


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


def _in_use(session: Any, column: Any, row: Any) -> bool:
    return bool(session.scalar(select(exists().where(or_(column == row.uuid, column == row.name)))))


# images


@router.get("/v1/images")
def list_images(session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    policy.enforce(ctx, "catalog:get")
    stmt = select(models.Image).order_by(models.Image.id)
    if (scope := catalog.visible_images(ctx)) is not None:
        stmt = stmt.where(scope)
    return {"images": [image_view(i, ctx.base_url) for i in session.scalars(stmt)]}


@router.get("/v1/images/{ident}")
def show_image(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    policy.enforce(ctx, "catalog:get")
    image = get_by_ident(
        session, models.Image, ident, kind="Image", scope=catalog.visible_images(ctx)
    )
    return image_view(image, ctx.base_url)


@router.post("/v1/images", status_code=201)
def create_image(body: ImageBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    policy.enforce(ctx, "catalog:create")
    if body.public:
        policy.enforce(ctx, "flavor:create")  # publishing an image is the operator's call
    with writing(session):
        image = models.Image(project_id=ctx.project_id, **body.model_dump(exclude_none=True))
        session.add(image)
        session.flush()
    return JSONResponse(image_view(image, ctx.base_url), status_code=201)


@router.delete("/v1/images/{ident}", status_code=204)
def delete_image(ident: str, session: SessionDep, ctx: ContextDep) -> Response:
    with writing(session):
        image = get_by_ident(
            session, models.Image, ident, kind="Image", scope=catalog.visible_images(ctx)
        )
        policy.enforce(ctx, "catalog:delete", policy.Target(image.project_id))
        if _in_use(session, models.ClusterTemplate.image_id, image):
            raise errors.InvalidRequest(f"Image {image.name} is used by cluster templates.")
        session.delete(image)
    return Response(status_code=204)


# flavors


@router.get("/v1/flavors")
def list_flavors(session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    policy.enforce(ctx, "catalog:get")
    rows = session.scalars(select(models.Flavor).order_by(models.Flavor.ram, models.Flavor.id))
    return {"flavors": [flavor_view(f, ctx.base_url) for f in rows]}


@router.get("/v1/flavors/{ident}")
def show_flavor(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    policy.enforce(ctx, "catalog:get")
    try:
        return flavor_view(catalog.resolve_flavor(session, ident, "flavor"), ctx.base_url)
    except errors.InvalidField as exc:
        raise errors.NotFound(exc.reason) from None


@router.post("/v1/flavors", status_code=201)
def create_flavor(body: FlavorBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    policy.enforce(ctx, "flavor:create")
    with writing(session):
        if session.scalar(select(models.Flavor.id).where(models.Flavor.name == body.name)):
            raise errors.Conflict(f"Flavor {body.name} already exists.")
        flavor = models.Flavor(**body.model_dump())
        session.add(flavor)
        session.flush()
    return JSONResponse(flavor_view(flavor, ctx.base_url), status_code=201)


@router.delete("/v1/flavors/{ident}", status_code=204)
def delete_flavor(ident: str, session: SessionDep, ctx: ContextDep) -> Response:
    policy.enforce(ctx, "flavor:delete")
    with writing(session):
        try:
            flavor = catalog.resolve_flavor(session, ident, "flavor")
        except errors.InvalidField as exc:
            raise errors.NotFound(exc.reason) from None
        session.delete(flavor)
    return Response(status_code=204)


# keypairs (per user, as in Nova)


def _get_keypair(session: Any, ctx: RequestContext, ident: str) -> models.Keypair:
    try:
        return catalog.resolve_keypair(session, ctx, ident, "keypair")
    except errors.InvalidField as exc:
        raise errors.NotFound(exc.reason) from None


@router.get("/v1/keypairs")
def list_keypairs(session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    policy.enforce(ctx, "catalog:get")
    rows = session.scalars(
        select(models.Keypair)
        .where(models.Keypair.user_id == ctx.user_id)
        .order_by(models.Keypair.id)
    )
    return {"keypairs": [keypair_view(k, ctx.base_url) for k in rows]}


@router.get("/v1/keypairs/{ident}")
def show_keypair(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    policy.enforce(ctx, "catalog:get")
    return keypair_view(_get_keypair(session, ctx, ident), ctx.base_url)


@router.post("/v1/keypairs", status_code=201)
def create_keypair(body: KeypairBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    policy.enforce(ctx, "catalog:create")
    with writing(session):
        taken = select(models.Keypair.id).where(
            models.Keypair.user_id == ctx.user_id, models.Keypair.name == body.name
        )
        if session.scalar(taken):
            raise errors.Conflict(f"Key pair '{body.name}' already exists.")
        keypair = models.Keypair(
            name=body.name,
            user_id=ctx.user_id,
            project_id=ctx.project_id,
            public_key=body.public_key,
            fingerprint=catalog.fingerprint(body.public_key) if body.public_key else None,
        )
        session.add(keypair)
        session.flush()
    return JSONResponse(keypair_view(keypair, ctx.base_url), status_code=201)


@router.delete("/v1/keypairs/{ident}", status_code=204)
def delete_keypair(ident: str, session: SessionDep, ctx: ContextDep) -> Response:
    policy.enforce(ctx, "catalog:delete")
    with writing(session):
        session.delete(_get_keypair(session, ctx, ident))
    return Response(status_code=204)


# networks


@router.get("/v1/networks")
def list_networks(session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    policy.enforce(ctx, "catalog:get")
    stmt = select(models.Network).order_by(models.Network.id)
    if (scope := catalog.visible_networks(ctx)) is not None:
        stmt = stmt.where(scope)
    return {"networks": [network_view(n, ctx.base_url) for n in session.scalars(stmt)]}


@router.get("/v1/networks/{ident}")
def show_network(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    policy.enforce(ctx, "catalog:get")
    net = get_by_ident(
        session, models.Network, ident, kind="Network", scope=catalog.visible_networks(ctx)
    )
    return network_view(net, ctx.base_url)


@router.post("/v1/networks", status_code=201)
def create_network(body: NetworkBody, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    policy.enforce(ctx, "catalog:create")
    if body.external or body.shared:
        policy.enforce(ctx, "flavor:create")  # external and shared networks are the operator's
    subnets = [{"uuid": models.new_uuid(), **s.model_dump()} for s in body.subnets]
    with writing(session):
        net = models.Network(
            name=body.name,
            project_id=ctx.project_id,
            external=body.external,
            shared=body.shared,
            subnets=subnets,
        )
        session.add(net)
        session.flush()
    return JSONResponse(network_view(net, ctx.base_url), status_code=201)


@router.delete("/v1/networks/{ident}", status_code=204)
def delete_network(ident: str, session: SessionDep, ctx: ContextDep) -> Response:
    with writing(session):
        net = get_by_ident(
            session, models.Network, ident, kind="Network", scope=catalog.visible_networks(ctx)
        )
        policy.enforce(ctx, "catalog:delete", policy.Target(net.project_id))
        for column in (
            models.ClusterTemplate.external_network_id,
            models.ClusterTemplate.fixed_network,
        ):
            if _in_use(session, column, net):
                raise errors.InvalidRequest(f"Network {net.name} is used by cluster templates.")
        session.delete(net)
    return Response(status_code=204)
