"""Clusters, nodes, actions, receivers and events as a Senlin client sees them. Actions
stay READY here (no conductor runs them); ``finish`` completes them as the conductor would."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from cove.db import clustering as db
from cove.db import models
from cove.db.session import transaction
from tests.api.clustering.conftest import Senlin, fault


def finish(senlin: Senlin) -> None:
    """What the conductor side does at the end of each action, enough for the next one."""
    factory = senlin.api.client.app.state.session_factory  # type: ignore[attr-defined]
    with transaction(factory) as session:
        session.execute(
            update(models.Operation)
            .where(models.Operation.state.in_(("pending", "running")))
            .where(models.Operation.subject_kind.in_(("container_cluster", "container_node")))
            .values(state="succeeded", finished_at=models.utcnow())
        )
        session.execute(update(db.ContainerCluster).values(status="ACTIVE"))
        session.execute(update(db.ContainerNode).values(status="ACTIVE"))


def test_create_cluster_answers_202_with_the_action(senlin: Senlin) -> None:
    profile = senlin.profile()
    r = senlin.post(
        "/clusters",
        json={
            "cluster": {
                "name": "web",
                "profile_id": profile["name"],
                "min_size": "1",
                "max_size": 3,
                "desired_capacity": 2,
            }
        },
    )
    assert r.status_code == 202, r.text
    cluster = r.json()["cluster"]
    assert cluster["status"] == "INIT" and cluster["desired_capacity"] == 2
    assert cluster["profile_id"] == profile["id"] and cluster["profile_name"] == "web"
    location = r.headers["Location"]
    assert "/clustering/v1/actions/" in location
    action_id = location.rsplit("/", 1)[1]
    action = senlin.get(f"/actions/{action_id}").json()["action"]
    assert action["action"] == "CLUSTER_CREATE" and action["status"] == "READY"
    assert action["target"] == cluster["id"] and action["cluster_id"] == cluster["id"]
    assert action["cause"] == "RPC Request" and action["inputs"] == {}
    listed = senlin.get(f"/actions?target={cluster['id']}").json()["actions"]
    assert [a["id"] for a in listed] == [action_id]
    assert [c["name"] for c in senlin.get("/clusters").json()["clusters"]] == ["web"]
    assert senlin.get("/clusters/web").json()["cluster"]["id"] == cluster["id"]
    events = senlin.get(f"/events?cluster_id={cluster['id']}").json()["events"]
    assert events and events[0]["action"] == "CLUSTER_CREATE" and events[0]["level"] == "INFO"


def test_a_second_action_is_a_conflict_naming_the_running_one(senlin: Senlin) -> None:
    cluster = senlin.cluster()
    running = senlin.get(f"/actions?target={cluster['id']}").json()["actions"][0]["id"]
    r = senlin.post(f"/clusters/{cluster['id']}/actions", json={"scale_out": {"count": 1}})
    assert running in fault(r, 409, "ActionConflict")
    finish(senlin)
    r = senlin.post(f"/clusters/{cluster['id']}/actions", json={"scale_out": {"count": 1}})
    assert r.status_code == 202, r.text
    op = senlin.get(f"/actions/{r.json()['action']}").json()["action"]
    assert op["action"] == "CLUSTER_SCALE_OUT" and op["inputs"] == {"count": 1}
    assert senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["status"] == "RESIZING"


def test_delete_supersedes_what_runs(senlin: Senlin) -> None:
    cluster = senlin.cluster()
    create = senlin.get(f"/actions?target={cluster['id']}").json()["actions"][0]["id"]
    r = senlin.delete(f"/clusters/{cluster['id']}")
    assert r.status_code == 202 and "/actions/" in r.headers["Location"]
    assert senlin.get(f"/actions/{create}").json()["action"]["status"] == "CANCELLED"
    assert senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["status"] == "DELETING"
    again = senlin.delete(f"/clusters/{cluster['id']}")
    assert again.headers["Location"] == r.headers["Location"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"min_size": 3, "max_size": 2}, "greater than the specified max_size (2)"),
        ({"desired_capacity": 5, "max_size": 2}, "The target capacity (5) is greater"),
        ({"desired_capacity": 1001}, "maximum number of nodes allowed per cluster (1000)"),
        ({"min_size": -1}, "cluster.min_size"),
        ({"max_size": -2}, "cluster.max_size"),
        ({"desired_capacity": 2**31}, "cluster.desired_capacity"),
        ({"timeout": "soon"}, "cluster.timeout"),
        ({"colour": "red"}, "cluster.colour"),
        ({"name": "a\x00"}, "cluster.name"),
        ({"metadata": []}, "cluster.metadata"),
    ],
)
def test_bad_cluster_bodies(senlin: Senlin, body: dict[str, Any], needle: str) -> None:
    profile = senlin.profile()
    r = senlin.post(
        "/clusters", json={"cluster": {"name": "c", "profile_id": profile["id"], **body}}
    )
    assert needle in fault(r, 400, "BadRequest")
    assert senlin.get("/clusters").json()["clusters"] == []
    assert senlin.get("/actions").json()["actions"] == []


def test_other_projects_ids_are_not_found_anywhere(senlin: Senlin) -> None:
    cluster = senlin.cluster()
    finish(senlin)
    profile = cluster["profile_id"]
    other = senlin.as_project("other")
    cid = cluster["id"]
    fault(other.post("/clusters", json={"cluster": {"name": "x", "profile_id": profile}}), 404)
    for method, path, body in [
        ("GET", f"/clusters/{cid}", None),
        ("PATCH", f"/clusters/{cid}", {"cluster": {"name": "x"}}),
        ("DELETE", f"/clusters/{cid}", None),
        ("POST", f"/clusters/{cid}/actions", {"check": {}}),
        ("GET", f"/clusters/{cid}/policies", None),
        ("GET", f"/clusters?marker={cid}", None),
        ("GET", f"/actions?marker={senlin.get('/actions').json()['actions'][0]['id']}", None),
        ("POST", "/nodes", {"node": {"name": "n", "profile_id": profile}}),
        (
            "POST",
            "/receivers",
            {"receiver": {"name": "r", "cluster_id": cid, "action": "CLUSTER_SCALE_OUT"}},
        ),
    ]:
        r = other.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["type"] == "ResourceNotFound"
    assert other.get("/clusters").json()["clusters"] == []
    assert other.get("/actions").json()["actions"] == []
    assert other.get("/events").json()["events"] == []


def test_resize_validation(senlin: Senlin) -> None:
    cid = senlin.cluster(min_size=1, max_size=4, desired_capacity=2)["id"]
    finish(senlin)
    cases = [
        ({"resize": {}}, "Not enough parameters"),
        ({"resize": {"adjustment_type": "EXACT_CAPACITY"}}, "Missing number value"),
        ({"resize": {"number": 2}}, "Missing adjustment_type value"),
        (
            {"resize": {"adjustment_type": "EXACT_CAPACITY", "number": 9}},
            "greater than the cluster's max_size (4)",
        ),
        ({"resize": {"adjustment_type": "SOME", "number": 1}}, "resize.adjustment_type"),
        (
            {"resize": {"min_size": 5, "max_size": 3}},
            "min_size (5) is greater than the specified max_size (3)",
        ),
        ({"scale_in": {"count": 0}}, "'count'"),
        ({"scale_in": {"count": 3}}, "less than the cluster's min_size (1)"),
        ({"scale_out": {"count": 3}}, "greater than the cluster's max_size (4)"),
        ({"grow": {}}, "Unrecognized action 'grow'"),
        ({"check": {}, "recover": {}}, "Multiple actions"),
        ({"recover": {"operation": "REBUILD"}}, "RECREATE, REBOOT"),
        ({"del_nodes": {"nodes": ["nope"]}}, "Nodes not found"),
        ({"policy_detach": {"policy_id": "nope"}}, "could not be found"),
    ]
    for body, needle in cases:
        r = senlin.post(f"/clusters/{cid}/actions", json=body)
        assert r.status_code in (400, 404), (body, r.text)
        assert needle in r.json()["error"]["message"], (body, r.text)
    assert len(senlin.get("/actions").json()["actions"]) == 1  # the create only
    r = senlin.post(
        f"/clusters/{cid}/actions",
        json={"resize": {"adjustment_type": "CHANGE_IN_PERCENTAGE", "number": 50, "min_step": 1}},
    )
    assert r.status_code == 202, r.text
    inputs = senlin.get(f"/actions/{r.json()['action']}").json()["action"]["inputs"]
    assert inputs == {
        "adjustment_type": "CHANGE_IN_PERCENTAGE",
        "number": 50.0,
        "min_step": 1,
        "strict": True,
    }


def test_policy_attach_and_double_attach(senlin: Senlin) -> None:
    cid = senlin.cluster()["id"]
    finish(senlin)
    spec_ = {
        "type": "senlin.policy.deletion",
        "version": "1.1",
        "properties": {"criteria": "OLDEST_FIRST"},
    }
    pid = senlin.post("/policies", json={"policy": {"name": "del", "spec": spec_}}).json()[
        "policy"
    ]["id"]
    r = senlin.post(f"/clusters/{cid}/actions", json={"policy_attach": {"policy_id": pid}})
    assert r.status_code == 202, r.text
    inputs = senlin.get(f"/actions/{r.json()['action']}").json()["action"]["inputs"]
    assert inputs == {"policy_id": pid, "enabled": True}
    fault(senlin.post(f"/clusters/{cid}/actions", json={"policy_attach": {"policy_id": pid}}), 409)
    # The conductor attaches it; a second attach is then refused at once.
    factory = senlin.api.client.app.state.session_factory  # type: ignore[attr-defined]
    with transaction(factory) as session:
        cluster = session.query(db.ContainerCluster).one()
        policy = session.query(db.Policy).one()
        session.add(db.PolicyBinding(cluster_id=cluster.id, policy_id=policy.id, priority=400))
    finish(senlin)
    assert "already attached" in fault(
        senlin.post(f"/clusters/{cid}/actions", json={"policy_attach": {"policy_id": pid}}), 409
    )
    bindings = senlin.get(f"/clusters/{cid}/policies").json()["cluster_policies"]
    assert [(b["policy_id"], b["policy_type"]) for b in bindings] == [
        (pid, "senlin.policy.deletion-1.1")
    ]
    assert senlin.get(f"/clusters/{cid}/policies/{pid}").json()["cluster_policy"]["enabled"] is True
    assert "still attached" in fault(senlin.delete(f"/policies/{pid}"), 409, "ResourceInUse")
    assert "policy(s) attached" in fault(senlin.delete(f"/clusters/{cid}"), 409, "ResourceInUse")
    r = senlin.post(f"/clusters/{cid}/actions", json={"policy_detach": {"policy_id": pid}})
    assert r.status_code == 202


def test_nodes(senlin: Senlin) -> None:
    profile = senlin.profile()
    r = senlin.post(
        "/nodes", json={"node": {"name": "n1", "profile_id": profile["id"], "role": "web"}}
    )
    assert r.status_code == 202, r.text
    node = r.json()["node"]
    assert node["cluster_id"] == "" and node["status"] == "INIT" and node["tainted"] is False
    action = senlin.get(r.headers["Location"].split("/clustering/v1")[1]).json()["action"]
    assert action["action"] == "NODE_CREATE" and action["inputs"] == {"node": node["id"]}
    assert action["target"] == node["id"]
    fault(senlin.post(f"/nodes/{node['id']}/actions", json={"check": {}}), 409, "ActionConflict")
    finish(senlin)
    cid = senlin.cluster(profile=profile["id"])["id"]
    clustered = senlin.post(
        "/nodes", json={"node": {"name": "n2", "profile_id": profile["id"], "cluster_id": cid}}
    )
    fault(clustered, 409, "ActionConflict")  # the cluster's create still runs
    finish(senlin)
    clustered = senlin.post(
        "/nodes", json={"node": {"name": "n2", "profile_id": profile["id"], "cluster_id": cid}}
    )
    assert clustered.status_code == 202, clustered.text
    n2 = clustered.json()["node"]
    assert n2["cluster_id"] == cid and n2["index"] == 1
    a = senlin.get(clustered.headers["Location"].split("/clustering/v1")[1]).json()["action"]
    assert a["target"] == n2["id"] and a["cluster_id"] == cid
    finish(senlin)
    assert senlin.get(f"/clusters/{cid}").json()["cluster"]["nodes"] == [n2["id"]]
    assert [n["name"] for n in senlin.get(f"/nodes?cluster_id={cid}").json()["nodes"]] == ["n2"]
    r = senlin.post(f"/nodes/{node['id']}/ops", json={"restart": {"params": {"wait_time": 3}}})
    assert r.status_code == 202, r.text
    finish(senlin)
    fault(senlin.post(f"/nodes/{node['id']}/ops", json={"explode": {}}), 400, "InvalidSpec")
    r = senlin.post(f"/clusters/{cid}/actions", json={"add_nodes": {"nodes": [node["id"]]}})
    assert r.status_code == 202, r.text
    finish(senlin)
    r = senlin.post(f"/clusters/{cid}/actions", json={"add_nodes": {"nodes": [n2["id"]]}})
    assert "already owned" in fault(r, 409, "NodeNotOrphan")
    r = senlin.patch(f"/nodes/{n2['id']}", json={"node": {"name": "renamed"}})
    assert r.status_code == 202
    assert senlin.get(r.headers["Location"].split("/clustering/v1")[1]).json()["action"][
        "inputs"
    ] == {"node": n2["id"], "name": "renamed"}
    finish(senlin)
    r = senlin.delete(f"/nodes/{n2['id']}")
    assert r.status_code == 202 and "/actions/" in r.headers["Location"]


def test_receivers_and_webhooks(senlin: Senlin) -> None:
    cid = senlin.cluster(max_size=5)["id"]
    finish(senlin)
    r = senlin.post(
        "/receivers",
        json={
            "receiver": {
                "name": "grow",
                "cluster_id": cid,
                "action": "CLUSTER_SCALE_OUT",
                "params": {"count": 2},
            }
        },
    )
    assert r.status_code == 201, r.text
    receiver = r.json()["receiver"]
    url = receiver["channel"]["alarm_url"]
    secret = url.split("/webhooks/", 1)[1].split("/", 1)[0]
    assert url.endswith(f"/clustering/v1/webhooks/{secret}/trigger?V=2") and len(secret) >= 40
    assert secret != receiver["id"]
    shown = senlin.get("/receivers/grow").json()["receiver"]
    listed = senlin.get(f"/receivers?cluster_id={cid}").json()["receivers"]
    assert shown["id"] == receiver["id"] and [x["name"] for x in listed] == ["grow"]
    # The owner's show gives the URL again (Senlin's clients show it after create); no list
    # shows it.
    assert shown["channel"] == {"alarm_url": url}
    for seen in listed:
        assert secret not in str(seen) and seen["channel"] == {}
    # No identity at all: the secret in the URL is the credential; the id is not.
    by_id = senlin.api.client.post(f"/clustering/v1/webhooks/{receiver['id']}/trigger?V=2")
    assert "could not be found" in fault(by_id, 404, "ResourceNotFound")
    anonymous = senlin.api.client.post(
        url.split("testserver", 1)[1], headers={"OpenStack-API-Version": "clustering 1.10"}
    )
    assert anonymous.status_code == 202, anonymous.text
    action_id = anonymous.json()["action"]
    assert anonymous.headers["Location"].endswith(f"/clustering/v1/actions/{action_id}")
    action = senlin.get(f"/actions/{action_id}").json()["action"]
    assert action["action"] == "CLUSTER_SCALE_OUT" and action["inputs"] == {"count": 2}
    assert action["user"] == receiver["user"]
    unknown = senlin.api.client.post(f"/clustering/v1/webhooks/{secret[:-1]}x/trigger?V=2")
    message = fault(unknown, 404, "ResourceNotFound")
    assert secret[:-1] not in message, "a refused secret is not echoed"
    fault(senlin.api.client.post("/clustering/v1/webhooks/nope/trigger"), 404)
    bad = [
        ({"name": "r", "cluster_id": cid, "action": "CLUSTER_CREATE"}, "Illegal cluster action"),
        ({"name": "r", "cluster_id": cid, "action": "EXPLODE"}, "Illegal cluster action"),
        ({"name": "r", "action": "CLUSTER_SCALE_OUT"}, "Cluster identity is required"),
        ({"name": "r", "type": "message", "cluster_id": cid}, "not supported"),
        ({"name": "r", "type": "mail", "cluster_id": cid}, "receiver.type"),
    ]
    for body, needle in bad:
        assert needle in fault(senlin.post("/receivers", json={"receiver": body}), 400)
    assert "receiver(s) associated" in fault(senlin.delete(f"/clusters/{cid}"), 409)
    assert senlin.delete(f"/receivers/{receiver['id']}").status_code == 204


def test_cancel_an_action(senlin: Senlin) -> None:
    senlin.cluster()
    aid = senlin.get("/actions").json()["actions"][0]["id"]
    r = senlin.patch(f"/actions/{aid}", json={"action": {"status": "CANCELLED"}})
    assert r.status_code == 202
    assert senlin.get(f"/actions/{aid}").json()["action"]["status"] == "CANCELLED"
    fault(senlin.patch(f"/actions/{aid}", json={"action": {"status": "CANCELLED"}}), 409)


def test_host_cluster_in_use_cannot_be_deleted(senlin: Senlin) -> None:
    senlin.cluster(name="web")
    r = senlin.api.delete(f"/v1/clusters/{senlin.host}")
    assert r.status_code == 409
    assert "web" in r.json()["errors"][0]["detail"]


def test_profile_in_use_cannot_be_deleted(senlin: Senlin) -> None:
    profile = senlin.cluster()["profile_id"]
    assert "still referenced" in fault(senlin.delete(f"/profiles/{profile}"), 409, "ResourceInUse")


def test_the_node_cap_is_a_setting(make_api: Any, catalog: Any) -> None:
    from tests.api.clustering.conftest import host_cluster

    api = make_api(max_nodes_per_cluster=3)
    senlin = Senlin(api, host_cluster(api), "host1")
    profile = senlin.profile()["id"]
    r = senlin.post(
        "/clusters", json={"cluster": {"name": "c", "profile_id": profile, "desired_capacity": 4}}
    )
    assert "maximum number of nodes allowed per cluster (3)" in fault(r, 400)
