"""The swarm-mode driver on the in-memory provider and the swarm simulator: every operation
ends with the cluster HEALTHY (the node count and images asked for, every node a Ready member
of one swarm, nothing left over), also when a conductor died after any of its steps and the
operation was attempted again."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from cove.drivers.base import ClusterSpec, NodeGroupSpec
from cove.drivers.swarm_mode import SwarmModeDriver
from cove.drivers.swarm_mode.commands import CommandFailed
from cove.drivers.swarm_mode.simulation import SwarmSimulator
from cove.pki import ca as pki
from cove.providers.base import LABEL_NODEGROUP, ExecResult, ProviderUnavailable
from cove.providers.memory import MemoryContainer, MemoryProvider
from tests.support.swarm import (
    MANAGERS,
    UUID,
    WORKERS,
    Crash,
    Recorder,
    cluster,
    driver,
    resized,
    upgraded,
)

EXTRA = "0c0ffee0-0000-4000-8000-0000000000cc"
NEW_IMAGE = "cove/node:2"


def node(role: str, index: int) -> str:
    return f"cove-{UUID[:8]}-{'manager' if role == 'master' else 'worker'}-{index}"


def worker(index: int) -> str:
    return node("worker", index)


def manager(index: int) -> str:
    return node("master", index)


def with_extra_group(spec: ClusterSpec, count: int = 2) -> ClusterSpec:
    extra = NodeGroupSpec(
        uuid=EXTRA, name="gpu", role="worker", node_count=count, min_node_count=0,
        max_node_count=None, flavor_id="m1.small", image_id="img", labels={},
        is_default=False, node_image="cove/node:1",
    )  # fmt: skip
    return replace(spec, nodegroups=(*spec.nodegroups, extra))


def without_extra_group(spec: ClusterSpec) -> ClusterSpec:
    return replace(spec, nodegroups=tuple(g for g in spec.nodegroups if g.uuid != EXTRA))


def tls_cluster(managers: int = 1, workers: int = 1) -> ClusterSpec:
    authority = pki.create_ca("c1")
    spec = cluster(managers, workers, template={"tls_disabled": False})
    return replace(spec, ca_cert_pem=authority.cert_pem, ca_key_pem=authority.key_pem)


def new_ca(spec: ClusterSpec) -> ClusterSpec:
    authority = pki.create_ca("c1")
    return replace(spec, ca_cert_pem=authority.cert_pem, ca_key_pem=authority.key_pem)


def created(spec: ClusterSpec) -> tuple[SwarmModeDriver, MemoryProvider, SwarmSimulator]:
    d, provider, simulator = driver()
    d.create_cluster(Recorder().op("create", spec))
    return d, provider, simulator


def node_containers(provider: MemoryProvider) -> list[MemoryContainer]:
    return [c for c in provider.containers() if LABEL_NODEGROUP in c.labels]


def assert_converged(
    d: SwarmModeDriver, provider: MemoryProvider, simulator: SwarmSimulator, spec: ClusterSpec
) -> None:
    """HEALTHY; each group has its node_count nodes on its image, all running; one swarm
    whose members are exactly those nodes, every one Ready; no container or member left."""
    health = d.check_health(spec)
    assert health.status == "HEALTHY", health.reason
    nodes = node_containers(provider)
    for group in spec.nodegroups:
        mine = [c for c in nodes if c.labels[LABEL_NODEGROUP] == group.uuid]
        assert len(mine) == group.node_count, (group.name, [c.name for c in mine])
        assert {c.image for c in mine} <= {group.node_image}, group.name
    assert len(nodes) == sum(g.node_count for g in spec.nodegroups), [c.name for c in nodes]
    assert all(c.running for c in nodes)
    swarms = {id(simulator.swarm_of(c.name)) for c in nodes}
    swarm = simulator.swarm_of(nodes[0].name)
    assert swarm is not None and len(swarms) == 1, "every node is in the same swarm"
    members = simulator.members(swarm)
    assert sorted(m.hostname for m in members) == sorted(c.name for c in nodes)
    assert all(simulator.status(m) == "Ready" for m in members)
    wanted_managers = sum(g.node_count for g in spec.nodegroups if g.role == "master")
    assert len(simulator.managers(swarm)) == wanted_managers


def creations(provider: MemoryProvider) -> Counter[str]:
    return Counter(name for action, name in provider.events if action == "create")


# -- each operation, uninterrupted ------------------------------------------------------------


def test_create_makes_a_healthy_swarm() -> None:
    spec = cluster(managers=1, workers=2)
    d, provider, simulator = driver()
    report = d.create_cluster(Recorder().op("create", spec))
    assert_converged(d, provider, simulator, spec)
    assert report.api_address and report.api_address.startswith("tcp://127.0.0.1:")
    assert len(report.nodegroups[WORKERS].node_addresses) == 2


def test_create_runs_one_command_per_step_in_the_nodes() -> None:
    """A create forms a swarm anew: one engine wait per node, one init, one join per other
    node, one wait until every member is Ready (which also gives the version); no listing
    to prune, since no node existed before. The join tokens are read by exec only where
    cove cannot reach the engines (this in-memory provider; over the engine API with
    Docker)."""
    d, _, simulator = driver()
    d.create_cluster(Recorder().op("create", cluster(managers=1, workers=2)))
    ran = Counter(command for _, command, _ in simulator.commands)
    assert ran == {
        "wait-engine": 3, "swarm-init": 1, "swarm-tokens": 1, "swarm-join": 2, "wait-ready": 1
    }  # fmt: skip


def test_create_resumed_with_nodes_present_prunes_what_the_swarm_lists() -> None:
    spec = cluster(managers=1, workers=2)
    d, _, simulator = created(spec)
    simulator.commands.clear()
    d.create_cluster(Recorder().op("create", spec))
    assert "swarm-nodes" in [command for _, command, _ in simulator.commands]


def test_grow_reads_the_swarm_and_its_tokens_in_one_command() -> None:
    """Adding to a running swarm: the members and the join tokens from one exec on the
    manager (no init); the new nodes' engine waits and joins; the wait until Ready."""
    spec = cluster(workers=2)
    d, _, simulator = created(spec)
    simulator.commands.clear()
    d.update_cluster(Recorder().op("resize", resized(spec, 4), nodegroup=WORKERS))
    ran = Counter(command for _, command, _ in simulator.commands)
    assert ran == {"swarm-view": 1, "wait-engine": 2, "swarm-join": 2, "wait-ready": 1}


