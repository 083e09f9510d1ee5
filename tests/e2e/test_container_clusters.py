"""End-to-end: container clusters (Senlin's clustering API) on a real swarm-mode cluster of
one manager and three workers made by a real ``cove serve``. The containers run on the
nodes' engines; every check reads what the engines and the balancer really do.

The checks share one container cluster and run in order: spread by load, scaled in by a
webhook, a killed container recreated by the health policy, a killed host node's containers
running elsewhere, the deletion policy's victims, and a delete that leaves no
container. The balancer in front of members is proven on the real engine in
test_container_balancer.py. Waits are bounded and name what they waited for."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import docker, until
from tests.e2e.test_swarm_cluster import CREATE_TIMEOUT, TEMPLATE, Cove

# Checks in order on module-wide clusters: scripts/test.sh keeps a module on one worker.
pytestmark = pytest.mark.e2e

SENLIN = {"OpenStack-API-Version": "clustering 1.14", "X-Auth-Token": "e2e"}
ACTION_TIMEOUT = 90.0
OWNER = "cove.clustering.cluster"
# Each member answers HTTP with its own hostname (the container's short id).
SERVE = 'while true; do printf "HTTP/1.0 200 OK\\r\\n\\r\\n%s\\n" "$(hostname)" | nc -l -p 80; done'


@dataclass
class Clustering:
    url: str

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}/clustering/v1{path}", headers=SENLIN, timeout=30, **kw
        )

    def ok(self, method: str, path: str, status: int, **kw: Any) -> dict[str, Any]:
        r = self.call(method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return dict(r.json()) if r.content else {}

    def cluster(self, ident: str) -> dict[str, Any]:
        return dict(self.ok("GET", f"/clusters/{ident}", 200)["cluster"])

    def members(self, ident: str) -> list[dict[str, Any]]:
        nodes = self.ok("GET", f"/nodes?cluster_id={ident}", 200)["nodes"]
        return [self.ok("GET", f"/nodes/{n['id']}", 200)["node"] for n in nodes]

    def action(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Start an action and wait for its end; return the action."""
        r = self.call("POST", path, json=body)
        assert r.status_code == 202, f"POST {path}: {r.status_code} {r.text}"
        action_id = r.headers["Location"].rsplit("/", 1)[1]
        return self.finished(action_id)

    def finished(self, action_id: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            action = self.ok("GET", f"/actions/{action_id}", 200)["action"]
            return action if action["status"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

        action = until(done, ACTION_TIMEOUT, f"action {action_id}")
        assert action["status"] == "SUCCEEDED", action
        return action


@dataclass
class Setup:
    api: Clustering
    host: str  # the cove cluster's uuid
    cluster: str  # the container cluster's uuid


def placement(member: dict[str, Any]) -> str:
    return str(member["data"]["placement"]["host_node"])


def running_on(node: str, cluster: str) -> list[str]:
    """Names of the cluster's running containers on a node, from its own engine."""
    out = subprocess.run(
        ["docker", "exec", node, "docker", "ps", "--filter", f"label={OWNER}={cluster}",
         "--format", "{{.Names}}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return out.stdout.split() if out.returncode == 0 else []


def hostnames(setup: Setup) -> set[str]:
    """Each member's container hostname (Docker's short id)."""
    return {m["physical_id"][:12] for m in setup.api.members(setup.cluster)}


@pytest.fixture(scope="module")
def setup(cove: Cove, busybox_image: str) -> Iterator[Setup]:
    doc = cove.create("hc", TEMPLATE, 1, 3)
    cove.wait_status(doc["uuid"], "CREATE_COMPLETE", CREATE_TIMEOUT)
    api = Clustering(cove.server.url)
    spec = {
        "type": "container.dockerinc.docker",
        "version": "1.0",
        "properties": {
            "image": busybox_image,
            "command": f"sh -c '{SERVE}'",
            "host_cluster": "hc",
            "ports": [{"container_port": 80}],
            "restart_policy": "no",
        },
    }
    api.ok("POST", "/profiles", 201, json={"profile": {"name": "web", "spec": spec}})
    r = api.call(
        "POST",
        "/clusters",
        json={"cluster": {"name": "web", "profile_id": "web", "desired_capacity": 6}},
    )
    assert r.status_code == 202, r.text
    cluster = r.json()["cluster"]["id"]
    api.finished(r.headers["Location"].rsplit("/", 1)[1])
    try:
        yield Setup(api, doc["uuid"], cluster)
    finally:  # a failed check must not keep the host cluster from being deleted
        if api.call("GET", f"/clusters/{cluster}").status_code == 200:
            r = api.call("DELETE", f"/clusters/{cluster}?force=true")
            if r.status_code == 202:
                api.finished(r.headers["Location"].rsplit("/", 1)[1])


def test_six_containers_are_spread_over_the_four_nodes(setup: Setup) -> None:
    members = setup.api.members(setup.cluster)
    assert len(members) == 6 and {m["status"] for m in members} == {"ACTIVE"}
    counts = Counter(placement(m) for m in members)
    assert len(counts) == 4 and max(counts.values()) - min(counts.values()) <= 1, counts
    for node, count in counts.items():  # the engines agree with the records
        assert len(running_on(node, setup.cluster)) == count


def test_a_webhook_scales_in(setup: Setup) -> None:
    receiver = setup.api.ok(
        "POST",
        "/receivers",
        201,
        json={
            "receiver": {
                "name": "down",
                "type": "webhook",
                "cluster_id": setup.cluster,
                "action": "CLUSTER_SCALE_IN",
                "params": {"count": "2"},
            }
        },
    )["receiver"]
    fired = httpx.post(receiver["channel"]["alarm_url"], timeout=30)  # no credentials
    assert fired.status_code == 202, fired.text
    setup.api.finished(fired.json()["action"])
    assert len(hostnames(setup)) == 4


def test_the_health_policy_recreates_a_killed_container(setup: Setup) -> None:
    spec = {
        "type": "senlin.policy.health",
        "version": "1.1",
        "properties": {
            "detection": {"detection_modes": [{"type": "NODE_STATUS_POLLING"}], "interval": 1},
            "recovery": {"actions": [{"name": "RECREATE"}]},
        },
    }
    setup.api.ok("POST", "/policies", 201, json={"policy": {"name": "health", "spec": spec}})
    setup.api.action(
        f"/clusters/{setup.cluster}/actions", {"policy_attach": {"policy_id": "health"}}
    )
    victim = setup.api.members(setup.cluster)[0]
    node, container = placement(victim), victim["data"]["placement"]["container"]
    docker("exec", node, "docker", "kill", container)

    def recreated() -> bool:
        member = setup.api.ok("GET", f"/nodes/{victim['id']}", 200)["node"]
        return member["status"] == "ACTIVE" and container in running_on(node, setup.cluster)

    until(recreated, 30, f"member {victim['name']} recreated")


def test_a_killed_host_node_has_its_containers_running_elsewhere(setup: Setup) -> None:
    """The health policy finds the node not ready and makes its members again on the
    others (the host cluster does not heal itself here: auto_healing is off)."""
    members = setup.api.members(setup.cluster)
    lost = Counter(placement(m) for m in members).most_common(1)[0][0]
    on_lost = {m["id"]: m["physical_id"] for m in members if placement(m) == lost}
    docker("kill", lost)
    seen: list[dict[str, Any]] = []

    def moved() -> list[dict[str, Any]] | None:
        seen[:] = setup.api.members(setup.cluster)
        if len(seen) != 4 or any(m["status"] != "ACTIVE" for m in seen):
            return None
        running = all(
            placement(m) != lost
            and m["data"]["placement"]["container"] in running_on(placement(m), setup.cluster)
            for m in seen
        )
        return seen if running else None

    try:
        now = until(moved, 60, f"members running off {lost}, which was killed")
    finally:
        print([(m["name"], m["status"], m["status_reason"], placement(m)) for m in seen])
    assert all(m["physical_id"] != on_lost[m["id"]] for m in now if m["id"] in on_lost)


def test_the_deletion_policy_removes_the_youngest(setup: Setup) -> None:
    spec = {
        "type": "senlin.policy.deletion",
        "version": "1.1",
        "properties": {"criteria": "YOUNGEST_FIRST"},
    }
    setup.api.ok("POST", "/policies", 201, json={"policy": {"name": "young", "spec": spec}})
    setup.api.action(
        f"/clusters/{setup.cluster}/actions", {"policy_attach": {"policy_id": "young"}}
    )
    before = {m["id"] for m in setup.api.members(setup.cluster)}
    out = setup.api.action(f"/clusters/{setup.cluster}/actions", {"scale_out": {"count": 2}})
    added = set(out["outputs"]["nodes_added"])
    assert len(added) == 2 and not added & before
    setup.api.action(f"/clusters/{setup.cluster}/actions", {"scale_in": {"count": 2}})
    assert {m["id"] for m in setup.api.members(setup.cluster)} == before


def test_delete_leaves_no_container(setup: Setup) -> None:
    r = setup.api.call("DELETE", f"/clusters/{setup.cluster}?force=true")
    assert r.status_code == 202, r.text
    setup.api.finished(r.headers["Location"].rsplit("/", 1)[1])
    assert setup.api.call("GET", f"/clusters/{setup.cluster}").status_code == 404
    nodes = docker("ps", "--filter", f"label=cove.cluster={setup.host}", "--format", "{{.Names}}")
    for node in nodes.split():
        assert running_on(node, setup.cluster) == []
    leftovers = docker("ps", "-a", "--filter", f"label={OWNER}={setup.cluster}", "-q")
    assert leftovers.strip() == ""
