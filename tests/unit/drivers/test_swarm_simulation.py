"""SwarmSimulator: the swarm-mode driver's in-node commands against simulated engines and
swarms (MemoryProvider's program): init, join, membership, quorum, drain, demote, removal,
force-new-cluster, and a re-created container being a fresh engine."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from cove.drivers.swarm_mode.simulation import (
    ALREADY_IN_A_SWARM,
    ENGINE_VERSION,
    INVALID_TOKEN,
    JOIN_TIMEOUT,
    NO_LEADER,
    NOT_A_MANAGER,
    Swarm,
    SwarmSimulator,
)
from cove.providers.base import ExecResult, NetworkSpec, NodeSpec
from cove.providers.memory import MemoryProvider

CLUSTER = "5e1f0c2a-3333-4c1e-9a55-000000000003"


class Cluster:
    """A MemoryProvider with the simulator, and shorthands for the driver's commands."""

    def __init__(self) -> None:
        self.sim = SwarmSimulator()
        self.provider = MemoryProvider(program=self.sim)
        self.network = self.provider.ensure_network(NetworkSpec(cluster_uuid=CLUSTER, name=""))
        self.tokens: dict[str, str] = {}

    def node(self, name: str) -> str:
        role = "master" if name.startswith("m") else "worker"
        spec = NodeSpec(name, name, CLUSTER, "ng", role, "cove/node:1", self.network)
        self.provider.ensure_node(spec)
        return name

    def addr(self, name: str) -> str:
        container = self.provider.container(name)
        assert container is not None
        return container.address

    def run(self, name: str, command: str, *args: str) -> ExecResult:
        return self.provider.exec(name, ["sh", "-c", "script", command, *args])

    def ok(self, name: str, command: str, *args: str) -> str:
        result = self.run(name, command, *args)
        assert result.exit_code == 0, result.output
        return result.output

    def init(self, name: str) -> None:
        assert self.ok(name, "swarm-init", self.addr(name)) == ""
        manager, worker = self.ok(name, "swarm-tokens").split()
        self.tokens = {"manager": manager, "worker": worker}

    def join(self, name: str, via: str, role: str | None = None) -> ExecResult:
        role = role or ("manager" if name.startswith("m") else "worker")
        remote = f"{self.addr(via)}:2377"
        return self.run(name, "swarm-join", self.tokens[role], self.addr(name), remote)

    def nodes(self, via: str) -> list[dict[str, str]]:
        return [json.loads(line) for line in self.ok(via, "swarm-nodes").splitlines()]

    def table(self, via: str) -> dict[str, tuple[str, str, str]]:
        return {
            n["Hostname"]: (n["Status"], n["Availability"], n["ManagerStatus"])
            for n in self.nodes(via)
        }

    def swarm(self, name: str) -> Swarm:
        found = self.sim.swarm_of(name)
        assert found is not None
        return found


@pytest.fixture
def c() -> Cluster:
    return Cluster()


@pytest.fixture
def three(c: Cluster) -> Cluster:
    """Managers m0, m1, m2 and worker w0 in one swarm."""
    for name in ("m0", "m1", "m2", "w0"):
        c.node(name)
    c.init("m0")
    for name in ("m1", "m2", "w0"):
        assert c.join(name, "m0").exit_code == 0
    return c


def test_engine_commands(c: Cluster) -> None:
    c.node("m0")

    assert c.run("m0", "wait-engine") == ExecResult(0, "")
    assert c.run("m0", "restart-engine") == ExecResult(0, "")
    assert c.ok("m0", "engine-version") == ENGINE_VERSION + "\n"
    assert c.ok("m0", "swarm-state") == "inactive\n"
    assert c.run("m0", "frobnicate") == ExecResult(127, "sh: frobnicate: not found\n")
    assert c.run("m0", "leave") == ExecResult(0, "")
    assert c.provider.exec("m0", ["docker", "info"]).exit_code == 127