def test_grow_adds_workers_that_join() -> None:
    spec = cluster(workers=2)
    d, provider, simulator = created(spec)
    d.update_cluster(Recorder().op("resize", resized(spec, 4), nodegroup=WORKERS))
    assert_converged(d, provider, simulator, resized(spec, 4))
    assert creations(provider)[worker(0)] == 1, "existing workers are kept"


def test_grow_asks_the_provider_for_the_new_nodes_only() -> None:
    """The running nodes the operation listed are taken as they are: no adoption call for
    each (on Docker, a create the engine refuses and an inspection, beside the new nodes'
    creates and starts)."""
    spec = cluster(workers=2)
    d, provider, _ = created(spec)
    asked: list[str] = []
    ensure_node = provider.ensure_node
    provider.ensure_node = lambda node: asked.append(node.name) or ensure_node(node)  # type: ignore[method-assign]
    d.update_cluster(Recorder().op("resize", resized(spec, 4), nodegroup=WORKERS))
    assert sorted(asked) == [worker(2), worker(3)]


def test_shrink_removes_the_newest_workers() -> None:
    spec = cluster(workers=4)
    d, provider, simulator = created(spec)
    d.update_cluster(Recorder().op("resize", resized(spec, 1), nodegroup=WORKERS))
    assert_converged(d, provider, simulator, resized(spec, 1))
    assert [c.name for c in node_containers(provider)] == [manager(0), worker(0)]


def test_shrink_removes_the_node_the_user_named() -> None:
    spec = cluster(workers=4)
    d, provider, simulator = created(spec)
    op = Recorder().op("resize", resized(spec, 3), nodegroup=WORKERS, nodes_to_remove=[worker(1)])
    d.update_cluster(op)
    assert_converged(d, provider, simulator, resized(spec, 3))
    assert provider.container(worker(1)) is None
    assert provider.container(worker(3)) is not None


def test_node_group_create_adds_a_group_of_workers() -> None:
    spec = cluster()
    d, provider, simulator = created(spec)
    bigger = with_extra_group(spec)
    d.update_cluster(Recorder().op("create-nodegroup", bigger, nodegroup=EXTRA))
    assert_converged(d, provider, simulator, bigger)
    assert provider.container(f"cove-{UUID[:8]}-gpu-1") is not None


def test_node_group_delete_removes_its_nodes_only() -> None:
    spec = with_extra_group(cluster())
    d, provider, simulator = created(spec)
    d.update_cluster(Recorder().op("delete-nodegroup", spec, nodegroup=EXTRA))
    assert_converged(d, provider, simulator, without_extra_group(spec))


