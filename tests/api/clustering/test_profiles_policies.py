"""Profiles, profile types, policies and policy types: what a Senlin client sees."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.clustering.conftest import Senlin, fault, spec


def test_versions_and_microversions(senlin: Senlin) -> None:
    root = senlin.api.get("/clustering/")
    assert root.status_code == 300
    (v1,) = root.json()["versions"]
    assert (v1["min_version"], v1["max_version"]) == ("1.0", "1.14")
    assert v1["links"][0]["href"].endswith("/clustering/v1")
    assert senlin.api.get("/clustering/v1").json()["version"]["id"] == "1.0"
    r = senlin.get("/build-info", headers={"OpenStack-API-Version": "clustering 1.3"})
    assert r.headers["OpenStack-API-Version"] == "clustering 1.3"
    assert "build_info" in r.json()
    assert (
        senlin.get("/build-info", headers={"OpenStack-API-Version": "clustering latest"}).headers[
            "OpenStack-API-Version"
        ]
        == "clustering 1.14"
    )
    assert "not supported" in fault(
        senlin.get("/profiles", headers={"OpenStack-API-Version": "clustering 1.15"}), 406,
        "InvalidGlobalAPIVersion",
    )  # fmt: skip
    fault(senlin.get("/profiles", headers={"OpenStack-API-Version": "clustering one"}), 400)
    # Magnum's routes keep Magnum's body.
    assert "errors" in senlin.api.get("/v1/clusters/nope").json()


def test_profile_types(senlin: Senlin) -> None:
    listed = senlin.get("/profile-types").json()["profile_types"]
    assert listed == [
        {
            "name": "container.dockerinc.docker",
            "version": "1.0",
            "support_status": {"1.0": [{"status": "EXPERIMENTAL", "since": "2017.02"}]},
        }
    ]
    old = senlin.get("/profile-types", headers={"OpenStack-API-Version": "clustering 1.4"})
    assert old.json()["profile_types"] == [{"name": "container.dockerinc.docker-1.0"}]
    shown = senlin.get("/profile-types/container.dockerinc.docker-1.0").json()["profile_type"]
    assert shown["schema"]["image"]["required"] is True
    assert {"host_node", "host_cluster", "ports", "env"} <= set(shown["schema"])
    assert (
        "restart"
        in senlin.get("/profile-types/container.dockerinc.docker-1.0/ops").json()["operations"]
    )
    assert "could not be found" in fault(senlin.get("/profile-types/os.nova.server-1.0"), 404)


def test_profile_lifecycle(senlin: Senlin) -> None:
    created = senlin.profile("web", command="sleep 1", port=2375, host_node=senlin.node(1))
    assert created["type"] == "container.dockerinc.docker-1.0"
    assert created["spec"]["version"] == "1.0"
    assert created["project"] and created["user"]
    pid = created["id"]
    assert senlin.get(f"/profiles/{pid}").json()["profile"]["name"] == "web"
    assert senlin.get("/profiles/web").json()["profile"]["id"] == pid
    assert senlin.get(f"/profiles/{pid[:8]}").json()["profile"]["id"] == pid
    r = senlin.patch(f"/profiles/{pid}", json={"profile": {"name": "web2", "metadata": {"k": "v"}}})
    assert r.status_code == 200 and r.json()["profile"]["metadata"] == {"k": "v"}
    names = [p["name"] for p in senlin.get("/profiles?name=web2").json()["profiles"]]
    assert names == ["web2"]
    checked = senlin.post("/profiles/validate", json={"profile": {"spec": spec(senlin.host)}})
    assert checked.status_code == 200 and checked.json()["profile"]["id"] is None
    assert senlin.delete(f"/profiles/{pid}").status_code == 204
    assert "The profile" in fault(senlin.get(f"/profiles/{pid}"), 404, "ResourceNotFound")


@pytest.mark.parametrize(
    ("props", "needle"),
    [
        ({"colour": "red"}, "properties.colour"),
        ({"port": "many"}, "properties.port"),
        ({"ports": [{"container_port": 0}]}, "properties.ports[0].container_port"),
        ({"env": {"A": ["x"]}}, "properties.env.A"),
        ({"resources": {"memory": 2**31}}, "properties.resources.memory"),
        ({"name": "a\x00b"}, "properties.name"),
        ({"host_cluster": None, "host_node": None}, "host_cluster"),
        ({"host_cluster": "nope"}, "properties.host_cluster"),
    ],
)
def test_bad_profiles_are_refused_naming_the_property(
    senlin: Senlin, props: dict[str, Any], needle: str
) -> None:
    document = spec(senlin.host_name, **props)
    if props.get("host_cluster", "") is None:
        document["properties"].pop("host_cluster")
        document["properties"].pop("host_node")
    r = senlin.post("/profiles", json={"profile": {"name": "bad", "spec": document}})
    assert needle in fault(r, 400, "InvalidSpec")
    assert senlin.get("/profiles").json()["profiles"] == []


def test_host_node_must_belong_to_host_cluster(senlin: Senlin, catalog: dict[str, Any]) -> None:
    from tests.api.clustering.conftest import host_cluster

    other = host_cluster(senlin.api, "host2", 1)
    r = senlin.post(
        "/profiles",
        json={
            "profile": {"name": "p", "spec": spec("host1", host_node=f"cove-{other[:8]}-worker-0")}
        },
    )
    assert "is not a node of host_cluster 'host1'" in fault(r, 400, "InvalidSpec")
    only_node = spec(None, host_node=f"cove-{other[:8]}-worker-0")
    r = senlin.post("/profiles", json={"profile": {"name": "p", "spec": only_node}})
    assert r.status_code == 201, r.text


def test_other_projects_clusters_are_not_hosts(senlin: Senlin) -> None:
    other = senlin.as_project("other")
    r = other.post("/profiles", json={"profile": {"name": "p", "spec": spec(senlin.host)}})
    assert "could not be found" in fault(r, 400, "InvalidSpec")


@pytest.mark.parametrize(
    "body",
    [
        {"profile": {"name": "p"}},
        {"profile": {"name": "", "spec": {}}},
        {"profile": {"name": "x" * 256, "spec": {}}},
        {"profile": {"name": "a\x01", "spec": {}}},
        {"profile": {"name": "p", "spec": {}, "extra": 1}},
        {"profile": {"name": 5, "spec": {}}},
        {"profile": []},
        [],
    ],
)
def test_hostile_profile_bodies(senlin: Senlin, body: Any) -> None:
    fault(senlin.post("/profiles", json=body), 400, "BadRequest")
    assert senlin.get("/profiles").json()["profiles"] == []


def test_profile_pagination_and_scoping(senlin: Senlin) -> None:
    ids = [senlin.profile(f"p{i}")["id"] for i in range(3)]
    page = senlin.get("/profiles?limit=2&sort=name:asc").json()["profiles"]
    assert [p["name"] for p in page] == ["p0", "p1"]
    rest = senlin.get(f"/profiles?limit=2&sort=name:asc&marker={page[-1]['id']}").json()["profiles"]
    assert [p["name"] for p in rest] == ["p2"]
    other = senlin.as_project("other")
    assert other.get("/profiles").json()["profiles"] == []
    fault(other.get(f"/profiles?marker={ids[0]}"), 404, "ResourceNotFound")
    fault(other.get(f"/profiles/{ids[0]}"), 404, "ResourceNotFound")
    fault(other.patch(f"/profiles/{ids[0]}", json={"profile": {"name": "x"}}), 404)
    fault(other.delete(f"/profiles/{ids[0]}"), 404)
    fault(other.get("/profiles?global_project=true"), 403, "Forbidden")
    fault(senlin.get("/profiles?sort=spec"), 400)
    fault(senlin.get("/profiles?limit=-1"), 400)
    fault(senlin.get("/profiles?colour=red"), 400)
    fault(senlin.get("/profiles?marker=not-a-uuid"), 400)
    assert len(senlin.get("/profiles?global_project=true").json()["profiles"]) == 3  # admin


def test_policy_types_and_policies(senlin: Senlin) -> None:
    names = {(t["name"], t["version"]) for t in senlin.get("/policy-types").json()["policy_types"]}
    assert ("senlin.policy.deletion", "1.1") in names and ("senlin.policy.health", "1.2") in names
    shown = senlin.get("/policy-types/senlin.policy.scaling-1.0").json()["policy_type"]
    assert shown["schema"]["event"]["required"] is True
    body = {
        "policy": {
            "name": "grow",
            "spec": {
                "type": "senlin.policy.scaling",
                "version": 1.0,
                "properties": {"event": "CLUSTER_SCALE_OUT"},
            },
        }
    }
    r = senlin.post("/policies", json=body)
    assert r.status_code == 201, r.text
    policy = r.json()["policy"]
    assert policy["type"] == "senlin.policy.scaling-1.0"
    assert senlin.get("/policies/grow").json()["policy"]["id"] == policy["id"]
    assert (
        senlin.patch(f"/policies/{policy['id']}", json={"policy": {"name": "up"}}).json()["policy"][
            "name"
        ]
        == "up"
    )
    assert (
        senlin.post(
            "/policies/validate", json={"policy": {"spec": body["policy"]["spec"]}}
        ).status_code
        == 200
    )
    assert [p["name"] for p in senlin.get("/policies").json()["policies"]] == ["up"]
    assert senlin.delete(f"/policies/{policy['id']}").status_code == 204


@pytest.mark.parametrize(
    ("policy_spec", "needle"),
    [
        ({"type": "senlin.policy.scaling", "version": "2.0"}, "Known policy types"),
        ({"type": "senlin.policy.zone_placement", "version": "1.0"}, "Known policy types"),
        (
            {"type": "senlin.policy.scaling", "version": "1.0", "properties": {"event": "X"}},
            "properties.event",
        ),
        (
            {"type": "senlin.policy.batch", "version": "1.0", "properties": {"pause_time": -1}},
            "properties.pause_time",
        ),
        (  # a mode cove would not run is refused, not accepted and ignored
            {
                "type": "senlin.policy.health",
                "version": "1.1",
                "properties": {
                    "detection": {"detection_modes": [{"type": "NODE_STATUS_POLL_URL"}]},
                    "recovery": {"actions": [{"name": "RECREATE"}]},
                },
            },
            "NODE_STATUS_POLLING, LIFECYCLE_EVENTS",
        ),
    ],
)
def test_bad_policies(senlin: Senlin, policy_spec: dict[str, Any], needle: str) -> None:
    r = senlin.post("/policies", json={"policy": {"name": "p", "spec": policy_spec}})
    assert needle in fault(r, 400, "InvalidSpec")
    assert senlin.get("/policies").json()["policies"] == []
