"""End-to-end faults that once lost a swarm's state, on the real engine: the leader of a
three-manager swarm killed, and two of its three managers killed (quorum lost). Auto-healing
must bring the cluster back HEALTHY with the swarm's state (an overlay network a user made
before the fault) intact, replacing only the dead managers.

The module has its own ``cove serve`` (test_swarm_cluster's ``cove`` fixture, shared through
conftest) and each test its own cluster; the finalizer deletes them and sweeps their label."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import docker
from tests.e2e.test_swarm_cluster import TEMPLATE_LB, Cove, node_exec, poll

pytestmark = pytest.mark.e2e

CREATE_TIMEOUT = 120.0
HEAL_TIMEOUT = 240.0  # a leader election alone took 20-27 s here under load
STATE = "user-net"  # swarm state made before the fault


def _members(manager: str) -> dict[str, dict[str, str]]:
    result = node_exec(manager, "docker", "node", "ls", "--format", "{{json .}}")
    if result.returncode != 0:
        return {}
    return {row["Hostname"]: row for row in map(json.loads, result.stdout.splitlines())}


def _ha_cluster(cove: Cove, name: str) -> tuple[str, list[str], str]:
    """Three managers behind the balancer and a worker, auto-healing on, with an overlay
    network made in the swarm. Returns (uuid, managers, worker)."""
    doc = cove.create(name, TEMPLATE_LB, 3, 1, labels="auto_healing_enabled=true")
    ident = doc["uuid"]
    cove.wait(
        ident,
        lambda d: d["status"] == "CREATE_COMPLETE" and d["health_status"] == "HEALTHY",
        "waiting for a healthy cluster",
        CREATE_TIMEOUT,
    )
    managers = [f"cove-{ident[:8]}-manager-{i}" for i in range(3)]
    made = node_exec(managers[0], "docker", "network", "create", "-d", "overlay", STATE)
    assert made.returncode == 0, made.stderr
    return ident, managers, f"cove-{ident[:8]}-worker-0"


def _container_id(name: str) -> str:
    return docker("inspect", "-f", "{{.Id}}", name)


def _healed(cove: Cove, ident: str, killed_at: float) -> dict[str, object]:
    """Until a heal has run and the cluster is UPDATE_COMPLETE and HEALTHY again."""

    def done(doc: dict[str, object]) -> bool:
        healed = any("heal complete" in e for e in cove.events(ident))
        return healed and doc["status"] == "UPDATE_COMPLETE" and doc["health_status"] == "HEALTHY"

    doc = cove.wait(ident, done, "waiting for auto-healing", HEAL_TIMEOUT)
    print(f"healthy again {time.monotonic() - killed_at:.1f} s after the fault")
    return doc


def _swarm_after(cove: Cove, ident: str) -> tuple[str, dict[str, dict[str, str]]]:
    """A manager of the healed cluster and the swarm's members as it lists them."""
    running = docker(
        "ps", "--filter", f"label=cove.cluster={ident}", "--filter", "label=cove.role=master",
        "--format", "{{.Names}}",
    ).split()  # fmt: skip
    assert len(running) == 3, running
    members = poll(lambda: _members(running[0]) or None, 30, lambda: cove.describe(ident))
    return running[0], members


def _assert_state_kept(manager: str) -> None:
    networks = node_exec(manager, "docker", "network", "ls", "--format", "{{.Name}}")
    assert STATE in networks.stdout.split(), (
        f"the swarm's network {STATE} is gone after healing: {networks.stdout}"
    )


def test_killing_the_leader_replaces_only_it_and_keeps_the_swarm(cove: Cove) -> None:
    ident, managers, worker = _ha_cluster(cove, "ha-leader")
    members = _members(managers[0])
    leader = next(h for h, row in members.items() if row["ManagerStatus"] == "Leader")
    survivors = [n for n in [*managers, worker] if n != leader]
    ids = {name: _container_id(name) for name in survivors}

    docker("kill", leader)
    killed_at = time.monotonic()
    _healed(cove, ident, killed_at)

    manager, members = _swarm_after(cove, ident)
    assert leader not in members, f"the dead leader is still listed: {members}"
    assert all(row["Status"] == "Ready" for row in members.values()), members
    assert sum(bool(row["ManagerStatus"]) for row in members.values()) == 3, members
    assert {name: _container_id(name) for name in survivors} == ids, (
        "a healthy node was replaced\n" + cove.describe(ident)
    )
    _assert_state_kept(manager)


def test_quorum_loss_is_reported_and_healed_from_the_survivor(cove: Cove) -> None:
    ident, managers, worker = _ha_cluster(cove, "ha-quorum")
    survivor = managers[2]
    worker_id = _container_id(worker)
    dead_ids = {_container_id(managers[0]), _container_id(managers[1])}

    docker("kill", managers[0], managers[1])
    killed_at = time.monotonic()
    cove.wait(
        ident,
        lambda d: "quorum" in str((d.get("health_status_reason") or {}).get("api", "")),
        "waiting for the health check to report the lost quorum",
        60,
    )
    _healed(cove, ident, killed_at)

    manager, members = _swarm_after(cove, ident)
    assert survivor in members and members[survivor]["Status"] == "Ready", members
    # A dead manager that failed two checks in a row was replaced: its container is gone (a
    # replacement may reuse a free name). When the second kill landed after a check (the
    # engine stops them one by one), that manager failed one check only and is not yet
    # confirmed: the heal's converge starts its container again instead. None stays stopped.
    label = f"label=cove.cluster={ident}"
    every = set(docker("ps", "-aq", "--no-trunc", "--filter", label).split())
    running = set(docker("ps", "-q", "--no-trunc", "--filter", label).split())
    assert dead_ids - every, "no dead manager was replaced"
    assert not dead_ids & (every - running), "a dead manager's container is still stopped"
    assert sum(bool(row["ManagerStatus"]) for row in members.values()) == 3, members
    assert all(row["Status"] == "Ready" for row in members.values()), members
    assert _container_id(worker) == worker_id, "the worker was replaced"
    _assert_state_kept(manager)
    assert any("Quorum lost" in e for e in cove.events(ident)), cove.describe(ident)