def test_upgrade_replaces_every_node_with_the_new_image() -> None:
    spec = cluster(managers=1, workers=2)
    d, provider, simulator = created(spec)
    target = upgraded(spec, NEW_IMAGE)
    report = d.upgrade_cluster(Recorder().op("upgrade", target, cluster_template="t2"))
    assert_converged(d, provider, simulator, target)
    assert report.api_address is not None


def test_upgrade_of_three_managers_keeps_the_swarm_and_its_state() -> None:
    spec = cluster(managers=3, workers=1)
    d, provider, simulator = created(spec)
    swarm = simulator.swarm_of(manager(0))
    assert swarm is not None
    simulator.create_object(swarm, "service:web")
    target = upgraded(spec, NEW_IMAGE)
    d.upgrade_cluster(Recorder().op("upgrade", target, cluster_template="t2"))
    assert_converged(d, provider, simulator, target)
    assert simulator.swarm_of(worker(0)) is swarm, "the same swarm, not a new one"
    assert "service:web" in swarm.objects


def test_heal_replaces_a_killed_worker() -> None:
    spec = cluster()
    d, provider, simulator = created(spec)
    provider.kill(worker(1))
    failed = d.check_health(spec)
    assert failed.status == "UNHEALTHY" and failed.failed_nodes == (worker(1),)
    d.heal(Recorder().op("heal", spec, nodes=list(failed.failed_nodes)))
    assert_converged(d, provider, simulator, spec)
    assert creations(provider)[worker(1)] == 2


def test_heal_replaces_a_removed_worker() -> None:
    spec = cluster()
    d, provider, simulator = created(spec)
    provider.remove(worker(0))
    failed = d.check_health(spec)
    assert failed.status == "UNHEALTHY" and failed.failed_nodes == (worker(0),)
    d.heal(Recorder().op("heal", spec, nodes=list(failed.failed_nodes)))
    assert_converged(d, provider, simulator, spec)


def test_ca_rotation_gives_every_node_certificates_of_the_new_ca() -> None:
    spec = tls_cluster(managers=3)
    d, provider, simulator = created(spec)
    old_server = provider.container(manager(0)).files["/etc/cove/tls/server.pem"]  # type: ignore[union-attr]
    rotated = new_ca(spec)
    d.rotate_ca(Recorder().op("rotate-ca", rotated))
    assert_converged(d, provider, simulator, rotated)
    for name in [manager(0), manager(1), manager(2), worker(0)]:
        files = provider.container(name).files  # type: ignore[union-attr]
        assert files["/etc/cove/tls/ca.pem"] == rotated.ca_cert_pem.encode()
        assert files["/etc/cove/tls/server.pem"] != old_server


def test_delete_removes_every_container_and_the_network() -> None:
    spec = cluster(managers=3, workers=2)
    d, provider, _ = created(spec)
    d.delete_cluster(Recorder().op("delete", spec))
    assert provider.containers() == []
    assert provider.cluster_uuids() == set()
    d.delete_cluster(Recorder().op("delete", spec))  # again: nothing left, no error


# -- crash and resume after every step -------------------------------------------------------


def _kill_worker_1(provider: MemoryProvider) -> None:
    provider.kill(worker(1))


def _remove_worker_0(provider: MemoryProvider) -> None:
    provider.remove(worker(0))


def _kill_manager_0(provider: MemoryProvider) -> None:
    provider.kill(manager(0))


def _kill_two_managers(provider: MemoryProvider) -> None:
    provider.kill(manager(0))
    provider.kill(manager(1))


@dataclass(frozen=True)
class Scenario:
    """An operation on a cluster made from ``before`` (none: nothing made yet), after
    ``prepare`` did something behind cove's back; ``target`` is the spec it is given."""

    method: str
    kind: str
    target: ClusterSpec
    before: ClusterSpec | None = None
    params: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[MemoryProvider], None] | None = None
    after: ClusterSpec | None = None  # what the cluster should be (default: target)

    def setup(self) -> tuple[SwarmModeDriver, MemoryProvider, SwarmSimulator]:
        made = driver() if self.before is None else created(self.before)
        if self.prepare is not None:
            self.prepare(made[1])
        return made

    def call(self, d: SwarmModeDriver, recorder: Recorder) -> None:
        getattr(d, self.method)(recorder.op(self.kind, self.target, **self.params))


