"""The infrastructure catalog Magnum borrows from Glance, Nova and Neutron, kept by cove:
images (with ``os_distro``), flavors, keypairs (per user) and networks. Templates and
clusters are checked against it as Magnum checks against those services."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cove import errors
from cove.api.context import RequestContext
from cove.db import models
from cove.services.lookup import get_by_ident


def visible_images(ctx: RequestContext) -> Any:
    if ctx.is_admin:
        return None
    return or_(models.Image.public.is_(True), models.Image.project_id == ctx.project_id)


def visible_networks(ctx: RequestContext) -> Any:
    if ctx.is_admin:
        return None
    return or_(
        models.Network.shared.is_(True),
        models.Network.external.is_(True),
        models.Network.project_id == ctx.project_id,
    )


def _field_error(field: str, value: str, exc: errors.CoveError) -> errors.CoveError:
    if isinstance(exc, errors.NotFound):
        return errors.InvalidField(field, value, exc.message)
    return exc


def resolve_image(
    session: Session, ctx: RequestContext, ident: str, field: str = "image_id"
) -> models.Image:
    try:
        image = get_by_ident(session, models.Image, ident, kind="Image", scope=visible_images(ctx))
    except errors.NotFound:
        raise errors.InvalidField(field, ident, f"Image {ident} could not be found.") from None
    if not image.os_distro:
        raise errors.InvalidField(field, ident, f"Image {ident} doesn't contain os_distro field.")
    return image


def resolve_flavor(session: Session, ident: str, field: str) -> models.Flavor:
    stmt = select(models.Flavor).where(
        or_(models.Flavor.name == ident, models.Flavor.uuid == ident)
    )
    flavor = session.scalar(stmt)
    if flavor is None:
        names = sorted(session.scalars(select(models.Flavor.name)))
        raise errors.InvalidField(field, ident, f"Flavor {ident} could not be found.", names)
    return flavor


def resolve_keypair(
    session: Session, ctx: RequestContext, ident: str, field: str
) -> models.Keypair:
    stmt = select(models.Keypair).where(
        models.Keypair.user_id == ctx.user_id,
        or_(models.Keypair.name == ident, models.Keypair.uuid == ident),
    )
    keypair = session.scalar(stmt)
    if keypair is None:
        raise errors.InvalidField(field, ident, f"Unable to find keypair {ident}.")
    return keypair


def resolve_network(
    session: Session, ctx: RequestContext, ident: str, field: str, *, external: bool = False
) -> models.Network:
    try:
        net = get_by_ident(
            session, models.Network, ident, kind="Network", scope=visible_networks(ctx)
        )
    except errors.NotFound:
        noun = "External network" if external else "Network"
        raise errors.InvalidField(field, ident, f"{noun} {ident} could not be found.") from None
    except errors.Conflict as exc:
        raise errors.Conflict(f"{field}: {exc.message}") from None
    if external and not net.external:
        raise errors.InvalidField(field, ident, f"Network {ident} is not an external network.")
    return net


def resolve_subnet(network: models.Network | None, ident: str, field: str) -> dict[str, Any]:
    subnets = network.subnets if network is not None else []
    for subnet in subnets:
        if ident in (subnet.get("uuid"), subnet.get("name"), subnet.get("cidr")):
            return dict(subnet)
    where = f" in network {network.name}" if network is not None else ""
    raise errors.InvalidField(field, ident, f"Subnet {ident} could not be found{where}.")


def fingerprint(public_key: str) -> str:
    try:
        blob = base64.b64decode(public_key.split()[1])
    except (IndexError, ValueError):
        raise errors.InvalidField(
            "public_key", public_key[:40], "Not an OpenSSH public key."
        ) from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def register_node_image(
    session: Session, *, name: str, node_image: str, os_distro: str, version: str
) -> models.Image:
    """Upsert the public catalog image ``name`` pointing at the built ``node_image`` (a docker
    image reference), so templates can name it as image_id. The caller owns the transaction."""
    row = session.scalar(
        select(models.Image)
        .where(models.Image.name == name, models.Image.project_id == "")
        .order_by(models.Image.id)
        .limit(1)
    )
    if row is None:
        row = models.Image(name=name, project_id="")
        session.add(row)
    row.os_distro = os_distro
    row.node_image = node_image
    row.properties = {**(row.properties or {}), "version": version}
    row.public = True
    session.flush()
    return row
