"""Actions carried out: the conductor's clustering reconcilers run each action to its end
on the in-memory container host of the cove cluster (the same code that drives real
engines), and the results are read back through the API as a Senlin client reads them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from cove.clustering.balancing import balancer_name
from cove.conductor.clustering.health import ContainerHealth
from cove.conductor.kinds import every_reconciler
from cove.db import models
from cove.drivers.containerhost import NODE_LABEL, OWNER_LABEL
from cove.drivers.memoryhost import MemoryContainerHost
from tests.api.clustering.conftest import Senlin, fault
from tests.support.drivers import InstantDriver


def host(senlin: Senlin) -> MemoryContainerHost:
    """The cove cluster's engines (listing its nodes makes the driver open them)."""
    if senlin.host not in InstantDriver.hosts:
        assert senlin.api.get(f"/v1/clusters/{senlin.host}/nodes").status_code == 200
    return InstantDriver.hosts[senlin.host]


def act(senlin: Senlin, cluster: str, body: dict[str, Any]) -> dict[str, Any]:
    r = senlin.post(f"/clusters/{cluster}/actions", json=body)
    assert r.status_code == 202, r.text
    senlin.api.settle()
    return dict(senlin.get(f"/actions/{r.json()['action']}").json()["action"])


def members(senlin: Senlin, cluster: str) -> list[dict[str, Any]]:
    return list(senlin.get(f"/nodes?cluster_id={cluster}").json()["nodes"])


def placed(senlin: Senlin, cluster: str) -> Counter[str]:
    """Running containers of the cluster per host node, as the engines report them."""
    return Counter(c.node for c in host(senlin).find_containers({OWNER_LABEL: cluster}))


def made(senlin: Senlin, nodes: int = 4, **body: Any) -> dict[str, Any]:
    cluster = senlin.cluster(desired_capacity=nodes, **body)
    senlin.api.settle()
    return dict(senlin.get(f"/clusters/{cluster['id']}").json()["cluster"])


def test_create_places_each_container_on_the_least_loaded_node(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=6)
    assert cluster["status"] == "ACTIVE", cluster["status_reason"]
    nodes = members(senlin, cluster["id"])
    assert len(nodes) == 6 and {n["status"] for n in nodes} == {"ACTIVE"}
    counts = placed(senlin, cluster["id"])
    hosts = [n.name for n in host(senlin).nodes()]
    assert sum(counts.values()) == 6
    assert max(counts.values()) - min(counts[h] for h in hosts) <= 1
    for node in nodes:  # each node names its container and where it runs
        detail = senlin.get(f"/nodes/{node['id']}").json()["node"]
        assert detail["physical_id"] and detail["data"]["placement"]["host_node"] in hosts
    create = senlin.get(f"/actions?target={cluster['id']}").json()["actions"][0]
    assert create["status"] == "SUCCEEDED" and len(create["outputs"]["nodes_added"]) == 6


def test_a_busy_node_is_passed_over(senlin: Senlin) -> None:
    names = [n.name for n in host(senlin).nodes()]
    busy = names[0]
    host(senlin).set_load(busy, cpu=1.8)
    cluster = made(senlin, nodes=len(names))
    assert busy not in placed(senlin, cluster["id"])


def test_scale_out_and_in_change_members_and_desired_capacity(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=2, max_size=5)
    out = act(senlin, cluster["id"], {"scale_out": {"count": 2}})
    assert out["status"] == "SUCCEEDED", out["status_reason"]
    shown = senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]
    assert shown["desired_capacity"] == 4 and len(shown["nodes"]) == 4
    assert sum(placed(senlin, cluster["id"]).values()) == 4
    over = senlin.post(f"/clusters/{cluster['id']}/actions", json={"scale_out": {"count": 2}})
    assert over.status_code == 400 and "max_size (5)" in over.text
    inn = act(senlin, cluster["id"], {"scale_in": {"count": 3}})
    assert inn["status"] == "SUCCEEDED", inn["status_reason"]
    assert sum(placed(senlin, cluster["id"]).values()) == 1
    assert senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["desired_capacity"] == 1