def test_init_makes_a_swarm_and_init_again_keeps_it(c: Cluster) -> None:
    c.node("m0")

    c.ok("m0", "swarm-init", c.addr("m0"))
    first = c.ok("m0", "swarm-tokens").split()
    c.ok("m0", "swarm-init", c.addr("m0"))
    again = c.ok("m0", "swarm-tokens").split()

    assert first == again
    manager, worker = first
    assert manager != worker
    assert manager.startswith("SWMTKN-1-") and worker.startswith("SWMTKN-1-")
    assert c.ok("m0", "swarm-state") == "active\n"
    assert c.table("m0") == {"m0": ("Ready", "Active", "Leader")}
    assert len(c.sim.swarms()) == 1


def test_tokens_are_distinct_per_swarm(c: Cluster) -> None:
    c.node("m0"), c.node("m1")

    c.ok("m0", "swarm-init", c.addr("m0")), c.ok("m1", "swarm-init", c.addr("m1"))
    one, two = c.ok("m0", "swarm-tokens").split(), c.ok("m1", "swarm-tokens").split()

    assert len(set(one + two)) == 4


def test_join_as_manager_and_worker(three: Cluster) -> None:
    assert three.table("m1") == {
        "m0": ("Ready", "Active", "Leader"),
        "m1": ("Ready", "Active", "Reachable"),
        "m2": ("Ready", "Active", "Reachable"),
        "w0": ("Ready", "Active", ""),
    }
    rows = three.nodes("m0")
    assert [r["Hostname"] for r in rows] == ["m0", "m1", "m2", "w0"]
    assert len({r["ID"] for r in rows}) == 4
    assert three.ok("w0", "swarm-state") == "active\n"
    assert three.run("m0", "wait-ready") == ExecResult(0, ENGINE_VERSION + "\n")


def test_join_again_is_a_no_op(three: Cluster) -> None:
    before = three.nodes("m0")

    assert three.join("w0", "m0") == ExecResult(0, "")
    assert three.join("m1", "m0") == ExecResult(0, "")

    assert three.nodes("m0") == before


def test_join_with_a_bad_token_or_no_swarm_there(c: Cluster) -> None:
    for name in ("m0", "w0", "w1"):
        c.node(name)
    c.init("m0")

    bad = c.run("w0", "swarm-join", "SWMTKN-1-nope", c.addr("w0"), f"{c.addr('m0')}:2377")
    nowhere = c.run("w0", "swarm-join", c.tokens["worker"], c.addr("w0"), "10.9.9.9:2377")
    not_a_manager = c.run("w0", "swarm-join", c.tokens["worker"], c.addr("w0"), "10.1.0.4:2377")

    assert bad == ExecResult(1, INVALID_TOKEN + "\n")
    assert nowhere == ExecResult(1, JOIN_TIMEOUT + "\n")
    assert not_a_manager.exit_code == 1  # w1's address: a node, not a swarm manager
    assert c.ok("w0", "swarm-state") == "inactive\n"


def test_join_leaves_a_stranded_swarm_first(c: Cluster) -> None:
    for name in ("m0", "m1", "w0"):
        c.node(name)
    c.init("m1")
    assert c.join("w0", "m1").exit_code == 0
    stranded = c.swarm("w0")
    c.init("m0")

    assert c.join("w0", "m0").exit_code == 0

    assert c.swarm("w0") is c.swarm("m0") is not stranded
    assert c.table("m1")["w0"] == ("Down", "Active", "")  # its old entry stays


def test_swarm_nodes_on_a_worker_or_outside_a_swarm(three: Cluster) -> None:
    three.node("w9")

    assert three.run("w0", "swarm-nodes") == ExecResult(1, NOT_A_MANAGER + "\n")
    for command in ("swarm-nodes", "wait-ready", "drain", "task-nodes"):
        result = three.run("w9", command, "x")
        assert result.exit_code == 1
        assert result.output.startswith("Error response from daemon: This node is not a swarm")