_TLS = tls_cluster(managers=2)
_HA = cluster(managers=3, workers=1)
_EXTRA = with_extra_group(cluster())
SCENARIOS = {
    "create": Scenario("create_cluster", "create", cluster(managers=3, workers=2)),
    "grow": Scenario(
        "update_cluster", "resize", resized(cluster(), 4), cluster(), {"nodegroup": WORKERS}
    ),
    "shrink": Scenario(
        "update_cluster",
        "resize",
        resized(cluster(), 1),
        cluster(workers=4),
        {"nodegroup": WORKERS, "nodes_to_remove": [worker(0)]},
    ),
    "nodegroup-create": Scenario(
        "update_cluster", "create-nodegroup", _EXTRA, cluster(), {"nodegroup": EXTRA}
    ),
    "nodegroup-delete": Scenario(
        "update_cluster",
        "delete-nodegroup",
        _EXTRA,
        _EXTRA,
        {"nodegroup": EXTRA},
        after=without_extra_group(_EXTRA),
    ),
    "upgrade": Scenario(
        "upgrade_cluster",
        "upgrade",
        upgraded(cluster(), NEW_IMAGE),
        cluster(),
        {"cluster_template": "t2"},
    ),
    "upgrade-3-managers": Scenario(
        "upgrade_cluster",
        "upgrade",
        upgraded(cluster(managers=3, workers=1), NEW_IMAGE),
        cluster(managers=3, workers=1),
        {"cluster_template": "t2"},
    ),
    "heal-killed": Scenario(
        "heal", "heal", cluster(), cluster(), {"nodes": [worker(1)]}, _kill_worker_1
    ),
    "heal-removed": Scenario(
        "heal", "heal", cluster(), cluster(), {"nodes": [worker(0)]}, _remove_worker_0
    ),
    "heal-manager": Scenario("heal", "heal", _HA, _HA, {"nodes": [manager(0)]}, _kill_manager_0),
    "heal-quorum-lost": Scenario(
        "heal", "heal", _HA, _HA, {"nodes": [manager(0), manager(1)]}, _kill_two_managers
    ),
    "rotate-ca": Scenario("rotate_ca", "rotate-ca", new_ca(_TLS), _TLS),
}


def steps_of(scenario: Scenario) -> list[str]:
    """The step names the operation records, in order (one uninterrupted run)."""
    d, _, _ = scenario.setup()
    recorder = Recorder()
    scenario.call(d, recorder)
    return list(recorder.progress)


def _crash_points() -> list[Any]:
    points = []
    for name, scenario in SCENARIOS.items():
        steps = steps_of(scenario)
        assert steps, name
        points += [pytest.param(name, step, id=f"{name}@{step}") for step in steps]
    return points


CRASH_POINTS = _crash_points()


def test_every_operation_records_its_documented_steps() -> None:
    kinds = {name: steps_of(s) for name, s in SCENARIOS.items()}
    assert kinds["create"] == ["network", "nodes", "engines", "swarm"]
    assert kinds["grow"] == ["network", "plan", "nodes", "engines", "swarm"]
    assert kinds["shrink"][-3:] == [
        f"remove:{worker(0)}",
        f"remove:{worker(3)}",
        f"remove:{worker(2)}",
    ]
    assert f"surge-plan:{manager(0)}" in kinds["upgrade"]
    assert f"upgrade:{worker(1)}" in kinds["upgrade"]
    assert kinds["heal-killed"] == ["network", "quorum", "forget", "nodes", "engines", "swarm"]
    assert kinds["rotate-ca"] == [f"tls:{manager(0)}", f"tls:{manager(1)}", f"tls:{worker(0)}"]


@pytest.mark.parametrize(("scenario", "step"), CRASH_POINTS)
def test_an_operation_resumed_after_a_crash_ends_healthy_without_redoing_nodes(
    scenario: str, step: str
) -> None:
    sc = SCENARIOS[scenario]
    d, provider, _ = sc.setup()
    sc.call(d, Recorder())
    uninterrupted = creations(provider)

    d, provider, simulator = sc.setup()
    recorder = Recorder(crash_after=step)
    with pytest.raises(Crash):
        sc.call(d, recorder)
    assert step in recorder.progress
    sc.call(d, recorder)  # the next attempt, by another conductor
    assert_converged(d, provider, simulator, sc.after or sc.target)
    assert creations(provider) == uninterrupted, "no node made more often than without a crash"