def test_deletion_policy_picks_the_oldest(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=1)
    first = members(senlin, cluster["id"])[0]["id"]
    act(senlin, cluster["id"], {"scale_out": {"count": 2}})
    policy = senlin.post(
        "/policies",
        json={
            "policy": {
                "name": "oldest",
                "spec": {
                    "type": "senlin.policy.deletion",
                    "version": 1.1,
                    "properties": {"criteria": "OLDEST_FIRST"},
                },
            }
        },
    )
    assert policy.status_code == 201, policy.text
    attach = act(senlin, cluster["id"], {"policy_attach": {"policy_id": "oldest"}})
    assert attach["status"] == "SUCCEEDED", attach["status_reason"]
    act(senlin, cluster["id"], {"scale_in": {"count": 1}})
    left = {n["id"] for n in members(senlin, cluster["id"])}
    assert first not in left and len(left) == 2


def test_scaling_policy_decides_the_count_and_its_cooldown_holds(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=2)
    senlin.post(
        "/policies",
        json={
            "policy": {
                "name": "double",
                "spec": {
                    "type": "senlin.policy.scaling",
                    "version": 1.0,
                    "properties": {
                        "event": "CLUSTER_SCALE_OUT",
                        "adjustment": {
                            "type": "CHANGE_IN_PERCENTAGE",
                            "number": 100,
                            "cooldown": 300,
                        },
                    },
                },
            }
        },
    )
    act(senlin, cluster["id"], {"policy_attach": {"policy_id": "double"}})
    assert act(senlin, cluster["id"], {"scale_out": {}})["status"] == "SUCCEEDED"
    assert len(members(senlin, cluster["id"])) == 4
    again = act(senlin, cluster["id"], {"scale_out": {}})
    assert again["status"] == "FAILED" and "cooldown" in again["status_reason"]


def test_check_and_recover_a_killed_container(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=2)
    victim = members(senlin, cluster["id"])[0]
    container = next(
        c
        for c in host(senlin).find_containers({OWNER_LABEL: cluster["id"]})
        if c.labels[NODE_LABEL] == victim["id"]
    )
    host(senlin).kill(container.node, container.name)
    check = act(senlin, cluster["id"], {"check": {}})
    assert check["status"] == "SUCCEEDED"
    node = senlin.get(f"/nodes/{victim['id']}").json()["node"]
    assert node["status"] == "ERROR" and "exited" in node["status_reason"]
    assert senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["status"] == "WARNING"
    recover = act(senlin, cluster["id"], {"recover": {}})
    assert recover["status"] == "SUCCEEDED", recover["status_reason"]
    assert senlin.get(f"/nodes/{victim['id']}").json()["node"]["status"] == "ACTIVE"
    assert host(senlin).container(container.node, container.name).state == "running"
    assert senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["status"] == "ACTIVE"


def test_recover_moves_containers_off_a_lost_node(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=4)
    lost = placed(senlin, cluster["id"]).most_common(1)[0][0]
    host(senlin).stop_node(lost)
    assert act(senlin, cluster["id"], {"recover": {}})["status"] == "SUCCEEDED"
    nodes = members(senlin, cluster["id"])
    assert {n["status"] for n in nodes} == {"ACTIVE"}
    for node in nodes:
        where = senlin.get(f"/nodes/{node['id']}").json()["node"]["data"]["placement"]
        assert where["host_node"] != lost


def test_operations_restart_pause_unpause(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=1)
    (container,) = host(senlin).find_containers({OWNER_LABEL: cluster["id"]})
    r = senlin.post(f"/clusters/{cluster['id']}/ops", json={"pause": {}})
    assert r.status_code == 202, r.text
    senlin.api.settle()
    assert host(senlin).container(container.node, container.name).state == "paused"
    senlin.post(f"/clusters/{cluster['id']}/ops", json={"unpause": {}})
    senlin.api.settle()
    assert host(senlin).container(container.node, container.name).state == "running"


def test_delete_leaves_no_container(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=3)
    assert senlin.delete(f"/clusters/{cluster['id']}").status_code == 202
    senlin.api.settle()
    assert senlin.get(f"/clusters/{cluster['id']}").status_code == 404
    assert host(senlin).find_containers({OWNER_LABEL: cluster["id"]}) == []
    assert senlin.get("/nodes").json()["nodes"] == []


def test_webhook_scales_out_without_credentials(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=1)
    r = senlin.post(
        "/receivers",
        json={
            "receiver": {
                "name": "up",
                "type": "webhook",
                "cluster_id": cluster["id"],
                "action": "CLUSTER_SCALE_OUT",
                "params": {"count": "2"},
            }
        },
    )
    assert r.status_code == 201, r.text
    url = r.json()["receiver"]["channel"]["alarm_url"]
    path = url.split("/clustering/v1", 1)[1]
    anonymous = senlin.api.client.post(f"/clustering/v1{path}")
    assert anonymous.status_code == 202, anonymous.text
    senlin.api.settle()
    assert len(members(senlin, cluster["id"])) == 3


