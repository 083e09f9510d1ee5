"""Cluster template (baymodel) request bodies and Magnum's response shape."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import UUID4, Field, StringConstraints

from cove.api.links import links
from cove.api.schemas.common import Labels, Strict, refuse_read_only, stringify_labels, timestamp
from cove.db import models
from cove.domain.coes import Coe, ServerType

Str255 = Annotated[str, StringConstraints(min_length=1, max_length=255)]

READ_ONLY = frozenset({"id", "project_id", "user_id", "created_at", "updated_at", "links"})


class TemplateFields(Strict):
    """Every writable attribute. Nulls mean "not set" (OSC sends every key)."""

    uuid: UUID4 | None = None
    name: Str255 | None = None
    coe: Coe
    image_id: Str255
    flavor_id: Str255 | None = None
    master_flavor_id: Str255 | None = None
    keypair_id: Str255 | None = None
    external_network_id: Str255 | None = None
    fixed_network: Str255 | None = None
    fixed_subnet: Str255 | None = None
    network_driver: Str255 | None = None
    volume_driver: Str255 | None = None
    dns_nameserver: Str255 | None = None
    apiserver_port: Annotated[int, Field(ge=1024, le=65535)] | None = None
    docker_volume_size: Annotated[int, Field(ge=1)] | None = None
    docker_storage_driver: Str255 | None = None
    http_proxy: Str255 | None = None
    https_proxy: Str255 | None = None
    no_proxy: Str255 | None = None
    insecure_registry: Str255 | None = None
    registry_enabled: bool | None = None
    tls_disabled: bool | None = None
    public: bool | None = None
    hidden: bool | None = None
    master_lb_enabled: bool | None = None
    floating_ip_enabled: bool | None = None
    server_type: ServerType | None = None
    labels: Labels | None = None
    tags: Annotated[str, StringConstraints(max_length=255)] | None = None
    driver: Str255 | None = None
    # Derived from the image; a sent value is overwritten, as in Magnum.
    cluster_distro: str | None = None

    _read_only = refuse_read_only(READ_ONLY)


class BaymodelFields(TemplateFields):
    keypair_id: Str255  # mandatory for baymodels

    _read_only = refuse_read_only(READ_ONLY | {"driver"})


BOOL_DEFAULTS = {
    "registry_enabled": False,
    "tls_disabled": False,
    "public": False,
    "hidden": False,
    "master_lb_enabled": False,
    "floating_ip_enabled": True,
}

VIEW_FIELDS = (
    "insecure_registry",
    "http_proxy",
    "floating_ip_enabled",
    "fixed_subnet",
    "master_flavor_id",
    "uuid",
    "no_proxy",
    "https_proxy",
    "tls_disabled",
    "keypair_id",
    "public",
    "labels",
    "docker_volume_size",
    "server_type",
    "external_network_id",
    "cluster_distro",
    "image_id",
    "volume_driver",
    "registry_enabled",
    "docker_storage_driver",
    "apiserver_port",
    "name",
    "network_driver",
    "fixed_network",
    "coe",
    "flavor_id",
    "master_lb_enabled",
    "dns_nameserver",
    "hidden",
    "tags",
)


def template_values(t: models.ClusterTemplate) -> dict[str, Any]:
    """The patchable document of a template (what JSON-patch operates on)."""
    values = {name: getattr(t, name) for name in VIEW_FIELDS}
    values["labels"] = dict(t.labels or {})
    values["driver"] = t.driver
    return values


def template_view(t: models.ClusterTemplate, base_url: str, *, bay: bool = False) -> dict[str, Any]:
    view = template_values(t)
    view["labels"] = stringify_labels(t.labels)
    coll = "baymodels" if bay else "clustertemplates"
    view["links"] = links(base_url, f"{coll}/{t.uuid}")
    view["created_at"] = timestamp(t.created_at)
    view["updated_at"] = timestamp(t.updated_at)
    if bay:
        view.pop("driver")
    else:
        view["project_id"] = t.project_id
        view["user_id"] = t.user_id
    return view
