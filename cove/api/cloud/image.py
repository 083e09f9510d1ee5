"""Glance's v2 API, the parts that read images (and the schemas glanceclient builds its
models from)."""

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
VERSION = {"id": "v2.16", "status": "CURRENT"}
# What glanceclient's schema-built model accepts: the fields below, and any string property
# (os_distro and the image's own properties).
IMAGE_SCHEMA: dict[str, Any] = {
    "name": "image",
    "properties": {
        name: {"type": kind}
        for name, kind in (
            ("id", "string"), ("name", ["null", "string"]), ("status", "string"),
            ("visibility", "string"), ("protected", "boolean"), ("os_hidden", "boolean"),
            ("owner", ["null", "string"]), ("disk_format", ["null", "string"]),
            ("container_format", ["null", "string"]), ("size", ["null", "integer"]),
            ("virtual_size", ["null", "integer"]), ("min_disk", "integer"),
            ("min_ram", "integer"), ("checksum", ["null", "string"]), ("tags", "array"),
            ("created_at", "string"), ("updated_at", "string"), ("self", "string"),
            ("file", "string"), ("schema", "string"), ("os_distro", ["null", "string"]),
        )
    },
    "additionalProperties": {"type": "string"},
    "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
              {"rel": "describedby", "href": "{schema}"}],
}  # fmt: skip


@router.get("")
@router.get("/")
@router.get("/versions")
def versions(request: Request) -> dict[str, Any]:
    href = str(request.base_url).rstrip("/") + f"{PREFIX}/image/v2/"
    return {"versions": [{**VERSION, "links": [{"rel": "self", "href": href}]}]}


def _image(i: models.Image) -> dict[str, Any]:
    extra = {str(k): str(v) for k, v in (i.properties or {}).items() if k not in IMAGE_SCHEMA}
    return {
        **extra,
        "id": i.uuid, "name": i.name, "status": "active",
        "visibility": "public" if i.public else "private", "protected": False,
        "os_hidden": False, "owner": i.project_id, "disk_format": "raw",
        "container_format": "docker", "size": None, "virtual_size": None, "min_disk": 0,
        "min_ram": 0, "checksum": None, "tags": [], "os_distro": i.os_distro,
        "created_at": timestamp(i.created_at), "updated_at": timestamp(i.updated_at),
        "self": f"/v2/images/{i.uuid}", "file": f"/v2/images/{i.uuid}/file",
        "schema": "/v2/schemas/image",
    }  # fmt: skip


@router.get("/v2/images")
def images(session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    """Every visible image in one page (cove's catalog is small): no ``next`` link."""
    listed = [_image(i) for i in catalog.list_images(session, caller)]
    return {"images": listed, "schema": "/v2/schemas/images", "first": "/v2/images"}


@router.get("/v2/images/{ident}")
def image(ident: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return _image(catalog.show_image(session, caller, ident))


@router.get("/v2/schemas/image")
def image_schema() -> dict[str, Any]:
    return IMAGE_SCHEMA


@router.get("/v2/schemas/images")
def images_schema() -> dict[str, Any]:
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": IMAGE_SCHEMA},
            "schema": {"type": "string"}, "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }  # fmt: skip