def test_image_nobody_has_fails_the_node_with_the_reason(senlin: Senlin) -> None:
    profile = senlin.profile(name="ghost", image="ghost:1")
    cluster = senlin.cluster(name="c-ghost", profile=profile["id"], desired_capacity=1)
    senlin.api.settle()
    shown = senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]
    assert shown["status"] == "ERROR" and "ghost:1" in shown["status_reason"]
    (node,) = members(senlin, cluster["id"])
    assert node["status"] == "ERROR" and "not available" in node["status_reason"]
    assert senlin.delete(f"/clusters/{cluster['id']}").status_code == 202
    senlin.api.settle()
    assert senlin.get(f"/clusters/{cluster['id']}").status_code == 404


def health_watch(senlin: Senlin) -> ContainerHealth:
    factory = senlin.api.client.app.state.session_factory  # type: ignore[attr-defined]
    _, containers = every_reconciler(factory, senlin.api.drivers)
    return ContainerHealth(factory, containers.actions, models.utcnow)


def attach_health(senlin: Senlin, cluster: str, interval: int = 1) -> None:
    spec = {
        "type": "senlin.policy.health",
        "version": 1.1,
        "properties": {
            "detection": {
                "detection_modes": [{"type": "NODE_STATUS_POLLING"}],
                "interval": interval,
            },
            "recovery": {"actions": [{"name": "RECREATE"}]},
        },
    }
    r = senlin.post("/policies", json={"policy": {"name": "health", "spec": spec}})
    assert r.status_code == 201, r.text
    assert act(senlin, cluster, {"policy_attach": {"policy_id": "health"}})["status"] == (
        "SUCCEEDED"
    )


def test_health_policy_recreates_a_killed_container(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=2)
    attach_health(senlin, cluster["id"])
    watch = health_watch(senlin)
    assert watch.tick() == 0, "nothing to recover while every member runs"
    (victim, _) = host(senlin).find_containers({OWNER_LABEL: cluster["id"]})
    host(senlin).kill(victim.node, victim.name)
    assert watch.tick() == 0, "looked at less than one interval ago"
    watch._looked.clear()  # the interval has passed
    assert watch.tick() == 1
    node = senlin.get(f"/nodes/{victim.labels[NODE_LABEL]}").json()["node"]
    assert node["status"] == "ERROR" and "exited" in node["status_reason"]
    senlin.api.settle()
    assert host(senlin).container(victim.node, victim.name).state == "running"
    assert senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["status"] == "ACTIVE"
    recover = senlin.get(f"/actions?target={cluster['id']}&sort=created_at:desc").json()
    assert recover["actions"][0]["action"] == "CLUSTER_RECOVER"
    assert recover["actions"][0]["cause"] == "Health policy"


def test_health_policy_moves_members_off_a_lost_host_node(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=3)
    attach_health(senlin, cluster["id"])
    lost = placed(senlin, cluster["id"]).most_common(1)[0][0]
    host(senlin).lose_node(lost)  # the node and its containers are gone
    assert health_watch(senlin).tick() == 1
    senlin.api.settle()
    assert lost not in placed(senlin, cluster["id"])
    assert sum(placed(senlin, cluster["id"]).values()) == 3


def test_a_disabled_health_policy_does_nothing(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=1)
    attach_health(senlin, cluster["id"])
    r = senlin.post(
        f"/clusters/{cluster['id']}/actions",
        json={"policy_update": {"policy_id": "health", "enabled": False}},
    )
    assert r.status_code == 202, r.text
    senlin.api.settle()
    (victim,) = host(senlin).find_containers({OWNER_LABEL: cluster["id"]})
    host(senlin).kill(victim.node, victim.name)
    assert health_watch(senlin).tick() == 0


def test_a_node_created_into_a_cluster_is_placed_and_grows_it(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=2)
    profile = cluster["profile_id"]
    r = senlin.post(
        "/nodes",
        json={"node": {"name": "extra", "profile_id": profile, "cluster_id": cluster["id"]}},
    )
    assert r.status_code == 202, r.text
    senlin.api.settle()
    node = senlin.get("/nodes/extra").json()["node"]
    assert node["status"] == "ACTIVE" and node["cluster_id"] == cluster["id"]
    assert senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["desired_capacity"] == 3
    assert sum(placed(senlin, cluster["id"]).values()) == 3


