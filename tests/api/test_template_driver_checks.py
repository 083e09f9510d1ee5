"""A driver's own template checks run at the API, before anything is stored: the swarm-mode
driver's nodes keep their engine's storage on tmpfs, so it refuses storage drivers that
cannot work there (naming the allowed ones) and says how it serves Magnum's old defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cove.drivers.swarm_mode import SwarmModeDriver
from cove.providers.memory import MemoryProvider
from tests.conftest import Api, error_detail, template_body


@pytest.fixture
def swarm_api(make_api: Callable[..., Api]) -> Api:
    api = make_api(drivers=[SwarmModeDriver(MemoryProvider())])
    image = {"name": "debian", "os_distro": "debian", "node_image": "cove/node:x", "public": True}
    assert api.post("/v1/images", json=image).status_code == 201
    return api


def _body(**overrides: Any) -> dict[str, Any]:
    return template_body(image_id="debian", keypair_id=None, **overrides)


def test_a_storage_driver_that_cannot_work_in_a_node_is_refused(swarm_api: Api) -> None:
    resp = swarm_api.post("/v1/clustertemplates", json=_body(docker_storage_driver="btrfs"))
    assert resp.status_code == 400
    detail = error_detail(resp)
    assert "docker_storage_driver" in detail and "'btrfs'" in detail
    assert "overlay2, vfs" in detail
    assert swarm_api.get("/v1/clustertemplates").json()["clustertemplates"] == []


def test_magnum_defaults_are_accepted_with_a_warning(swarm_api: Api) -> None:
    resp = swarm_api.post(
        "/v1/clustertemplates",
        json=_body(docker_storage_driver="devicemapper", docker_volume_size=3),
    )
    assert resp.status_code == 201, resp.text
    assert "devicemapper is served as overlay2" in resp.headers["Cove-Warning"]
    plain = swarm_api.post("/v1/clustertemplates", json=_body(name="plain"))
    assert "Cove-Warning" not in plain.headers


def test_an_update_is_checked_too_and_changes_nothing_when_refused(swarm_api: Api) -> None:
    assert swarm_api.post("/v1/clustertemplates", json=_body()).status_code == 201
    patch = [{"op": "replace", "path": "/docker_storage_driver", "value": "zfs"}]
    resp = swarm_api.patch("/v1/clustertemplates/swarm-tpl", json=patch)
    assert resp.status_code == 400
    assert "overlay2, vfs" in error_detail(resp)
    shown = swarm_api.get("/v1/clustertemplates/swarm-tpl").json()
    assert shown["docker_storage_driver"] in (None, "overlay2")


def test_templates_no_driver_serves_are_not_checked_by_one(api: Api, catalog: Any) -> None:
    resp = api.post("/v1/clustertemplates", json=template_body(docker_storage_driver="btrfs"))
    assert resp.status_code == 201, resp.text
