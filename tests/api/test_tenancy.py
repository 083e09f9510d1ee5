"""Projects and roles: what another project, a member without reader, a reader without member
and an administrator can see and do, and the 401 of keystone mode. A project never learns that
another project's private objects exist: they answer 404, as unknown ones do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cove.api.app import create_app
from cove.drivers.registry import DriverRegistry
from cove.settings import Settings
from tests.conftest import Api, error_detail, template_body
from tests.support.drivers import InstantDriver

Catalog = dict[str, Any]
P1_TEMPLATE = template_body(name="p1-tpl", public=False, keypair_id=None)


@pytest.fixture
def p1(api: Api, catalog: Catalog) -> Api:
    """Project p1 with a private template and a settled cluster c1."""
    p1 = api.as_project("p1")
    assert p1.post("/v1/clustertemplates", json=P1_TEMPLATE).status_code == 201
    created = p1.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "p1-tpl"})
    assert created.status_code == 202, created.text
    api.settle()
    return p1


@pytest.fixture
def p2(api: Api) -> Api:
    return api.as_project("p2")


def _publish(api: Api, name: str, *, hidden: bool = False) -> None:
    """p1 owns the template; only an administrator may publish or hide it."""
    ops = [{"op": "replace", "path": "/public", "value": "true"}]
    if hidden:
        ops.append({"op": "replace", "path": "/hidden", "value": "true"})
    response = api.patch(f"/v1/clustertemplates/{name}", json=ops)
    assert response.status_code == 200, response.text


def _not_found(response: Any, kind: str, ident: str) -> None:
    assert response.status_code == 404, response.text
    assert f"{kind} {ident} could not be found" in error_detail(response)


def test_private_template_is_invisible_to_another_project(p1: Api, p2: Api) -> None:
    template = p1.get("/v1/clustertemplates/p1-tpl").json()
    uuid = template["uuid"]
    assert p2.get("/v1/clustertemplates").json()["clustertemplates"] == []
    assert p2.get("/v1/clustertemplates/detail").json()["clustertemplates"] == []
    for ident in ("p1-tpl", uuid):
        _not_found(p2.get(f"/v1/clustertemplates/{ident}"), "ClusterTemplate", ident)
        patch = [{"op": "replace", "path": "/tags", "value": "stolen"}]
        _not_found(p2.patch(f"/v1/clustertemplates/{ident}", json=patch), "ClusterTemplate", ident)
        _not_found(p2.delete(f"/v1/clustertemplates/{ident}"), "ClusterTemplate", ident)
    # nor can p2 build a cluster from it
    refused = p2.post("/v1/clusters", json={"name": "x", "cluster_template_id": uuid})
    assert refused.status_code == 404 and "could not be found" in error_detail(refused)
    # p1 still has it, unchanged, and may change it
    assert p1.get("/v1/clustertemplates").json()["clustertemplates"] == [template]
    tagged = p1.patch(
        "/v1/clustertemplates/p1-tpl", json=[{"op": "replace", "path": "/tags", "value": "mine"}]
    )
    assert tagged.status_code == 200 and tagged.json()["tags"] == "mine"


def test_cluster_is_invisible_to_another_project(p1: Api, p2: Api) -> None:
    cluster = p1.get("/v1/clusters/c1").json()
    uuid = cluster["uuid"]
    assert p2.get("/v1/clusters").json()["clusters"] == []
    assert p2.get("/v1/clusters/detail").json()["clusters"] == []
    for ident in ("c1", uuid):
        _not_found(p2.get(f"/v1/clusters/{ident}"), "Cluster", ident)
        patch = [{"op": "replace", "path": "/node_count", "value": 3}]
        _not_found(p2.patch(f"/v1/clusters/{ident}", json=patch), "Cluster", ident)
        resize = p2.post(f"/v1/clusters/{ident}/actions/resize", json={"node_count": 3})
        _not_found(resize, "Cluster", ident)
        upgrade = {"cluster_template": "p1-tpl"}
        _not_found(p2.post(f"/v1/clusters/{ident}/actions/upgrade", json=upgrade), "Cluster", ident)
        _not_found(p2.delete(f"/v1/clusters/{ident}"), "Cluster", ident)
    # nothing happened to p1's cluster
    assert p1.get("/v1/clusters/c1").json() == cluster
    assert cluster["status"] == "CREATE_COMPLETE" and cluster["node_count"] == 1
    assert [c["uuid"] for c in p1.get("/v1/clusters").json()["clusters"]] == [uuid]


def test_nodegroups_are_invisible_to_another_project(p1: Api, p2: Api) -> None:
    groups = p1.get("/v1/clusters/c1/nodegroups").json()["nodegroups"]
    assert {g["name"] for g in groups} == {"default-master", "default-worker"}
    worker = p1.get("/v1/clusters/c1/nodegroups/default-worker").json()
    base = "/v1/clusters/c1/nodegroups"
    _not_found(p2.get(base), "Cluster", "c1")
    _not_found(p2.post(base, json={"name": "ng-p2"}), "Cluster", "c1")
    for ident in ("default-worker", worker["uuid"]):
        _not_found(p2.get(f"{base}/{ident}"), "Cluster", "c1")
        patch = [{"op": "replace", "path": "/max_node_count", "value": 5}]
        _not_found(p2.patch(f"{base}/{ident}", json=patch), "Cluster", "c1")
        _not_found(p2.delete(f"{base}/{ident}"), "Cluster", "c1")
    by_uuid = f"/v1/clusters/{worker['cluster_id']}/nodegroups/default-worker"
    _not_found(p2.get(by_uuid), "Cluster", worker["cluster_id"])
    assert p1.get(f"{base}/default-worker").json() == worker
    assert len(p1.get(base).json()["nodegroups"]) == 2


def test_certificates_are_invisible_to_another_project(p1: Api, p2: Api) -> None:
    ca = p1.get("/v1/certificates/c1")
    assert ca.status_code == 200 and "BEGIN CERTIFICATE" in ca.json()["pem"]
    uuid = ca.json()["cluster_uuid"]
    for ident in ("c1", uuid):
        _not_found(p2.get(f"/v1/certificates/{ident}"), "Cluster", ident)
        _not_found(p2.patch(f"/v1/certificates/{ident}"), "Cluster", ident)
        # Magnum turns the 404 of a sign request into a 400; it says the same as for a cluster
        # that does not exist at all.
        signed = p2.post("/v1/certificates", json={"cluster_uuid": ident, "csr": "x"})
        assert signed.status_code == 400
        assert f"Cluster {ident} could not be found" in error_detail(signed)
    assert p1.get("/v1/certificates/c1").json() == ca.json()  # no rotation happened
    assert p1.get("/v1/clusters/c1").json()["status"] == "CREATE_COMPLETE"


def test_public_template_of_another_project_is_visible_but_not_changeable(
    api: Api, p1: Api, p2: Api
) -> None:
    _publish(api, "p1-tpl")
    listed = p2.get("/v1/clustertemplates").json()["clustertemplates"]
    assert [t["name"] for t in listed] == ["p1-tpl"]
    shown = p2.get("/v1/clustertemplates/p1-tpl")
    assert shown.status_code == 200 and shown.json()["project_id"] == "p1"
    patch = [{"op": "replace", "path": "/tags", "value": "stolen"}]
    refused = p2.patch("/v1/clustertemplates/p1-tpl", json=patch)
    assert refused.status_code == 403
    assert "clustertemplate:update" in error_detail(refused)
    deleted = p2.delete("/v1/clustertemplates/p1-tpl")
    assert deleted.status_code == 403
    assert p1.get("/v1/clustertemplates/p1-tpl").json()["tags"] is None
    # but p2 may build its own cluster from it
    created = p2.post("/v1/clusters", json={"name": "c2", "cluster_template_id": "p1-tpl"})
    assert created.status_code == 202, created.text
    assert [c["name"] for c in p2.get("/v1/clusters").json()["clusters"]] == ["c2"]
    assert [c["name"] for c in p1.get("/v1/clusters").json()["clusters"]] == ["c1"]


def test_hidden_public_template_is_not_shown_to_another_project(api: Api, p1: Api, p2: Api) -> None:
    _publish(api, "p1-tpl", hidden=True)
    assert p2.get("/v1/clustertemplates").json()["clustertemplates"] == []
    _not_found(p2.get("/v1/clustertemplates/p1-tpl"), "ClusterTemplate", "p1-tpl")
    # its owner still lists it
    assert [t["name"] for t in p1.get("/v1/clustertemplates").json()["clustertemplates"]] == [
        "p1-tpl"
    ]


def test_admin_sees_and_acts_on_every_project(api: Api, p1: Api, p2: Api) -> None:
    assert p2.post("/v1/clustertemplates", json=template_body(name="p2-tpl", public=False,
                   keypair_id=None)).status_code == 201  # fmt: skip
    assert api.post("/v1/clustertemplates", json=template_body(name="own")).status_code == 201
    names = {t["name"] for t in api.get("/v1/clustertemplates").json()["clustertemplates"]}
    assert names == {"p1-tpl", "p2-tpl", "own"}
    assert [c["name"] for c in api.get("/v1/clusters").json()["clusters"]] == ["c1"]
    assert api.get("/v1/clusters/c1").json()["project_id"] == "p1"
    assert len(api.get("/v1/clusters/c1/nodegroups").json()["nodegroups"]) == 2
    assert api.get("/v1/certificates/c1").status_code == 200
    assert api.get("/v1/clustertemplates/p2-tpl").json()["project_id"] == "p2"
    # an administrator of another project, through keystone-style headers, too
    other_admin = api.as_project("ops", roles="admin")
    assert [c["name"] for c in other_admin.get("/v1/clusters").json()["clusters"]] == ["c1"]
    assert other_admin.delete("/v1/clusters/c1").status_code == 204
    api.settle()
    _not_found(p1.get("/v1/clusters/c1"), "Cluster", "c1")


def test_member_without_reader_cannot_read(api: Api, p1: Api) -> None:
    member_only = api.as_project("p1", roles="member")
    for path, rule in (
        ("/v1/clusters", "cluster:get_all"),
        ("/v1/clusters/detail", "cluster:detail"),
        ("/v1/clusters/c1", "cluster:get"),
        ("/v1/clustertemplates", "clustertemplate:get_all"),
        ("/v1/clustertemplates/p1-tpl", "clustertemplate:get"),
    ):
        response = member_only.get(path)
        assert response.status_code == 403, path
        assert f"Policy doesn't allow {rule} to be performed" in error_detail(response)
    # writing is what member is for
    created = member_only.post("/v1/clusters", json={"name": "c2", "cluster_template_id": "p1-tpl"})
    assert created.status_code == 202, created.text


def test_reader_without_member_cannot_write(api: Api, p1: Api) -> None:
    reader = api.as_project("p1", roles="reader")
    assert [c["name"] for c in reader.get("/v1/clusters").json()["clusters"]] == ["c1"]
    before_templates = reader.get("/v1/clustertemplates").json()
    writes = (
        ("POST", "/v1/clustertemplates", template_body(name="r", public=False, keypair_id=None),
         "clustertemplate:create"),
        ("PATCH", "/v1/clustertemplates/p1-tpl",
         [{"op": "replace", "path": "/tags", "value": "t"}], "clustertemplate:update"),
        ("DELETE", "/v1/clustertemplates/p1-tpl", None, "clustertemplate:delete"),
        ("POST", "/v1/clusters", {"name": "c2", "cluster_template_id": "p1-tpl"},
         "cluster:create"),
        ("PATCH", "/v1/clusters/c1", [{"op": "replace", "path": "/node_count", "value": 2}],
         "cluster:update"),
        ("DELETE", "/v1/clusters/c1", None, "cluster:delete"),
    )  # fmt: skip
    for method, path, body, rule in writes:
        response = reader.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert f"Policy doesn't allow {rule} to be performed" in error_detail(response)
    assert reader.get("/v1/clustertemplates").json() == before_templates
    cluster = reader.get("/v1/clusters/c1").json()
    assert cluster["status"] == "CREATE_COMPLETE" and cluster["node_count"] == 1
    assert [c["name"] for c in reader.get("/v1/clusters").json()["clusters"]] == ["c1"]


def test_quotas_are_admin_only_except_reading_ones_own(api: Api, p1: Api) -> None:
    body = {"project_id": "p1", "resource": "Cluster", "hard_limit": 50}
    for method, path, payload, rule in (
        ("GET", "/v1/quotas", None, "quota:get_all"),
        ("POST", "/v1/quotas", body, "quota:create"),
        ("PATCH", "/v1/quotas/p1/Cluster", body, "quota:update"),
        ("DELETE", "/v1/quotas/p1/Cluster", None, "quota:delete"),
    ):
        response = p1.request(method, path, json=payload)
        assert response.status_code == 403, (method, path)
        assert f"Policy doesn't allow {rule} to be performed" in error_detail(response)
    assert api.get("/v1/quotas", params={"all_tenants": "True"}).json()["quotas"] == []
    own = p1.get("/v1/quotas/p1/Cluster")
    assert own.status_code == 200 and own.json()["hard_limit"] == 20
    other = p1.get("/v1/quotas/p2/Cluster")
    assert other.status_code == 403


def test_mservices_are_admin_only(api: Api, p1: Api) -> None:
    refused = p1.get("/v1/mservices")
    assert refused.status_code == 403
    assert "Policy doesn't allow magnum-service:get_all to be performed" in error_detail(refused)
    assert api.get("/v1/mservices").status_code == 200


def test_stats_of_another_project_are_refused(api: Api, p1: Api, p2: Api) -> None:
    refused = p2.get("/v1/stats", params={"project_id": "p1"})
    assert refused.status_code == 403
    assert error_detail(refused) == "Not authorized."
    assert p2.get("/v1/stats").json() == {"clusters": 0, "nodes": 0}
    assert p1.get("/v1/stats", params={"project_id": "p1"}).json() == {"clusters": 1, "nodes": 2}
    assert api.get("/v1/stats", params={"project_id": "p1"}).json() == {"clusters": 1, "nodes": 2}


# trusted-headers mode: identity comes only from the headers a validating proxy sets


@pytest.fixture
def proxied(db_url: str) -> Iterator[TestClient]:
    app = create_app(
        Settings(db=db_url, auth_mode="trusted-headers"), registry=DriverRegistry([InstantDriver()])
    )
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_trusted_headers_mode_refuses_requests_without_a_project(proxied: TestClient) -> None:
    for headers in (
        {},
        {"X-Auth-Token": "token", "X-Roles": "admin"},
        {"X-Project-Id": "p1", "X-Roles": "reader", "X-Identity-Status": "Invalid"},
    ):
        response = proxied.get("/v1/clusters", headers=headers)
        assert response.status_code == 401, headers
        [entry] = response.json()["errors"]
        assert entry["status"] == 401 and entry["code"] == "client"
        assert entry["title"] == "The request you have made requires authentication"
        assert entry["request_id"] == "" and entry["links"] == []
    # the version documents stay public
    assert proxied.get("/").status_code == 200
    assert proxied.get("/v1").json()["id"] == "v1"


def test_trusted_headers_mode_trusts_identity_headers(proxied: TestClient) -> None:
    reader = {"X-Project-Id": "p1", "X-User-Id": "u1", "X-Roles": "reader"}
    assert proxied.get("/v1/clusters", headers=reader).json() == {"clusters": []}
    # without member, no writes; without admin, no mservices
    assert proxied.post("/v1/keypairs", json={"name": "k"}, headers=reader).status_code == 403
    assert proxied.get("/v1/mservices", headers=reader).status_code == 403
    admin = {"X-Project-Id": "ops", "X-User-Id": "root", "X-Roles": "admin"}
    assert proxied.get("/v1/mservices", headers=admin).status_code == 200