def test_quorum_lost_and_regained(three: Cluster) -> None:
    three.provider.kill("m0")

    assert three.table("m1") == {
        "m0": ("Down", "Active", "Unreachable"),
        "m1": ("Ready", "Active", "Leader"),
        "m2": ("Ready", "Active", "Reachable"),
        "w0": ("Ready", "Active", ""),
    }
    assert three.run("m1", "wait-ready") == ExecResult(1, "members not Ready: m0\n")

    three.provider.kill("m2")

    assert three.sim.has_quorum(three.swarm("m1")) is False
    assert three.sim.leader(three.swarm("m1")) is None
    for command in ("swarm-nodes", "wait-ready"):
        assert three.run("m1", command) == ExecResult(1, NO_LEADER + "\n")
    three.node("m3")
    assert three.join("m3", "m1") == ExecResult(1, NO_LEADER + "\n")

    three.provider.start_node("m2")

    assert three.table("m2")["m1"] == ("Ready", "Active", "Leader")
    assert three.join("m3", "m1").exit_code == 0


def test_deleted_container_stays_a_down_member_and_comes_back_fresh(three: Cluster) -> None:
    old_id = three.provider.container("w0").id  # type: ignore[union-attr]
    three.provider.delete_node("w0")

    assert three.table("m0")["w0"] == ("Down", "Active", "")

    three.node("w0")

    assert three.provider.container("w0").id != old_id  # type: ignore[union-attr]
    assert three.ok("w0", "swarm-state") == "inactive\n"
    assert three.sim.swarm_of("w0") is None
    assert three.join("w0", "m0").exit_code == 0
    rows = [r for r in three.nodes("m0") if r["Hostname"] == "w0"]
    assert sorted(r["Status"] for r in rows) == ["Down", "Ready"]
    # The hostname is ambiguous now: the stale entry goes by its id.
    stale = next(r["ID"] for r in rows if r["Status"] == "Down")
    assert "ambiguous (2 matches found)" in three.run("m0", "node-rm", "w0").output
    assert three.ok("m0", "node-rm", stale) == ""
    assert three.table("m0")["w0"] == ("Ready", "Active", "")


def test_leave_keeps_the_entry_down_until_node_rm(three: Cluster) -> None:
    assert three.ok("w0", "leave") == ""

    assert three.ok("w0", "swarm-state") == "inactive\n"
    assert three.table("m0")["w0"] == ("Down", "Active", "")
    assert three.ok("m0", "node-rm", "w0") == ""
    assert "w0" not in three.table("m0")
    assert three.ok("m0", "node-rm", "w0") == ""  # unknown: tolerated


def test_drain_moves_tasks_to_an_active_ready_member(three: Cluster) -> None:
    three.node("w1")
    assert three.join("w1", "m0").exit_code == 0
    three.sim.add_task("w0", 2)
    three.sim.add_task("m0")

    assert three.ok("m0", "task-nodes", "w0", "w1") == "w0\nw0\n"
    assert three.ok("m0", "drain", "w0") == ""

    assert three.table("m0")["w0"] == ("Ready", "Drain", "")
    assert three.ok("m0", "task-nodes", "w0") == ""
    assert three.sim.tasks("w0") == 0
    assert sum(three.sim.tasks(n) for n in ("m0", "m1", "m2", "w1")) == 3
    assert three.ok("m0", "drain", "nobody") == ""


def test_demote_then_remove_a_manager(three: Cluster) -> None:
    refused = three.run("m0", "node-rm", "m2")
    assert refused.exit_code == 1 and "must be demoted" in refused.output

    assert three.ok("m0", "demote", "m2") == ""
    assert three.ok("m0", "demote", "m2") == ""  # already a worker
    assert three.ok("m0", "demote", "nobody") == ""
    assert three.table("m0")["m2"] == ("Ready", "Active", "")
    assert three.ok("m2", "leave") == ""
    assert three.ok("m0", "node-rm", "m2") == ""

    assert [m.hostname for m in three.sim.managers(three.swarm("m0"))] == ["m0", "m1"]


def test_demoting_the_leader_moves_leadership_and_the_last_manager_stays(c: Cluster) -> None:
    c.node("m0"), c.node("m1")
    c.init("m0")
    assert c.join("m1", "m0").exit_code == 0

    assert c.ok("m1", "demote", "m0") == ""

    assert c.table("m1") == {"m0": ("Ready", "Active", ""), "m1": ("Ready", "Active", "Leader")}
    last = c.run("m1", "demote", "m1")
    assert last.exit_code == 1 and "last manager" in last.output


