"""Node groups (microversion 1.9 and later): create, list, show, update, delete, the rules on
names, roles, counts, node labels and taints, and the 409 while the cluster is busy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, error_detail, template_body

Catalog = dict[str, Any]
BASE = "/v1/clusters/c1/nodegroups"
FULL_FIELDS = {
    "id", "uuid", "name", "cluster_id", "project_id", "docker_volume_size", "labels", "links",
    "flavor_id", "image_id", "node_addresses", "node_count", "role", "min_node_count",
    "max_node_count", "is_default", "stack_id", "status", "status_reason", "version",
    "merge_labels", "labels_overridden", "labels_added", "labels_skipped", "node_labels",
    "node_taints", "created_at", "updated_at",
}  # fmt: skip
LIST_FIELDS = {
    "uuid", "name", "flavor_id", "image_id", "node_count", "role", "min_node_count",
    "max_node_count", "is_default", "stack_id", "status", "merge_labels",
}  # fmt: skip


@pytest.fixture
def cluster(api: Api, catalog: Catalog) -> dict[str, Any]:
    """A settled cluster c1 (one master, one worker) with labels {"a": "1"}."""
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    body = {"name": "c1", "cluster_template_id": "swarm-tpl", "labels": {"a": "1"}}
    assert api.post("/v1/clusters", json=body).status_code == 202
    api.settle()
    return dict(api.get("/v1/clusters/c1").json())


def _names(api: Api, query: str = "") -> list[str]:
    response = api.get(f"{BASE}{query}")
    assert response.status_code == 200
    return [g["name"] for g in response.json()["nodegroups"]]


def _create(api: Api, **body: Any) -> dict[str, Any]:
    response = api.post(BASE, json={"name": "ng1", **body})
    assert response.status_code == 202, response.text
    return dict(response.json())


def _refused(api: Api, body: dict[str, Any], status: int) -> str:
    before = _names(api)
    response = api.post(BASE, json=body)
    assert response.status_code == status, response.text
    assert _names(api) == before
    return error_detail(response)


def test_nodegroups_need_microversion_1_9(api: Api, cluster: dict[str, Any]) -> None:
    old = api.at("1.8")
    for method, path, body in (
        ("GET", BASE, None),
        ("GET", f"{BASE}/default-worker", None),
        ("POST", BASE, {"name": "ng1"}),
        ("PATCH", f"{BASE}/default-worker", [{"op": "replace", "path": "/max_node_count",
                                              "value": 3}]),
        ("DELETE", f"{BASE}/default-worker", None),
    ):  # fmt: skip
        response = old.request(method, path, json=body)
        assert response.status_code == 406, (method, path)
        title = response.json()["errors"][0]["title"]
        assert title.startswith("Not Acceptable"), (method, path, title)
        assert "1.9" in title, (method, path, title)
    assert api.at(None).get(BASE).status_code == 406  # no header is 1.1
    assert api.at("1.9").get(BASE).status_code == 200
    assert _names(api) == ["default-master", "default-worker"]


def test_create_answers_202_with_the_full_object(api: Api, cluster: dict[str, Any]) -> None:
    taint = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    created = _create(
        api, node_count=2, max_node_count=4, node_labels={"tier": "gpu"}, node_taints=[taint]
    )
    assert set(created) == FULL_FIELDS
    uuid = created["uuid"]
    assert created["name"] == "ng1" and created["role"] == "worker"
    assert created["cluster_id"] == cluster["uuid"] and created["project_id"] == "admin"
    assert (created["node_count"], created["min_node_count"], created["max_node_count"]) == (
        2,
        0,
        4,
    )
    assert created["is_default"] is False and created["status"] == "CREATE_IN_PROGRESS"
    assert created["image_id"] == "instant-image" and created["flavor_id"] == "m1.small"
    assert created["labels"] == {"a": "1"}  # the cluster's labels by default
    assert created["node_labels"] == {"tier": "gpu"} and created["node_taints"] == [taint]
    assert created["links"] == [
        {"href": f"http://testserver/v1/clusters/{cluster['uuid']}/nodegroups/{uuid}",
         "rel": "self"},
        {"href": f"http://testserver/clusters/{cluster['uuid']}/nodegroups/{uuid}",
         "rel": "bookmark"},
    ]  # fmt: skip
    assert api.get("/v1/clusters/c1").json()["status"] == "UPDATE_IN_PROGRESS"
    api.settle()
    shown = api.get(f"{BASE}/ng1").json()
    assert shown["status"] == "CREATE_COMPLETE"
    assert len(shown["node_addresses"]) == 2
    after = api.get("/v1/clusters/c1").json()
    assert after["status"] == "UPDATE_COMPLETE"
    assert after["node_count"] == 3  # default-worker's 1 plus ng1's 2


def test_create_defaults(api: Api, cluster: dict[str, Any]) -> None:
    created = _create(api)
    assert (created["node_count"], created["min_node_count"]) == (1, 0)
    assert created["max_node_count"] is None and created["role"] == "worker"
    assert created["node_labels"] == {} and created["node_taints"] == []
    own = _names(api)
    assert own == ["default-master", "default-worker", "ng1"]


def test_create_with_own_labels_and_merge(api: Api, cluster: dict[str, Any]) -> None:
    replaced = _create(api, labels={"b": "2"})
    assert replaced["labels"] == {"b": "2"}
    assert replaced["labels_added"] == {"b": "2"} and replaced["labels_skipped"] == {"a": "1"}
    api.settle()
    merged = _create(api, name="ng2", labels={"b": "2"}, merge_labels=True)
    assert merged["labels"] == {"a": "1", "b": "2"} and merged["merge_labels"] is True


def test_name_is_unique_within_a_cluster(api: Api, cluster: dict[str, Any]) -> None:
    _create(api)
    api.settle()
    detail = _refused(api, {"name": "ng1"}, 409)
    assert detail == "A node group with name ng1 already exists in the cluster c1."
    detail = _refused(api, {"name": "default-worker"}, 409)
    assert "default-worker already exists" in detail
    # another cluster may use the name
    c2 = api.post("/v1/clusters", json={"name": "c2", "cluster_template_id": "swarm-tpl"})
    assert c2.status_code == 202
    api.settle()
    other = api.post("/v1/clusters/c2/nodegroups", json={"name": "ng1"})
    assert other.status_code == 202


def test_master_nodegroups_cannot_be_created(api: Api, cluster: dict[str, Any]) -> None:
    detail = _refused(api, {"name": "m2", "role": "master"}, 400)
    assert detail == "Creating master nodegroups is currently not supported."


def test_counts_must_be_consistent(api: Api, cluster: dict[str, Any]) -> None:
    detail = _refused(api, {"name": "ng3", "min_node_count": 3}, 409)
    assert detail == (
        "min_node_count for ng3 is invalid (min_node_count (3) should be less or equal to "
        "node_count (1))."
    )
    detail = _refused(api, {"name": "ng3", "node_count": 4, "max_node_count": 2}, 409)
    assert "max_node_count for ng3 is invalid" in detail
    detail = _refused(api, {"name": "ng3", "node_count": -1}, 400)
    assert "node_count" in detail


def test_taint_effect_must_be_a_kubernetes_effect(api: Api, cluster: dict[str, Any]) -> None:
    taints = [{"key": "k", "value": "v", "effect": "Sometimes"}]
    detail = _refused(api, {"name": "ng1", "node_taints": taints}, 400)
    assert "effect" in detail and "Sometimes" in detail
    assert "NoSchedule, PreferNoSchedule, NoExecute" in detail
    detail = _refused(api, {"name": "ng1", "node_taints": [{"value": "v"}]}, 400)
    assert "key" in detail
    detail = _refused(api, {"name": "ng1", "node_taints": [{"key": "k", "color": "red"}]}, 400)
    assert "color" in detail
    for effect in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        taint = {"key": "k", "effect": effect}
        assert _create(api, name=effect.lower(), node_taints=[taint])["node_taints"] == [taint]
        api.settle()


def test_reserved_node_label_prefixes_are_refused(api: Api, cluster: dict[str, Any]) -> None:
    for key in ("kubernetes.io/role", "k8s.io/thing", "sub.kubernetes.io/x", "team.k8s.io/y"):
        detail = _refused(api, {"name": "ng1", "node_labels": {key: "x"}}, 400)
        assert "node_labels" in detail and key in detail, detail
        assert "kubelet.kubernetes.io/ and node.kubernetes.io/" in detail
    allowed = {"node.kubernetes.io/pool": "a", "kubelet.kubernetes.io/b": "b", "example.com/c": "c"}
    assert _create(api, node_labels=allowed)["node_labels"] == allowed


def test_list_is_trimmed_without_links_and_filters_by_role(
    api: Api, cluster: dict[str, Any]
) -> None:
    _create(api, node_count=2)
    response = api.get(BASE)
    assert response.status_code == 200
    groups = response.json()["nodegroups"]
    assert [g["name"] for g in groups] == ["default-master", "default-worker", "ng1"]
    for group in groups:
        assert set(group) == LIST_FIELDS
    assert [g["role"] for g in groups] == ["master", "worker", "worker"]
    assert [g["is_default"] for g in groups] == [True, True, False]
    assert _names(api, "?role=worker") == ["default-worker", "ng1"]
    assert _names(api, "?role=master") == ["default-master"]
    assert _names(api, "/?role=worker") == ["default-worker", "ng1"]  # clients add the slash
    assert _names(api, "?role=infra") == []


def test_show_by_name_uuid_and_id(api: Api, cluster: dict[str, Any]) -> None:
    created = _create(api)
    api.settle()
    by_name = api.get(f"{BASE}/ng1").json()
    assert set(by_name) == FULL_FIELDS
    assert api.get(f"{BASE}/{created['uuid']}").json() == by_name
    assert api.get(f"{BASE}/{created['id']}").json() == by_name
    by_cluster_uuid = api.get(f"/v1/clusters/{cluster['uuid']}/nodegroups/ng1")
    assert by_cluster_uuid.json() == by_name
    missing = api.get(f"{BASE}/nope")
    assert missing.status_code == 404 and "nope could not be found" in error_detail(missing)


def test_patch_changes_counts_node_labels_and_taints(api: Api, cluster: dict[str, Any]) -> None:
    _create(api, node_count=2)
    api.settle()
    counts = api.patch(
        f"{BASE}/ng1",
        json=[
            {"op": "replace", "path": "/min_node_count", "value": 1},
            {"op": "replace", "path": "/max_node_count", "value": 5},
        ],
    )
    assert counts.status_code == 202
    assert set(counts.json()) == FULL_FIELDS
    assert (counts.json()["min_node_count"], counts.json()["max_node_count"]) == (1, 5)
    api.settle()
    labels = api.patch(
        f"{BASE}/ng1",
        json=[
            {"op": "replace", "path": "/node_labels", "value": "{'tier': 'db'}"},
            {"op": "replace", "path": "/node_taints",
             "value": "[{'key': 'db', 'effect': 'NoExecute'}]"},
        ],
    )  # fmt: skip
    assert labels.status_code == 202, labels.text
    assert labels.json()["node_labels"] == {"tier": "db"}
    assert labels.json()["node_taints"] == [{"key": "db", "effect": "NoExecute"}]
    api.settle()
    shown = api.get(f"{BASE}/ng1").json()
    assert shown["node_labels"] == {"tier": "db"} and shown["status"] == "UPDATE_COMPLETE"
    assert (shown["min_node_count"], shown["max_node_count"], shown["node_count"]) == (1, 5, 2)


def test_patch_of_other_attributes_is_refused(api: Api, cluster: dict[str, Any]) -> None:
    _create(api)
    api.settle()
    before = api.get(f"{BASE}/ng1").json()
    for path in (
        "/name", "/node_count", "/role", "/labels", "/flavor_id", "/image_id", "/is_default",
        "/status", "/docker_volume_size", "/uuid", "/id", "/project_id", "/cluster_id",
    ):  # fmt: skip
        response = api.patch(f"{BASE}/ng1", json=[{"op": "replace", "path": path, "value": "3"}])
        assert response.status_code == 400, path
        assert f"'{path}' is an internal attribute and can not be updated" in error_detail(response)
    bad_min = api.patch(f"{BASE}/ng1", json=[{"op": "replace", "path": "/min_node_count",
                                              "value": 5}])  # fmt: skip
    assert bad_min.status_code == 409 and "min_node_count for ng1 is invalid" in error_detail(
        bad_min
    )
    assert api.get(f"{BASE}/ng1").json() == before


def test_delete_answers_204_and_the_group_is_gone_after_settle(
    api: Api, cluster: dict[str, Any]
) -> None:
    _create(api, node_count=2)
    api.settle()
    response = api.delete(f"{BASE}/ng1")
    assert response.status_code == 204 and response.content == b""
    assert api.get(f"{BASE}/ng1").json()["status"] == "DELETE_IN_PROGRESS"
    assert api.get("/v1/clusters/c1").json()["status"] == "UPDATE_IN_PROGRESS"
    api.settle()
    assert api.get(f"{BASE}/ng1").status_code == 404
    assert _names(api) == ["default-master", "default-worker"]
    after = api.get("/v1/clusters/c1").json()
    assert after["status"] == "UPDATE_COMPLETE" and after["node_count"] == 1


def test_default_nodegroups_cannot_be_deleted(api: Api, cluster: dict[str, Any]) -> None:
    for name in ("default-worker", "default-master"):
        response = api.delete(f"{BASE}/{name}")
        assert response.status_code == 400, name
        assert error_detail(response) == "Deleting a default nodegroup is not supported."
    assert _names(api) == ["default-master", "default-worker"]
    assert api.get("/v1/clusters/c1").json()["status"] == "CREATE_COMPLETE"


def test_create_needs_the_cluster_api_address(api: Api, catalog: Catalog) -> None:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    c1 = api.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    assert c1.status_code == 202
    detail = _refused(api, {"name": "ng1"}, 409)
    assert detail == "Cluster API address is not available yet"


def test_nodegroup_writes_are_refused_while_the_cluster_is_busy(
    api: Api, cluster: dict[str, Any]
) -> None:
    _create(api)
    api.settle()
    before = api.get(f"{BASE}/ng1").json()
    resize = api.post("/v1/clusters/c1/actions/resize", json={"node_count": 3})
    assert resize.status_code == 202
    writes = (
        ("POST", BASE, {"name": "ng2"}),
        ("PATCH", f"{BASE}/ng1", [{"op": "replace", "path": "/node_labels",
                                   "value": "{'a': 'b'}"}]),
        ("PATCH", f"{BASE}/ng1", [{"op": "replace", "path": "/max_node_count", "value": 1}]),
        ("DELETE", f"{BASE}/ng1", None),
    )  # fmt: skip
    for method, path, body in writes:
        response = api.request(method, path, json=body)
        assert response.status_code == 409, (method, path, response.text)
        assert "busy" in error_detail(response) and "resize" in error_detail(response)
    assert api.get(f"{BASE}/ng1").json() == before
    api.settle()
    assert _names(api) == ["default-master", "default-worker", "ng1"]
    assert api.get("/v1/clusters/c1").json()["node_count"] == 4  # 3 + ng1's 1
