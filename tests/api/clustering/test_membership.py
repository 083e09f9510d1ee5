"""Nodes that change cluster keep their running container (made under the old cluster's
label): checks still find it, the balancer serves it, the old cluster's delete leaves it
alone, and ``members replace`` keeps the replaced node standing alone, as in Senlin."""

from __future__ import annotations

from typing import Any

from cove.drivers.containerhost import NODE_LABEL
from tests.api.clustering.conftest import Senlin
from tests.api.clustering.test_actions_run import act, host, lb_policy, made, members


def standalone(senlin: Senlin, name: str, profile: str) -> dict[str, Any]:
    r = senlin.post("/nodes", json={"node": {"name": name, "profile_id": profile}})
    assert r.status_code == 202, r.text
    senlin.api.settle()
    return dict(senlin.get(f"/nodes/{name}").json()["node"])


def running(senlin: Senlin, node: str) -> bool:
    return any(c.state == "running" for c in host(senlin).find_containers({NODE_LABEL: node}))


def test_an_added_node_is_checked_and_balanced_with_its_container(senlin: Senlin) -> None:
    profile = senlin.profile(name="web-lb", ports=[{"container_port": 80}])["id"]
    cluster = made(senlin, nodes=1, profile=profile)
    lb_policy(senlin)
    assert act(senlin, cluster["id"], {"policy_attach": {"policy_id": "lb"}})["status"] == (
        "SUCCEEDED"
    )
    loner = standalone(senlin, "loner", profile)
    added = act(senlin, cluster["id"], {"add_nodes": {"nodes": [loner["id"]]}})
    assert added["status"] == "SUCCEEDED", added["status_reason"]
    checked = act(senlin, cluster["id"], {"check": {}})
    assert checked["status"] == "SUCCEEDED", checked["status_reason"]
    assert {n["status"] for n in members(senlin, cluster["id"])} == {"ACTIVE"}
    shown = senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]
    balanced = next(iter(shown["data"]["loadbalancers"].values()))["members"]
    assert len(balanced) == 2  # the added node's container is served too


def test_a_node_that_left_keeps_its_container_when_the_cluster_goes(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=2)
    leaving = members(senlin, cluster["id"])[0]["id"]
    r = act(
        senlin,
        cluster["id"],
        {"del_nodes": {"nodes": [leaving], "destroy_after_deletion": False}},
    )
    assert r["status"] == "SUCCEEDED", r["status_reason"]
    r = senlin.delete(f"/clusters/{cluster['id']}")
    assert r.status_code == 202, r.text
    senlin.api.settle()
    assert senlin.get(f"/clusters/{cluster['id']}").status_code == 404
    node = senlin.get(f"/nodes/{leaving}").json()["node"]
    assert node["cluster_id"] == "" and node["status"] == "ACTIVE"
    assert running(senlin, leaving)


def test_members_replace_keeps_the_replaced_node_standing_alone(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=1)
    old = members(senlin, cluster["id"])[0]["id"]
    new = standalone(senlin, "spare", cluster["profile_id"])
    r = act(senlin, cluster["id"], {"replace_nodes": {"nodes": {old: new["id"]}}})
    assert r["status"] == "SUCCEEDED", r["status_reason"]
    assert [n["id"] for n in members(senlin, cluster["id"])] == [new["id"]]
    replaced = senlin.get(f"/nodes/{old}").json()["node"]
    assert replaced["cluster_id"] == "" and running(senlin, old)
    checked = act(senlin, cluster["id"], {"check": {}})
    assert checked["status"] == "SUCCEEDED"
    assert members(senlin, cluster["id"])[0]["status"] == "ACTIVE"