def test_uninterrupted_operations_make_each_node_once_or_replace_it_once() -> None:
    """What the crash tests compare against: replacements happen by design only."""
    for name in ("grow", "shrink", "upgrade", "heal-killed"):
        sc = SCENARIOS[name]
        d, provider, _ = sc.setup()
        before = creations(provider)
        sc.call(d, Recorder())
        made = creations(provider) - before
        if name == "upgrade":
            assert made == Counter({worker(0): 1, worker(1): 1, manager(1): 1})
        elif name == "heal-killed":
            assert made == Counter({worker(1): 1})
        elif name == "grow":
            assert made == Counter({worker(2): 1, worker(3): 1})
        else:
            assert made == Counter()


# -- the defects these tests pin down --------------------------------------------------------


def test_grow_resumed_after_its_containers_were_created_but_never_started() -> None:
    """Symptom: a grow retried after a new worker's container was created but never started
    ended with that worker stopped or outside the swarm (UNHEALTHY, never a Ready member)."""
    spec = cluster(workers=2)
    d, provider, simulator = created(spec)
    provider.faults.fail(
        "container.start", ProviderUnavailable("engine busy"), when=lambda n: n == worker(3)
    )
    recorder = Recorder()
    bigger = resized(spec, 4)
    with pytest.raises(ProviderUnavailable):
        d.update_cluster(recorder.op("resize", bigger, nodegroup=WORKERS))
    stranded = provider.container(worker(3))
    assert stranded is not None and stranded.status == "created"
    d.update_cluster(recorder.op("resize", bigger, nodegroup=WORKERS))
    assert_converged(d, provider, simulator, bigger)
    for index in (2, 3):
        member = simulator.member_of(worker(index))
        assert member is not None and simulator.status(member) == "Ready"


def test_grow_resumed_after_nodes_step_joins_every_new_worker() -> None:
    """Symptom: a conductor dying after the ``nodes`` step left new workers out of the swarm."""
    spec = cluster(workers=2)
    d, provider, simulator = created(spec)
    recorder = Recorder(crash_after="nodes")
    bigger = resized(spec, 4)
    with pytest.raises(Crash):
        d.update_cluster(recorder.op("resize", bigger, nodegroup=WORKERS))
    d.update_cluster(recorder.op("resize", bigger, nodegroup=WORKERS))
    assert_converged(d, provider, simulator, bigger)


def test_shrink_after_an_unfinished_grow_completes_at_once() -> None:
    """Symptom: a shrink choosing a node whose container never started (and never joined)
    retried forever with "No such node"."""
    spec = cluster(workers=2)
    d, provider, simulator = created(spec)
    provider.faults.fail(
        "container.start", ProviderUnavailable("engine busy"), when=lambda n: n == worker(3)
    )
    with pytest.raises(ProviderUnavailable):
        d.update_cluster(Recorder().op("resize", resized(spec, 4), nodegroup=WORKERS))
    smaller = resized(spec, 1)
    d.update_cluster(Recorder().op("resize", smaller, nodegroup=WORKERS))  # one attempt
    assert_converged(d, provider, simulator, smaller)


def test_upgrade_resumed_after_a_worker_was_destroyed_before_its_replacement_exists() -> None:
    """Symptom: an upgrade interrupted between destroying a worker and making its
    replacement lost that node for good (node count one short)."""
    spec = cluster(workers=2)
    d, provider, simulator = created(spec)
    provider.faults.fail(
        "container.create", ProviderUnavailable("engine busy"), when=lambda n: n == worker(0)
    )
    target = upgraded(spec, NEW_IMAGE)
    recorder = Recorder()
    with pytest.raises(ProviderUnavailable):
        d.upgrade_cluster(recorder.op("upgrade", target, cluster_template="t2"))
    assert provider.container(worker(0)) is None
    d.upgrade_cluster(recorder.op("upgrade", target, cluster_template="t2"))
    assert_converged(d, provider, simulator, target)
    assert {c.image for c in node_containers(provider)} == {NEW_IMAGE}


def test_upgrade_resumed_with_a_replacement_created_but_never_started() -> None:
    """Symptom: a replacement worker left ``Created`` by an interrupted upgrade was never
    started or joined on the next attempt (UNHEALTHY after the upgrade "succeeded")."""
    spec = cluster(workers=2)
    d, provider, simulator = created(spec)
    provider.faults.fail(
        "container.start", ProviderUnavailable("engine busy"), when=lambda n: n == worker(0)
    )
    target = upgraded(spec, NEW_IMAGE)
    recorder = Recorder()
    with pytest.raises(ProviderUnavailable):
        d.upgrade_cluster(recorder.op("upgrade", target, cluster_template="t2"))
    replacement = provider.container(worker(0))
    assert replacement is not None and replacement.status == "created"
    d.upgrade_cluster(recorder.op("upgrade", target, cluster_template="t2"))
    assert_converged(d, provider, simulator, target)


