"""The infrastructure catalog Magnum borrows from Glance, Nova and Neutron, kept by cove:
images (with ``os_distro``), flavors, keypairs (per user) and networks. Templates and
clusters are checked against it as Magnum checks against those services."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session

from cove import errors, policy
from cove.db import models
from cove.db.session import duplicate_raises, writing
from cove.identity import Caller
from cove.services.lookup import PROJECT, Scope, get_by_ident, project_scope

_VISIBLE_IMAGES = or_(models.Image.public.is_(True), models.Image.project_id == PROJECT)
_VISIBLE_NETWORKS = or_(
    models.Network.shared.is_(True),
    models.Network.external.is_(True),
    models.Network.project_id == PROJECT,
)
_FLAVOR = select(models.Flavor).where(
    or_(models.Flavor.name == bindparam("ident"), models.Flavor.uuid == bindparam("ident"))
)


def visible_images(caller: Caller) -> Scope | None:
    return project_scope(_VISIBLE_IMAGES, caller)


def visible_networks(caller: Caller) -> Scope | None:
    return project_scope(_VISIBLE_NETWORKS, caller)


def _field_error(field: str, value: str, exc: errors.CoveError) -> errors.CoveError:
    if isinstance(exc, errors.NotFound):
        return errors.InvalidField(field, value, exc.message)
    return exc


def resolve_image(
    session: Session, caller: Caller, ident: str, field: str = "image_id"
) -> models.Image:
    try:
        image = get_by_ident(
            session, models.Image, ident, kind="Image", scope=visible_images(caller)
        )
    except errors.NotFound:
        raise errors.InvalidField(field, ident, f"Image {ident} could not be found.") from None
    if not image.os_distro:
        raise errors.InvalidField(field, ident, f"Image {ident} doesn't contain os_distro field.")
    return image


def resolve_flavor(session: Session, ident: str, field: str) -> models.Flavor:
    flavor = session.scalar(_FLAVOR, {"ident": ident})  # built once, as lookups are
    if flavor is None:
        names = sorted(session.scalars(select(models.Flavor.name)))
        raise errors.InvalidField(field, ident, f"Flavor {ident} could not be found.", names)
    return flavor


class KeypairNotFound(errors.NotFound):
    """Magnum's KeyPairNotFound: a 404 on cluster create (a template's keypair_id is a 400)."""


def resolve_keypair(
    session: Session, caller: Caller, ident: str, field: str, *, missing_is_404: bool = False
) -> models.Keypair:
    stmt = select(models.Keypair).where(
        models.Keypair.user_id == caller.user_id,
        or_(models.Keypair.name == ident, models.Keypair.uuid == ident),
    )
    keypair = session.scalar(stmt)
    if keypair is None:
        if missing_is_404:
            raise KeypairNotFound(f"Unable to find keypair {ident}.")
        raise errors.InvalidField(field, ident, f"Unable to find keypair {ident}.")
    return keypair


def resolve_network(
    session: Session, caller: Caller, ident: str, field: str, *, external: bool = False
) -> models.Network:
    try:
        net = get_by_ident(
            session, models.Network, ident, kind="Network", scope=visible_networks(caller)
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


# The catalog's own resources: commands, reads and writes behind /v1/images, /v1/flavors,
# /v1/keypairs and /v1/networks.


@dataclass(frozen=True)
class NewImage:
    name: str
    os_distro: str
    node_image: str | None = None
    properties: dict[str, str] | None = None
    public: bool = False


@dataclass(frozen=True)
class NewFlavor:
    name: str
    vcpus: int
    ram: int
    disk: int


@dataclass(frozen=True)
class NewKeypair:
    name: str
    public_key: str | None = None


@dataclass(frozen=True)
class NewNetwork:
    name: str
    external: bool = False
    shared: bool = False
    subnets: list[dict[str, str]] = field(default_factory=list)


def _in_use(session: Session, column: Any, row: Any) -> bool:
    return bool(session.scalar(select(exists().where(or_(column == row.uuid, column == row.name)))))


def list_images(session: Session, caller: Caller) -> list[models.Image]:
    policy.enforce(caller, "catalog:get")
    stmt = select(models.Image).order_by(models.Image.id)
    if (scope := visible_images(caller)) is not None:
        stmt = scope.apply(stmt)
    return list(session.scalars(stmt))


def show_image(session: Session, caller: Caller, ident: str) -> models.Image:
    policy.enforce(caller, "catalog:get")
    return get_by_ident(session, models.Image, ident, kind="Image", scope=visible_images(caller))


def create_image(session: Session, caller: Caller, new: NewImage) -> models.Image:
    policy.enforce(caller, "catalog:create")
    if new.public:
        policy.enforce(caller, "flavor:create")  # publishing an image is the operator's call
    values = {k: v for k, v in asdict(new).items() if v is not None}
    with writing(session):
        image = models.Image(project_id=caller.project_id, **values)
        session.add(image)
        session.flush()
    return image


def delete_image(session: Session, caller: Caller, ident: str) -> None:
    with writing(session):
        image = get_by_ident(
            session, models.Image, ident, kind="Image", scope=visible_images(caller)
        )
        policy.enforce(caller, "catalog:delete", policy.Target(image.project_id))
        if _in_use(session, models.ClusterTemplate.image_id, image):
            raise errors.InvalidRequest(f"Image {image.name} is used by cluster templates.")
        session.delete(image)


def list_flavors(session: Session, caller: Caller) -> list[models.Flavor]:
    policy.enforce(caller, "catalog:get")
    return list(
        session.scalars(select(models.Flavor).order_by(models.Flavor.ram, models.Flavor.id))
    )


def _get_flavor(session: Session, ident: str) -> models.Flavor:
    try:
        return resolve_flavor(session, ident, "flavor")
    except errors.InvalidField as exc:
        raise errors.NotFound(exc.reason) from None


def show_flavor(session: Session, caller: Caller, ident: str) -> models.Flavor:
    policy.enforce(caller, "catalog:get")
    return _get_flavor(session, ident)


def create_flavor(session: Session, caller: Caller, new: NewFlavor) -> models.Flavor:
    policy.enforce(caller, "flavor:create")
    taken = errors.Conflict(f"Flavor {new.name} already exists.")
    with writing(session), duplicate_raises(taken):
        flavor = models.Flavor(**asdict(new))
        session.add(flavor)
        session.flush()
    return flavor


def delete_flavor(session: Session, caller: Caller, ident: str) -> None:
    policy.enforce(caller, "flavor:delete")
    with writing(session):
        session.delete(_get_flavor(session, ident))


def _get_keypair(session: Session, caller: Caller, ident: str) -> models.Keypair:
    """Keypairs are per user, as in Nova."""
    try:
        return resolve_keypair(session, caller, ident, "keypair")
    except errors.InvalidField as exc:
        raise errors.NotFound(exc.reason) from None


def list_keypairs(session: Session, caller: Caller) -> list[models.Keypair]:
    policy.enforce(caller, "catalog:get")
    return list(
        session.scalars(
            select(models.Keypair)
            .where(models.Keypair.user_id == caller.user_id)
            .order_by(models.Keypair.id)
        )
    )


def show_keypair(session: Session, caller: Caller, ident: str) -> models.Keypair:
    policy.enforce(caller, "catalog:get")
    return _get_keypair(session, caller, ident)


def create_keypair(session: Session, caller: Caller, new: NewKeypair) -> models.Keypair:
    policy.enforce(caller, "catalog:create")
    taken = errors.Conflict(f"Key pair '{new.name}' already exists.")
    with writing(session), duplicate_raises(taken):
        keypair = models.Keypair(
            name=new.name,
            user_id=caller.user_id,
            project_id=caller.project_id,
            public_key=new.public_key,
            fingerprint=fingerprint(new.public_key) if new.public_key else None,
        )
        session.add(keypair)
        session.flush()
    return keypair


def delete_keypair(session: Session, caller: Caller, ident: str) -> None:
    policy.enforce(caller, "catalog:delete")
    with writing(session):
        session.delete(_get_keypair(session, caller, ident))


def list_networks(session: Session, caller: Caller) -> list[models.Network]:
    policy.enforce(caller, "catalog:get")
    stmt = select(models.Network).order_by(models.Network.id)
    if (scope := visible_networks(caller)) is not None:
        stmt = scope.apply(stmt)
    return list(session.scalars(stmt))


def show_network(session: Session, caller: Caller, ident: str) -> models.Network:
    policy.enforce(caller, "catalog:get")
    return get_by_ident(
        session, models.Network, ident, kind="Network", scope=visible_networks(caller)
    )


def create_network(session: Session, caller: Caller, new: NewNetwork) -> models.Network:
    policy.enforce(caller, "catalog:create")
    if new.external or new.shared:
        policy.enforce(caller, "flavor:create")  # external and shared networks are the operator's
    subnets = [{"uuid": models.new_uuid(), **s} for s in new.subnets]
    with writing(session):
        net = models.Network(
            name=new.name,
            project_id=caller.project_id,
            external=new.external,
            shared=new.shared,
            subnets=subnets,
        )
        session.add(net)
        session.flush()
    return net


def delete_network(session: Session, caller: Caller, ident: str) -> None:
    with writing(session):
        net = get_by_ident(
            session, models.Network, ident, kind="Network", scope=visible_networks(caller)
        )
        policy.enforce(caller, "catalog:delete", policy.Target(net.project_id))
        for column in (
            models.ClusterTemplate.external_network_id,
            models.ClusterTemplate.fixed_network,
        ):
            if _in_use(session, column, net):
                raise errors.InvalidRequest(f"Network {net.name} is used by cluster templates.")
        session.delete(net)


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
