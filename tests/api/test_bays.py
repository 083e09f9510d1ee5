"""The legacy /v1/baymodels and /v1/bays (Magnum before 1.11, python-magnumclient <= 3.7):
templates and clusters under their old names and field names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, error_detail, template_body

Catalog = dict[str, Any]
BAYMODEL_FIELDS = {
    "insecure_registry", "http_proxy", "floating_ip_enabled", "fixed_subnet", "master_flavor_id",
    "uuid", "no_proxy", "https_proxy", "tls_disabled", "keypair_id", "public", "labels",
    "docker_volume_size", "server_type", "external_network_id", "cluster_distro", "image_id",
    "volume_driver", "registry_enabled", "docker_storage_driver", "apiserver_port", "name",
    "network_driver", "fixed_network", "coe", "flavor_id", "master_lb_enabled", "dns_nameserver",
    "hidden", "tags", "links", "created_at", "updated_at",
}  # fmt: skip
BAY_FIELDS = {
    "uuid", "name", "baymodel_id", "node_count", "master_count", "docker_volume_size", "labels",
    "master_flavor_id", "flavor_id", "bay_create_timeout", "links", "stack_id", "status",
    "status_reason", "discovery_url", "api_address", "coe_version", "container_version",
    "node_addresses", "master_addresses", "bay_faults", "fixed_network", "fixed_subnet",
    "floating_ip_enabled", "master_lb_enabled", "created_at", "updated_at",
}  # fmt: skip
BAY_LIST_FIELDS = {
    "uuid", "name", "baymodel_id", "docker_volume_size", "labels", "master_flavor_id",
    "flavor_id", "node_count", "status", "bay_create_timeout", "master_count", "stack_id",
    "links",
}  # fmt: skip


@pytest.fixture
def old(api: Api) -> Api:
    """The last microversion that had bays."""
    return api.at("1.10")


def _baymodel_body(**overrides: Any) -> dict[str, Any]:
    body = template_body(name="bm", **overrides)
    del body["public"]
    return body


def _baymodel(old: Api, **overrides: Any) -> dict[str, Any]:
    response = old.post("/v1/baymodels", json=_baymodel_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _baymodel_names(old: Api) -> list[str]:
    return [b["name"] for b in old.get("/v1/baymodels").json()["baymodels"]]


def _bay(api: Api, name: str = "b1", **body: Any) -> str:
    response = api.at("1.2").post("/v1/bays", json={"name": name, "baymodel_id": "bm", **body})
    assert response.status_code == 202, response.text
    return str(response.json()["uuid"])


def test_baymodel_needs_a_keypair(old: Api, catalog: Catalog) -> None:
    body = _baymodel_body()
    del body["keypair_id"]
    response = old.post("/v1/baymodels", json=body)
    assert response.status_code == 400
    assert "keypair_id" in error_detail(response)
    assert "Mandatory field missing" in error_detail(response)
    assert _baymodel_names(old) == []


def test_baymodel_create_answers_201_without_project_or_driver(old: Api, catalog: Catalog) -> None:
    response = old.post("/v1/baymodels", json=_baymodel_body(labels={"n": 1}))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == BAYMODEL_FIELDS  # no project_id, user_id or driver
    uuid = body["uuid"]
    assert response.headers["Location"] == f"http://testserver/v1/baymodels/{uuid}"
    assert body["links"] == [
        {"href": f"http://testserver/v1/baymodels/{uuid}", "rel": "self"},
        {"href": f"http://testserver/baymodels/{uuid}", "rel": "bookmark"},
    ]
    assert body["keypair_id"] == "kp" and body["labels"] == {"n": "1"}
    for field in ("project_id", "driver"):
        refused = old.post("/v1/baymodels", json=_baymodel_body(**{field: "x"}))
        assert refused.status_code == 400, field
        assert field in error_detail(refused)
    assert _baymodel_names(old) == ["bm"]


def test_baymodel_list_show_patch_delete(old: Api, catalog: Catalog) -> None:
    created = _baymodel(old)
    listed = old.get("/v1/baymodels").json()
    assert listed == {"baymodels": [created]}
    assert old.get("/v1/baymodels/detail").json() == listed
    assert old.get("/v1/baymodels/bm").json() == created
    assert old.get(f"/v1/baymodels/{created['uuid']}").json() == created
    patched = old.patch(
        "/v1/baymodels/bm",
        json=[
            {"op": "replace", "path": "/docker_volume_size", "value": 5},
            {"op": "add", "path": "/labels/k", "value": "v"},
        ],
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["docker_volume_size"] == 5 and patched.json()["labels"] == {"k": "v"}
    assert set(patched.json()) == BAYMODEL_FIELDS
    internal = old.patch(
        "/v1/baymodels/bm", json=[{"op": "replace", "path": "/uuid", "value": "x"}]
    )
    assert internal.status_code == 400 and "internal attribute" in error_detail(internal)
    deleted = old.delete("/v1/baymodels/bm")
    assert deleted.status_code == 204
    assert old.get("/v1/baymodels/bm").status_code == 404
    assert _baymodel_names(old) == []


def test_baymodel_is_the_same_object_as_a_cluster_template(old: Api, catalog: Catalog) -> None:
    created = _baymodel(old)
    template = old.get(f"/v1/clustertemplates/{created['uuid']}").json()
    assert template["name"] == "bm" and template["project_id"] == "admin"


def test_bay_create_at_1_1_answers_201_with_the_full_bay(
    api: Api, old: Api, catalog: Catalog
) -> None:
    _baymodel(old)
    body = {
        "name": "b1", "baymodel_id": "bm", "node_count": 2, "master_count": 1,
        "discovery_url": None, "bay_create_timeout": 30,
    }  # fmt: skip
    response = api.at("1.1").post("/v1/bays", json=body)
    assert response.status_code == 201, response.text
    bay = response.json()
    assert set(bay) == BAY_FIELDS
    assert bay["name"] == "b1" and bay["node_count"] == 2 and bay["bay_create_timeout"] == 30
    baymodel_uuid = old.get("/v1/baymodels/bm").json()["uuid"]
    assert bay["baymodel_id"] == baymodel_uuid and bay["stack_id"] == bay["uuid"]
    assert bay["status"] == "CREATE_IN_PROGRESS" and bay["bay_faults"] == {}
    assert bay["links"][0] == {"href": f"http://testserver/v1/bays/{bay['uuid']}", "rel": "self"}


def test_bay_create_from_1_2_answers_202_with_the_uuid(
    api: Api, old: Api, catalog: Catalog
) -> None:
    _baymodel(old)
    for version in ("1.2", "1.3", "1.10"):
        response = api.at(version).post(
            "/v1/bays", json={"name": f"b{version}", "baymodel_id": "bm"}
        )
        assert response.status_code == 202, version
        assert set(response.json()) == {"uuid"}
    assert len(old.get("/v1/bays").json()["bays"]) == 3


def test_bay_create_needs_a_known_baymodel(old: Api, catalog: Catalog) -> None:
    _baymodel(old)
    for body, fragment in (
        ({"name": "b1", "baymodel_id": "nope"}, "baymodel_id"),
        ({"name": "b1"}, "baymodel_id"),
        ({"name": "b1", "baymodel_id": "bm", "node_count": 0}, "node_count"),
        ({"name": "b1", "baymodel_id": "bm", "create_timeout": 5}, "create_timeout"),
    ):
        response = old.post("/v1/bays", json=body)
        assert response.status_code == 400, body
        assert fragment in error_detail(response), (body, error_detail(response))
    for version in ("1.1", "1.2", "1.9"):  # 400 at every version, unlike clusters
        response = old.at(version).post("/v1/bays", json={"name": "b1", "baymodel_id": "nope"})
        assert response.status_code == 400, version
        assert "baymodel_id" in error_detail(response), version
        assert "ClusterTemplate nope could not be found" in error_detail(response), version
    assert old.get("/v1/bays").json() == {"bays": []}


def test_bay_list_and_show_use_the_bay_field_names(old: Api, catalog: Catalog) -> None:
    _baymodel(old)
    uuid = _bay(old, bay_create_timeout=45)
    _bay(old, "b2")
    old.settle()
    listed = old.get("/v1/bays").json()["bays"]
    assert [b["name"] for b in listed] == ["b1", "b2"]
    for bay in listed:
        assert set(bay) == BAY_LIST_FIELDS
    assert [b["bay_create_timeout"] for b in listed] == [45, 60]
    detail = old.get("/v1/bays/detail").json()["bays"]
    assert {frozenset(b) for b in detail} == {frozenset(BAY_FIELDS)}
    shown = old.get("/v1/bays/b1").json()
    assert set(shown) == BAY_FIELDS and shown["uuid"] == uuid
    assert shown["status"] == "CREATE_COMPLETE" and shown["api_address"]
    assert shown["bay_create_timeout"] == 45 and shown["bay_faults"] == {}
    assert old.get(f"/v1/bays/{uuid}").json() == shown


def test_failed_bay_reports_bay_faults(old: Api, catalog: Catalog) -> None:
    assert old.post("/v1/images", json={"name": "centos", "os_distro": "centos"}).status_code == 201
    _baymodel(old, image_id="centos")  # no driver serves (vm, centos, swarm-mode)
    _bay(old)
    old.settle()
    shown = old.get("/v1/bays/b1").json()
    assert shown["status"] == "CREATE_FAILED"
    assert "(vm, centos, swarm-mode)" in shown["status_reason"]
    assert shown["bay_faults"]
    assert all(reason == shown["status_reason"] for reason in shown["bay_faults"].values())
    assert "faults" not in shown


def test_bay_patch_answers_by_microversion(api: Api, old: Api, catalog: Catalog) -> None:
    _baymodel(old)
    _bay(old)
    old.settle()
    at_11 = api.at("1.1").patch(
        "/v1/bays/b1", json=[{"op": "replace", "path": "/node_count", "value": 2}]
    )
    assert at_11.status_code == 200
    assert set(at_11.json()) == BAY_FIELDS and at_11.json()["node_count"] == 2
    old.settle()
    at_12 = api.at("1.2").patch(
        "/v1/bays/b1", json=[{"op": "replace", "path": "/node_count", "value": 3}]
    )
    assert at_12.status_code == 202 and set(at_12.json()) == {"uuid"}
    old.settle()
    for version in ("1.1", "1.2"):  # rollback came with 1.3
        early = api.at(version).patch(
            "/v1/bays/b1?rollback=True", json=[{"op": "replace", "path": "/node_count", "value": 5}]
        )
        assert early.status_code == 400, version
        assert error_detail(early) == 'Unknown argument: "rollback"'
    assert old.get("/v1/bays/b1").json()["node_count"] == 3
    at_13 = api.at("1.3").patch(
        "/v1/bays/b1?rollback=True", json=[{"op": "replace", "path": "/node_count", "value": 1}]
    )
    assert at_13.status_code == 202
    old.settle()
    assert old.get("/v1/bays/b1").json()["node_count"] == 1
    name = old.patch("/v1/bays/b1", json=[{"op": "replace", "path": "/name", "value": "x"}])
    assert name.status_code == 400 and "cannot change" in error_detail(name)


def test_bay_delete(old: Api, catalog: Catalog) -> None:
    _baymodel(old)
    uuid = _bay(old)
    old.settle()
    assert old.delete("/v1/bays/b1").status_code == 204
    assert old.get(f"/v1/bays/{uuid}").json()["status"] == "DELETE_IN_PROGRESS"
    old.settle()
    assert old.get(f"/v1/bays/{uuid}").status_code == 404
    assert old.get("/v1/bays").json() == {"bays": []}
    assert old.delete("/v1/baymodels/bm").status_code == 204


def test_bays_and_baymodels_are_served_at_every_microversion(
    api: Api, old: Api, catalog: Catalog
) -> None:
    # Magnum removed them at 1.11, but python-magnumclient 3.7 (the last client with bay-*
    # commands) always sends `latest`: cove keeps them so that client keeps working.
    _baymodel(old)
    _bay(old)
    for version in ("1.11", "1.14", "latest"):
        new = api.at(version)
        assert new.get("/v1/baymodels/bm").json()["name"] == "bm", version
        assert "b1" in [b["name"] for b in new.get("/v1/bays").json()["bays"]], version
        created = new.post("/v1/bays", json={"name": f"b-{version}", "baymodel_id": "bm"})
        assert created.status_code == 202 and set(created.json()) == {"uuid"}, version