def test_manager_replacement_keeps_the_swarm_state(c: Cluster) -> None:
    c.node("m0"), c.node("w0")
    c.init("m0")
    assert c.join("w0", "m0").exit_code == 0
    swarm = c.swarm("m0")
    c.sim.create_object(swarm, "net1")

    c.provider.delete_node("m0")  # the only manager is gone: no quorum
    c.node("m0")  # re-created: a fresh engine, not the swarm's
    assert c.sim.swarm_of("m0") is None
    assert c.sim.has_quorum(swarm) is False

    # A surviving manager would rebuild it with force-new-cluster; with none left, the swarm
    # is lost with its objects: a new one starts empty.
    c.init("m0")
    assert c.swarm("m0") is not swarm and c.swarm("m0").objects == set()


def test_force_new_cluster_keeps_state_and_drops_other_managers(three: Cluster) -> None:
    swarm = three.swarm("m0")
    three.sim.create_object(swarm, "net1")
    three.provider.remove("m0")
    three.provider.kill("m1")
    assert three.run("m2", "swarm-nodes") == ExecResult(1, NO_LEADER + "\n")

    assert three.ok("m2", "force-new-cluster", three.addr("m2")) == ""

    assert three.swarm("m2") is swarm and swarm.objects == {"net1"}
    assert three.table("m2") == {
        "m0": ("Down", "Active", "Unreachable"),
        "m1": ("Down", "Active", "Unreachable"),
        "m2": ("Ready", "Active", "Leader"),
        "w0": ("Ready", "Active", ""),
    }
    assert [m.hostname for m in three.sim.managers(swarm)] == ["m2"]
    # m1's container comes back outside the swarm and joins again through m2.
    three.provider.start_node("m1")
    assert three.ok("m1", "swarm-state") == "inactive\n"
    assert three.join("m1", "m2").exit_code == 0
    assert three.ok("m2", "demote", "m0") == "" and three.ok("m2", "node-rm", "m0") == ""
    hostnames = sorted(r["Hostname"] for r in three.nodes("m2"))
    assert hostnames == ["m1", "m1", "m2", "w0"]  # m1's old entry stays until removed by id


def test_commands_are_recorded(three: Cluster) -> None:
    inits = [cmd for cmd in three.sim.commands if cmd[1] == "swarm-init"]

    assert inits == [("m0", "swarm-init", (three.addr("m0"),))]
    assert three.provider.event_count("exec", "m0") == 2  # the init, then its tokens


def test_one_simulator_serves_one_provider() -> None:
    sim = SwarmSimulator()
    MemoryProvider(program=sim)

    with pytest.raises(ValueError):
        MemoryProvider(program=sim)


def test_workers_join_in_parallel(c: Cluster) -> None:
    workers = [c.node(f"w{i}") for i in range(8)]
    c.node("m0")
    c.init("m0")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda name: c.join(name, "m0"), workers))

    assert {r.exit_code for r in results} == {0}
    assert c.run("m0", "wait-ready").exit_code == 0
    assert len(c.nodes("m0")) == 9


def test_a_plain_join_needs_a_node_in_no_swarm(three: Cluster) -> None:
    """``swarm-join-inactive`` is ``docker swarm join`` alone: the driver reads the node's
    state over its engine API first, so the engine's refusal is what a member gets."""
    remote = f"{three.addr('m0')}:2377"
    token, addr = three.tokens["worker"], three.addr("w0")
    again = three.run("w0", "swarm-join-inactive", token, addr, remote)
    assert again == ExecResult(1, ALREADY_IN_A_SWARM + "\n")
    assert three.ok("w0", "leave") == ""
    assert three.ok("w0", "swarm-join-inactive", token, addr, remote) == ""
    statuses = sorted(n["Status"] for n in three.nodes("m0") if n["Hostname"] == "w0")
    assert statuses == ["Down", "Ready"]  # the entry it left stays until removed


def test_tokens_need_a_manager(three: Cluster) -> None:
    assert three.run("w0", "swarm-tokens") == ExecResult(1, NOT_A_MANAGER + "\n")
