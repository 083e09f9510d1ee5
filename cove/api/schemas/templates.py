"""Cluster template (baymodel) request bodies and Magnum's response shape."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from cove.api.links import links
from cove.api.schemas.common import (
    WHOLE,
    Bool,
    Labels,
    Positive,
    Str255,
    Strict,
    Uuid4,
    refuse_read_only,
    revalidate,
    stringify_labels,
    timestamp,
)
from cove.db import models
from cove.domain.coes import Coe, ServerType
from cove.services.templates import ParseSpec, TemplateSpec, template_values

PATCHED_INTEGERS = ("docker_volume_size", "apiserver_port")
READ_ONLY = frozenset({"id", "project_id", "user_id", "created_at", "updated_at", "links"})


class TemplateFields(Strict):
    """Every writable attribute. Nulls mean "not set" (OSC sends every key)."""

    uuid: Uuid4 | None = None
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
    apiserver_port: Annotated[int, Field(strict=True, ge=1024, le=65535), WHOLE] | None = None
    docker_volume_size: Positive | None = None
    docker_storage_driver: Str255 | None = None
    http_proxy: Str255 | None = None
    https_proxy: Str255 | None = None
    no_proxy: Str255 | None = None
    insecure_registry: Str255 | None = None
    registry_enabled: Bool | None = None
    tls_disabled: Bool | None = None
    public: Bool | None = None
    hidden: Bool | None = None
    master_lb_enabled: Bool | None = None
    floating_ip_enabled: Bool | None = None
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

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        """A baymodel has no driver attribute: the document does not offer one."""
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        handler.resolve_ref_schema(schema).get("properties", {}).pop("driver", None)
        return schema


def to_spec(body: TemplateFields) -> TemplateSpec:
    uuid = str(body.uuid) if body.uuid is not None else None
    return TemplateSpec(body.model_dump(exclude={"uuid"}), uuid)


def spec_parser(model: type[TemplateFields]) -> ParseSpec:
    """Validates a patched template as the request body ``model`` would be."""

    def parse(document: dict[str, Any]) -> TemplateSpec:
        # The clients send every patch value as text ("docker_volume_size=5" is "5"), and
        # Magnum converts it: so does cove, for the integer attributes only.
        for key in PATCHED_INTEGERS:
            value = document.get(key)
            if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
                document[key] = int(value)
        return to_spec(revalidate(model, document))

    return parse


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