def test_removing_a_named_node_whose_container_was_killed_completes() -> None:
    """Symptom: ``nodes_to_remove`` naming a node whose container had died retried forever
    ("container ... is not running") trying to drain it from inside."""
    spec = cluster(workers=3)
    d, provider, simulator = created(spec)
    provider.kill(worker(0))
    smaller = resized(spec, 2)
    d.update_cluster(
        Recorder().op("resize", smaller, nodegroup=WORKERS, nodes_to_remove=[worker(0)])
    )
    assert_converged(d, provider, simulator, smaller)
    assert provider.container(worker(0)) is None


class EchoingRefusal(SwarmSimulator):
    """Refuses every join, echoing the command line as a chatty tool would."""

    def run(
        self,
        provider: MemoryProvider,
        node: MemoryContainer,
        argv: Sequence[str],
        stdin: bytes | None,
    ) -> ExecResult:
        if argv[3] == "swarm-join":
            token, _, remote = argv[4:7]
            return ExecResult(
                1,
                f"+ docker swarm join --token {token} {remote}\n"
                f"Error response from daemon: join {remote} with {token} refused\n",
            )
        return super().run(provider, node, argv, stdin)


def test_a_failed_join_names_the_command_but_not_the_join_token() -> None:
    """Symptom: a failing ``docker swarm join`` put the swarm's join token (``SWMTKN-...``)
    into the error, hence into events and the cluster's status_reason."""
    simulator = EchoingRefusal()
    provider = MemoryProvider(simulator)
    d = SwarmModeDriver(provider)
    with pytest.raises(CommandFailed) as failed:
        d.create_cluster(Recorder().op("create", cluster(workers=1)))
    message = str(failed.value)
    assert "swarm-join failed" in message
    assert "SWMTKN" not in message
    assert "--token" not in message
    assert failed.value.command == "swarm-join" and failed.value.node == worker(0)


def test_a_cluster_spec_repr_shows_no_ca_key() -> None:
    """Symptom: logging a ClusterSpec printed the cluster CA's private key."""
    spec = tls_cluster()
    assert "PRIVATE KEY" in spec.ca_key_pem
    shown = repr(spec)
    assert "ca_key_pem" not in shown
    assert "PRIVATE KEY" not in shown
    assert MANAGERS in shown  # the repr is still useful


def test_every_node_serves_its_engine_on_tcp_with_the_cluster_tls() -> None:
    """Workers too: cove places containers on every node through its engine API."""
    spec = tls_cluster(managers=1, workers=1)
    _, provider, _ = created(spec)
    for name in (manager(0), worker(0)):
        files = provider.container(name).files  # type: ignore[union-attr]
        config = json.loads(files["/etc/docker/daemon.json"])
        assert "tcp://0.0.0.0:2376" in config["hosts"] and config["tlsverify"] is True
        assert files["/etc/cove/tls/ca.pem"] == spec.ca_cert_pem.encode()
    plain = cluster(managers=1, workers=1, template={"tls_disabled": True})
    _, provider, _ = created(plain)
    config = json.loads(provider.container(worker(0)).files["/etc/docker/daemon.json"])  # type: ignore[union-attr]
    assert "tcp://0.0.0.0:2375" in config["hosts"] and config["tls"] is False


def test_a_health_checks_client_certificate_is_kept_until_the_ca_changes() -> None:
    driver = SwarmModeDriver(MemoryProvider())
    first, second = pki.create_ca("c1"), pki.create_ca("c1")
    spec = replace(
        cluster(template={"tls_disabled": False}),
        ca_cert_pem=first.cert_pem,
        ca_key_pem=first.key_pem,
    )
    kept = driver._client_context(spec)
    assert kept is not None and driver._client_context(spec) is kept
    rotated = replace(spec, ca_cert_pem=second.cert_pem, ca_key_pem=second.key_pem)
    fresh = driver._client_context(rotated)
    assert fresh is not None and fresh is not kept
    assert list(driver._contexts) == [(spec.uuid, second.cert_pem)]  # the old CA's is gone
    assert driver._client_context(replace(spec, template={"tls_disabled": True})) is None
