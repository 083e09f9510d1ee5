"""Clusters through the API: create, show, list, resize, upgrade, delete, and the 409 for a
second write while an operation runs."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, error_detail, template_body


def _cluster(api: Api, catalog: dict[str, Any], **body: Any) -> dict[str, Any]:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    created = api.post(
        "/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl", **body}
    )
    assert created.status_code == 202, created.text
    assert set(created.json()) == {"uuid"}
    return created.json()


def test_create_reaches_complete_with_addresses(api: Api, catalog: dict[str, Any]) -> None:
    uuid = _cluster(api, catalog, node_count=2)["uuid"]
    shown = api.get(f"/v1/clusters/{uuid}").json()
    assert shown["status"] == "CREATE_IN_PROGRESS"
    assert api.settle() == 1
    shown = api.get("/v1/clusters/c1").json()
    assert shown["status"] == "CREATE_COMPLETE"
    assert shown["node_count"] == 2 and shown["master_count"] == 1
    assert len(shown["node_addresses"]) == 2 and len(shown["master_addresses"]) == 1
    assert shown["api_address"] and shown["coe_version"]
    assert shown["cluster_id"] == uuid and "stack_id" not in shown
    assert [link["rel"] for link in shown["links"]] == ["self", "bookmark"]


def test_a_uuid_the_caller_chose_is_kept_once(api: Api, catalog: dict[str, Any]) -> None:
    """Another create with the same uuid is a 409 naming it, and leaves nothing behind; a
    uuid that is none is a 400 naming the field."""
    chosen = "0b7d6b2e-5c1f-4d3a-9e8f-1a2b3c4d5e6f"
    assert _cluster(api, catalog, uuid=chosen.upper()) == {"uuid": chosen}
    api.settle()
    history = api.get(f"/v1/clusters/{chosen}/events").json()

    again = api.post(
        "/v1/clusters", json={"name": "c2", "cluster_template_id": "swarm-tpl", "uuid": chosen}
    )
    assert again.status_code == 409, again.text
    assert error_detail(again) == f"A cluster with UUID {chosen} already exists."
    assert [c["name"] for c in api.get("/v1/clusters").json()["clusters"]] == ["c1"]
    assert api.get(f"/v1/clusters/{chosen}/events").json() == history
    assert api.settle() == 0  # no operation was queued

    for bad in ("c1", "0b7d6b2e-5c1f-1d3a-9e8f-1a2b3c4d5e6f", chosen + "\x00"):
        refused = api.post(
            "/v1/clusters", json={"name": "c3", "cluster_template_id": "swarm-tpl", "uuid": bad}
        )
        assert refused.status_code == 400, refused.text
        assert "uuid" in error_detail(refused)
    assert len(api.get("/v1/clusters").json()["clusters"]) == 1


def test_old_microversion_shows_stack_id(api: Api, catalog: dict[str, Any]) -> None:
    uuid = _cluster(api, catalog)["uuid"]
    shown = api.at("1.12").get(f"/v1/clusters/{uuid}").json()
    assert shown["stack_id"] == uuid and "cluster_id" not in shown
    assert api.at(None).get(f"/v1/clusters/{uuid}").json()["stack_id"] == uuid


def test_list_is_trimmed_and_detail_is_full(api: Api, catalog: dict[str, Any]) -> None:
    _cluster(api, catalog)
    item = api.get("/v1/clusters").json()["clusters"][0]
    assert "api_address" not in item and item["merge_labels"] is False
    assert "status" in item and "health_status" in item and "links" in item
    detail = api.get("/v1/clusters/detail").json()["clusters"][0]
    assert "api_address" in detail and "labels_added" in detail


def test_resize_changes_worker_group(api: Api, catalog: dict[str, Any]) -> None:
    _cluster(api, catalog, node_count=1)
    api.settle()
    resized = api.post("/v1/clusters/c1/actions/resize", json={"node_count": 3})
    assert resized.status_code == 202, resized.text
    assert api.get("/v1/clusters/c1").json()["status"] == "UPDATE_IN_PROGRESS"
    api.settle()
    shown = api.get("/v1/clusters/c1").json()
    assert shown["status"] == "UPDATE_COMPLETE" and shown["node_count"] == 3


def test_second_write_while_busy_is_refused_naming_the_operation(
    api: Api, catalog: dict[str, Any]
) -> None:
    _cluster(api, catalog)
    api.settle()
    assert api.post("/v1/clusters/c1/actions/resize", json={"node_count": 2}).status_code == 202
    again = api.post("/v1/clusters/c1/actions/resize", json={"node_count": 3})
    assert again.status_code == 409
    assert "resize" in error_detail(again) and "busy" in error_detail(again)
    patch = api.patch(
        "/v1/clusters/c1", json=[{"op": "replace", "path": "/node_count", "value": 5}]
    )
    assert patch.status_code == 409
    api.settle()
    assert api.get("/v1/clusters/c1").json()["node_count"] == 2


def test_resize_outside_nodegroup_range_is_refused(api: Api, catalog: dict[str, Any]) -> None:
    _cluster(api, catalog, labels={"max_node_count": "3"})
    api.settle()
    refused = api.post("/v1/clusters/c1/actions/resize", json={"node_count": 4})
    assert refused.status_code == 400
    assert "outside the allowed range" in error_detail(refused)
    assert api.get("/v1/clusters/c1").json()["node_count"] == 1


def test_resize_needs_microversion_1_7(api: Api, catalog: dict[str, Any]) -> None:
    _cluster(api, catalog)
    api.settle()
    assert (
        api.at("1.6").post("/v1/clusters/c1/actions/resize", json={"node_count": 2}).status_code
        == 406
    )


def test_patch_changes_only_node_count(api: Api, catalog: dict[str, Any]) -> None:
    _cluster(api, catalog)
    api.settle()
    refused = api.patch("/v1/clusters/c1", json=[{"op": "replace", "path": "/name", "value": "x"}])
    assert refused.status_code == 400
    assert "cannot change cluster property(ies) name" in error_detail(refused)
    internal = api.patch("/v1/clusters/c1", json=[{"op": "replace", "path": "/uuid", "value": "x"}])
    assert internal.status_code == 400 and "internal attribute" in error_detail(internal)
    ok = api.patch("/v1/clusters/c1", json=[{"op": "replace", "path": "/node_count", "value": 2}])
    assert ok.status_code == 202
    api.settle()
    assert api.get("/v1/clusters/c1").json()["node_count"] == 2


def test_upgrade_moves_cluster_to_new_template(api: Api, catalog: dict[str, Any]) -> None:
    _cluster(api, catalog)
    api.settle()
    assert (
        api.post("/v1/clustertemplates", json=template_body(name="swarm-tpl-2")).status_code == 201
    )
    at_17 = api.at("1.7").post(
        "/v1/clusters/c1/actions/upgrade", json={"cluster_template": "swarm-tpl-2"}
    )
    assert at_17.status_code == 400
    upgraded = api.post("/v1/clusters/c1/actions/upgrade", json={"cluster_template": "swarm-tpl-2"})
    assert upgraded.status_code == 202, upgraded.text
    api.settle()
    shown = api.get("/v1/clusters/c1").json()
    new_uuid = api.get("/v1/clustertemplates/swarm-tpl-2").json()["uuid"]
    assert shown["status"] == "UPDATE_COMPLETE" and shown["cluster_template_id"] == new_uuid


def test_downgrade_is_refused(api: Api, catalog: dict[str, Any]) -> None:
    assert (
        api.post(
            "/v1/clustertemplates",
            json=template_body(
                labels={"kube_tag": "v1.30.0"}, coe="kubernetes", network_driver="flannel"
            ),
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/v1/clustertemplates",
            json=template_body(name="old", labels={"kube_tag": "v1.29.0"}, coe="kubernetes"),
        ).status_code
        == 201
    )
    assert (
        api.post("/v1/clusters", json={"name": "k", "cluster_template_id": "swarm-tpl"}).status_code
        == 202
    )
    api.settle()
    refused = api.post("/v1/clusters/k/actions/upgrade", json={"cluster_template": "old"})
    assert refused.status_code == 400 and "Downgrade refused" in error_detail(refused)


def test_delete_removes_row_and_repeats_are_accepted(api: Api, catalog: dict[str, Any]) -> None:
    uuid = _cluster(api, catalog)["uuid"]
    assert api.delete("/v1/clusters/c1").status_code == 204
    assert api.delete(f"/v1/clusters/{uuid}").status_code == 204
    assert api.get(f"/v1/clusters/{uuid}").json()["status"] == "DELETE_IN_PROGRESS"
    api.settle()
    assert api.get(f"/v1/clusters/{uuid}").status_code == 404
    assert api.delete(f"/v1/clusters/{uuid}").status_code == 404


def test_delete_supersedes_a_running_create(api: Api, catalog: dict[str, Any]) -> None:
    uuid = _cluster(api, catalog)["uuid"]
    assert api.delete(f"/v1/clusters/{uuid}").status_code == 204
    api.settle()
    assert api.get(f"/v1/clusters/{uuid}").status_code == 404


def test_cluster_without_driver_fails_naming_the_cluster_type(
    api: Api, catalog: dict[str, Any]
) -> None:
    assert api.post("/v1/images", json={"name": "centos", "os_distro": "centos"}).status_code == 201
    body = template_body(
        name="dcos-tpl",
        coe="dcos",
        image_id="centos",
        labels={"isolation": "docker/volume", "launcher": "linux", "image_providers": "docker"},
    )
    assert api.post("/v1/clustertemplates", json=body).status_code == 201, body
    uuid = api.post("/v1/clusters", json={"name": "d1", "cluster_template_id": "dcos-tpl"}).json()[
        "uuid"
    ]
    api.settle()
    shown = api.get(f"/v1/clusters/{uuid}").json()
    assert shown["status"] == "CREATE_FAILED"
    assert "(vm, centos, dcos)" in shown["status_reason"]
    assert shown["faults"]["default-worker"] == shown["status_reason"]
    assert api.delete(f"/v1/clusters/{uuid}").status_code == 204
    api.settle()
    assert api.get(f"/v1/clusters/{uuid}").status_code == 404


def test_template_in_use_cannot_be_deleted(api: Api, catalog: dict[str, Any]) -> None:
    _cluster(api, catalog)
    refused = api.delete("/v1/clustertemplates/swarm-tpl")
    assert refused.status_code == 400 and "referenced" in error_detail(refused)
    renamed = api.patch(
        "/v1/clustertemplates/swarm-tpl",
        json=[{"op": "replace", "path": "/name", "value": "renamed"}],
    )
    assert renamed.status_code == 200
    changed = api.patch(
        "/v1/clustertemplates/renamed",
        json=[{"op": "replace", "path": "/dns_nameserver", "value": "1.1.1.1"}],
    )
    assert changed.status_code == 400 and "referenced" in error_detail(changed)


def test_unknown_labels_are_accepted_with_a_warning(api: Api, catalog: dict[str, Any]) -> None:
    created = api.post(
        "/v1/clustertemplates", json=template_body(labels={"swarm_stratgy": "spread"})
    )
    assert created.status_code == 201
    assert "swarm_stratgy" in created.headers["Cove-Warning"]
    assert created.json()["labels"] == {"swarm_stratgy": "spread"}
    cluster = api.post("/v1/clusters", json={"cluster_template_id": "swarm-tpl"})
    assert cluster.status_code == 202 and "swarm_stratgy" in cluster.headers["Cove-Warning"]
