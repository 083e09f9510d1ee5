"""Quotas (CRUD and enforcement at cluster create), stats and the conductor service list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from cove.db import models
from cove.db.session import transaction
from tests.conftest import Api, error_detail, template_body

Catalog = dict[str, Any]
QUOTA_FIELDS = {"id", "hard_limit", "project_id", "resource", "created_at", "updated_at"}


def _quota(api: Api, project: str, hard_limit: int) -> dict[str, Any]:
    body = {"project_id": project, "resource": "Cluster", "hard_limit": hard_limit}
    response = api.post("/v1/quotas", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _template(api: Api) -> None:
    body = template_body(public=False, keypair_id=None)
    assert api.post("/v1/clustertemplates", json=body).status_code == 201


def _create_cluster(api: Api, name: str, **body: Any) -> Any:
    return api.post("/v1/clusters", json={"name": name, "cluster_template_id": "swarm-tpl", **body})


def _cluster_names(api: Api) -> list[str]:
    return [c["name"] for c in api.get("/v1/clusters").json()["clusters"]]


# quota CRUD


def test_quota_create_show_update_delete(api: Api) -> None:
    created = _quota(api, "p1", 5)
    assert set(created) == QUOTA_FIELDS
    assert (created["project_id"], created["resource"], created["hard_limit"]) == (
        "p1",
        "Cluster",
        5,
    )
    assert isinstance(created["id"], int) and created["updated_at"] is None
    assert api.get("/v1/quotas/p1/Cluster").json() == created

    body = {"project_id": "p1", "resource": "Cluster", "hard_limit": 7}
    updated = api.patch("/v1/quotas/p1/Cluster", json=body)  # a plain object, not JSON-patch
    assert updated.status_code == 202
    assert updated.json()["hard_limit"] == 7 and updated.json()["id"] == created["id"]
    assert updated.json()["updated_at"] is not None
    assert api.get("/v1/quotas/p1/Cluster").json()["hard_limit"] == 7

    deleted = api.delete("/v1/quotas/p1/Cluster")
    assert deleted.status_code == 204 and deleted.content == b""
    assert api.get("/v1/quotas/p1/Cluster").json() == {
        "hard_limit": 20, "project_id": "p1", "resource": "Cluster",
    }  # fmt: skip
    assert api.delete("/v1/quotas/p1/Cluster").status_code == 404
    missing = api.patch("/v1/quotas/p1/Cluster", json=body)
    assert missing.status_code == 404


def test_quota_update_takes_a_plain_object_not_a_json_patch(api: Api) -> None:
    created = _quota(api, "p1", 5)
    patch = [{"op": "replace", "path": "/hard_limit", "value": 9}]
    response = api.patch("/v1/quotas/p1/Cluster", json=patch)
    assert response.status_code == 400
    assert api.get("/v1/quotas/p1/Cluster").json() == created


def test_quota_without_a_row_shows_the_default_without_id(api: Api) -> None:
    response = api.get("/v1/quotas/nobody/Cluster")
    assert response.status_code == 200
    assert response.json() == {"hard_limit": 20, "project_id": "nobody", "resource": "Cluster"}


def test_duplicate_quota_is_a_conflict(api: Api) -> None:
    first = _quota(api, "p1", 3)
    again = api.post(
        "/v1/quotas", json={"project_id": "p1", "resource": "Cluster", "hard_limit": 9}
    )
    assert again.status_code == 409
    assert error_detail(again) == "Quota for project p1 already exists for resource Cluster."
    assert api.get("/v1/quotas/p1/Cluster").json() == first


def test_quota_resource_other_than_cluster_is_refused(api: Api) -> None:
    for body in (
        {"project_id": "p1", "resource": "Volume", "hard_limit": 3},
        {"project_id": "p1", "resource": "cluster", "hard_limit": 3},
    ):
        response = api.post("/v1/quotas", json=body)
        assert response.status_code == 400, body
        assert "resource" in error_detail(response) and "Cluster" in error_detail(response)
    shown = api.get("/v1/quotas/p1/Volume")
    assert shown.status_code == 400 and "resource" in error_detail(shown)
    assert api.get("/v1/quotas", params={"all_tenants": "True"}).json()["quotas"] == []


def test_quota_body_is_checked(api: Api) -> None:
    for body, field in (
        ({"resource": "Cluster", "hard_limit": 3}, "project_id"),
        ({"project_id": "p1", "resource": "Cluster", "hard_limit": -1}, "hard_limit"),
        ({"project_id": "p1", "resource": "Cluster", "hard_limit": "many"}, "hard_limit"),
        ({"project_id": "p1", "resource": "Cluster", "bogus": 1}, "bogus"),
    ):
        response = api.post("/v1/quotas", json=body)
        assert response.status_code == 400, body
        assert field in error_detail(response), (body, error_detail(response))
    assert api.get("/v1/quotas", params={"all_tenants": "True"}).json()["quotas"] == []


def test_quota_list_shows_other_projects_only_with_all_tenants(api: Api) -> None:
    own = _quota(api, "admin", 30)
    others = [_quota(api, "p1", 1), _quota(api, "p2", 2)]
    listed = api.get("/v1/quotas")
    assert listed.status_code == 200 and listed.json() == {"quotas": [own]}
    everything = api.get("/v1/quotas", params={"all_tenants": "True"}).json()["quotas"]
    assert everything == [own, *others]


# quota enforcement at cluster create


def test_cluster_create_beyond_the_quota_is_refused(api: Api, catalog: Catalog) -> None:
    _template(api)
    _quota(api, "admin", 1)
    assert _create_cluster(api, "c1").status_code == 202
    refused = _create_cluster(api, "c2")
    assert refused.status_code == 403
    assert error_detail(refused).startswith("You have reached the maximum clusters per project, 1")
    assert _cluster_names(api) == ["c1"]
    # raising the quota makes room
    raised = {"project_id": "admin", "resource": "Cluster", "hard_limit": 2}
    assert api.patch("/v1/quotas/admin/Cluster", json=raised).status_code == 202
    assert _create_cluster(api, "c2").status_code == 202
    assert _cluster_names(api) == ["c1", "c2"]


def test_a_deleted_cluster_makes_room_and_a_failed_one_takes_it(api: Api, catalog: Catalog) -> None:
    _template(api)
    _quota(api, "admin", 2)
    assert _create_cluster(api, "c1").status_code == 202
    assert _create_cluster(api, "c2").status_code == 202
    api.settle()
    assert _create_cluster(api, "c3").status_code == 403
    assert api.delete("/v1/clusters/c1").status_code == 204
    assert _create_cluster(api, "c3").status_code == 403  # c1 counts until it is gone
    api.settle()
    assert _cluster_names(api) == ["c2"]
    assert _create_cluster(api, "c3").status_code == 202
    assert _create_cluster(api, "c4").status_code == 403
    assert _cluster_names(api) == ["c2", "c3"]


def test_quota_is_per_project(api: Api, catalog: Catalog) -> None:
    _template(api)
    _quota(api, "p1", 0)
    p1 = api.as_project("p1")
    refused = p1.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    assert refused.status_code == 403
    assert "maximum clusters per project, 0" in error_detail(refused)
    assert _create_cluster(api, "mine").status_code == 202  # admin's project has no quota row
    assert _cluster_names(p1) == [] and _cluster_names(api) == ["mine"]


def test_default_quota_of_20_is_enforced(api: Api, catalog: Catalog) -> None:
    _template(api)
    for n in range(20):
        assert _create_cluster(api, f"c{n}").status_code == 202, n
    refused = _create_cluster(api, "c20")
    assert refused.status_code == 403
    assert "maximum clusters per project, 20" in error_detail(refused)
    assert len(_cluster_names(api)) == 20


# stats


def test_stats_count_clusters_and_every_node_including_masters(api: Api, catalog: Catalog) -> None:
    _template(api)
    assert api.get("/v1/stats").json() == {"clusters": 0, "nodes": 0}
    ha = _create_cluster(api, "ha", master_count=3, master_lb_enabled=True, node_count=2)
    assert ha.status_code == 202, ha.text
    assert _create_cluster(api, "small").status_code == 202
    api.settle()
    assert api.get("/v1/stats").json() == {"clusters": 2, "nodes": 7}  # (3 + 2) + (1 + 1)
    p1 = api.as_project("p1")
    own_template = template_body(public=False, keypair_id=None)
    assert p1.post("/v1/clustertemplates", json=own_template).status_code == 201
    created = p1.post("/v1/clusters", json={"name": "p", "cluster_template_id": "swarm-tpl"})
    assert created.status_code == 202
    assert p1.get("/v1/stats").json() == {"clusters": 1, "nodes": 2}
    own = api.get("/v1/stats", params={"project_id": "admin", "type": "cluster"})
    assert own.json() == {"clusters": 2, "nodes": 7}
    assert api.get("/v1/stats").json() == {"clusters": 3, "nodes": 9}  # admin: all projects


def test_stats_of_another_type_are_refused(api: Api) -> None:
    response = api.get("/v1/stats", params={"type": "other"})
    assert response.status_code == 400
    assert "type" in error_detail(response) and "cluster" in error_detail(response)


# mservices


def test_mservices_list_the_conductors_with_their_state(api: Api) -> None:
    assert api.get("/v1/mservices").json() == {"mservices": []}
    now = models.utcnow()
    with transaction(api.client.app.state.session_factory) as session:
        session.add(
            models.Service(host="node-a", binary="magnum-conductor", report_count=12,
                           last_seen_up=now)
        )  # fmt: skip
        session.add(
            models.Service(host="node-b", binary="magnum-conductor", report_count=3,
                           disabled=True, disabled_reason="maintenance",
                           last_seen_up=now - timedelta(hours=1))
        )  # fmt: skip
    response = api.get("/v1/mservices")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"mservices"}  # never paginated
    up, down = body["mservices"]
    assert set(up) == {
        "id", "host", "binary", "state", "report_count", "disabled", "disabled_reason",
        "created_at", "updated_at",
    }  # fmt: skip
    assert (up["host"], up["binary"], up["state"], up["report_count"]) == (
        "node-a", "magnum-conductor", "up", 12,
    )  # fmt: skip
    assert up["disabled"] is False and up["disabled_reason"] is None
    assert isinstance(up["id"], int) and up["created_at"].endswith("+00:00")
    assert (down["host"], down["state"], down["disabled"]) == ("node-b", "down", True)
    assert down["disabled_reason"] == "maintenance"


def test_operator_default_quota_applies_without_a_quota_row(
    make_api: Callable[..., Api],
) -> None:
    small = make_api(max_clusters_per_project=1)
    image = {"name": "instant-image", "os_distro": "instant", "public": True}
    assert small.post("/v1/images", json=image).status_code == 201
    _template(small)
    assert small.get("/v1/quotas/admin/Cluster").json()["hard_limit"] == 1
    assert _create_cluster(small, "c1").status_code == 202
    refused = _create_cluster(small, "c2")
    assert refused.status_code == 403
    assert "maximum clusters per project, 1" in error_detail(refused)