def lb_policy(senlin: Senlin, name: str = "lb", port: int = 80) -> None:
    spec = {
        "type": "senlin.policy.loadbalance",
        "version": 1.1,
        "properties": {"pool": {"protocol_port": port}, "vip": {"protocol_port": 8080}},
    }
    r = senlin.post("/policies", json={"policy": {"name": name, "spec": spec}})
    assert r.status_code == 201, r.text


def test_the_balancer_follows_the_members(senlin: Senlin) -> None:
    profile = senlin.profile(name="web-lb", ports=[{"container_port": 80}])
    cluster = senlin.cluster(name="lb", profile=profile["id"], desired_capacity=2)
    senlin.api.settle()
    lb_policy(senlin)
    attach = act(senlin, cluster["id"], {"policy_attach": {"policy_id": "lb"}})
    assert attach["status"] == "SUCCEEDED", attach["status_reason"]
    data = senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["data"]
    ((policy, endpoint),) = data["loadbalancers"].items()
    name = balancer_name(cluster["id"], policy)
    balancer = host(senlin).balancer(name)
    assert balancer is not None and balancer.port == 8080 and len(balancer.backends) == 2
    assert endpoint["vip_port"] and sorted(endpoint["members"]) == sorted(
        b.name for b in balancer.backends
    )
    act(senlin, cluster["id"], {"scale_out": {"count": 1}})
    balancer = host(senlin).balancer(name)
    assert balancer is not None
    assert {b.name for b in balancer.backends} == {n["id"] for n in members(senlin, cluster["id"])}
    assert len(balancer.backends) == 3
    act(senlin, cluster["id"], {"policy_detach": {"policy_id": "lb"}})
    assert host(senlin).balancer(name) is None
    assert "loadbalancers" not in senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["data"]


def test_a_balancer_needs_the_pool_port_published(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=1)
    lb_policy(senlin)
    attach = act(senlin, cluster["id"], {"policy_attach": {"policy_id": "lb"}})
    assert attach["status"] == "FAILED" and "publishes no port 80" in attach["status_reason"]


def test_deleting_a_balanced_cluster_removes_its_balancer(senlin: Senlin) -> None:
    profile = senlin.profile(name="web-lb2", ports=[{"container_port": 80}])
    cluster = senlin.cluster(name="lb2", profile=profile["id"], desired_capacity=1)
    senlin.api.settle()
    lb_policy(senlin)
    act(senlin, cluster["id"], {"policy_attach": {"policy_id": "lb"}})
    data = senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["data"]
    (policy,) = data["loadbalancers"]
    assert host(senlin).balancer(balancer_name(cluster["id"], policy)) is not None
    assert senlin.delete(f"/clusters/{cluster['id']}?force=true").status_code == 202
    senlin.api.settle()
    assert host(senlin).balancer(balancer_name(cluster["id"], policy)) is None


def test_resizing_the_host_with_nodes_to_remove_moves_members_first(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=3)
    leaving = senlin.node(1)  # the host cluster's second worker
    before = placed(senlin, cluster["id"])
    assert before[leaving] >= 1
    ng = senlin.api.get(f"/v1/clusters/{senlin.host}/nodegroups").json()["nodegroups"]
    worker = next(g for g in ng if g["role"] == "worker")
    r = senlin.api.post(
        f"/v1/clusters/{senlin.host}/actions/resize",
        json={"node_count": 1, "nodegroup": worker["uuid"], "nodes_to_remove": [leaving]},
    )
    assert r.status_code == 202, r.text
    senlin.api.settle()
    after = placed(senlin, cluster["id"])
    assert leaving not in after and sum(after.values()) == 3
    nodes = members(senlin, cluster["id"])
    assert {n["status"] for n in nodes} == {"ACTIVE"}
    moved = [e for e in host(senlin).events if e[0] == "destroy" and e[1] == leaving]
    assert len(moved) == before[leaving], "the old containers were removed after the move"


def test_after_the_host_cluster_changes_lost_members_are_recreated(senlin: Senlin) -> None:
    """Healing or an upgrade replaces nodes; any change of the host cluster's nodes makes
    each hosted container cluster check its members and recreate what was lost."""
    cluster = made(senlin, nodes=3)
    lost = placed(senlin, cluster["id"]).most_common(1)[0][0]
    host(senlin).lose_node(lost)
    r = senlin.api.post(f"/v1/clusters/{senlin.host}/actions/resize", json={"node_count": 3})
    assert r.status_code == 202, r.text
    senlin.api.settle()
    latest = senlin.get(f"/actions?target={cluster['id']}&sort=created_at:desc").json()
    assert latest["actions"][0]["action"] == "CLUSTER_RECOVER"
    assert latest["actions"][0]["cause"] == "Host cluster changed"
    assert latest["actions"][0]["status"] == "SUCCEEDED"
    assert sum(placed(senlin, cluster["id"]).values()) == 3
    assert lost not in placed(senlin, cluster["id"])


def test_a_node_update_renames_it_and_ends_active(senlin: Senlin) -> None:
    """``openstack cluster node update --name``: the action applies the name and the node
    leaves UPDATING (it stayed UPDATING under its old name), in a cluster and outside one."""
    cluster = made(senlin, nodes=1)
    member = members(senlin, cluster["id"])[0]
    orphan = senlin.post(
        "/nodes", json={"node": {"name": "loner", "profile_id": cluster["profile_id"]}}
    )
    assert orphan.status_code == 202, orphan.text
    senlin.api.settle()
    for node, name in ((member["id"], "renamed"), ("loner", "loner2")):
        r = senlin.patch(f"/nodes/{node}", json={"node": {"name": name, "role": "db"}})
        assert r.status_code == 202, r.text
        assert r.json()["node"]["status"] == "UPDATING"
        senlin.api.settle()
        shown = senlin.get(f"/nodes/{name}").json()["node"]
        assert (shown["status"], shown["status_reason"]) == ("ACTIVE", "Update succeeded")
        assert shown["role"] == "db"
    assert senlin.get(f"/clusters/{cluster['id']}").json()["cluster"]["status"] == "ACTIVE"


def test_a_tainted_node_goes_first_on_scale_in(senlin: Senlin) -> None:
    """Senlin 1.13: ``tainted`` is updatable (``openstack cluster node update --tainted``
    sends it at 1.14) and a tainted member is the first a scale-in removes."""
    cluster = made(senlin, nodes=3)
    oldest = members(senlin, cluster["id"])[0]["id"]
    newest = members(senlin, cluster["id"])[-1]["id"]
    r = senlin.patch(f"/nodes/{newest}", json={"node": {"tainted": True}})
    assert r.status_code == 202, r.text
    senlin.api.settle()
    assert senlin.get(f"/nodes/{newest}").json()["node"]["tainted"] is True
    unchanged = senlin.patch(f"/nodes/{newest}", json={"node": {"tainted": True}})
    assert "No property needs an update" in fault(unchanged, 400)
    # Before 1.13 the field is dropped, as Senlin drops it: nothing left to update.
    old = senlin.patch(
        f"/nodes/{oldest}",
        json={"node": {"tainted": True}},
        headers={"OpenStack-API-Version": "clustering 1.12"},
    )
    assert "No property needs an update" in fault(old, 400)
    policy = {"type": "senlin.policy.deletion", "version": 1.1,
              "properties": {"criteria": "OLDEST_FIRST"}}  # fmt: skip
    r = senlin.post("/policies", json={"policy": {"name": "old", "spec": policy}})
    assert r.status_code == 201, r.text
    act(senlin, cluster["id"], {"policy_attach": {"policy_id": "old"}})
    act(senlin, cluster["id"], {"scale_in": {"count": 1}})
    left = {n["id"] for n in members(senlin, cluster["id"])}
    assert newest not in left and oldest in left and len(left) == 2


def test_collect_reads_any_field_of_each_member(senlin: Senlin) -> None:
    """``openstack cluster collect``: Senlin collects from each node's own fields."""
    cluster = made(senlin, nodes=2)

    def collect(path: str) -> list[Any]:
        r = senlin.get(f"/clusters/{cluster['id']}/attrs/{path}")
        assert r.status_code == 200, r.text
        return [a["value"] for a in r.json()["cluster_attributes"]]

    assert collect("profile_id") == [cluster["profile_id"]] * 2
    assert collect("status_reason") == [n["status_reason"] for n in members(senlin, cluster["id"])]
    assert all(isinstance(v, str) and v.endswith("Z") for v in collect("created_at"))
    assert set(collect("details.host_node")) <= {n.name for n in host(senlin).nodes()}
    assert collect("nothing.here") == []
