"""Faults that must not lose a swarm's state (issue: healing an HA swarm, quorum loss), on the
in-memory provider and the swarm simulator: health tells a leader election from dead nodes,
healing replaces managers one at a time by surge, and a swarm that lost quorum is re-formed
from a surviving manager, keeping its state."""

from __future__ import annotations

from cove.drivers.swarm_mode import SwarmModeDriver
from cove.drivers.swarm_mode.simulation import SwarmSimulator
from cove.providers.memory import MemoryProvider
from tests.support.swarm import UUID, Recorder, cluster, driver


def manager(index: int) -> str:
    return f"cove-{UUID[:8]}-manager-{index}"


def worker(index: int) -> str:
    return f"cove-{UUID[:8]}-worker-{index}"


def ha() -> tuple[SwarmModeDriver, MemoryProvider, SwarmSimulator]:
    """Three managers and a worker, healthy, with state in the swarm (a network made by a
    user) that healing must keep."""
    d, provider, simulator = driver()
    d.create_cluster(Recorder().op("create", cluster(3, 1)))
    swarm = simulator.swarm_of(manager(0))
    assert swarm is not None
    simulator.create_object(swarm, "user-network")
    return d, provider, simulator


def heal(d: SwarmModeDriver, nodes: list[str]) -> None:
    d.heal(Recorder().op("heal", cluster(3, 1), nodes=nodes))


def assert_healthy_with_state(
    d: SwarmModeDriver, provider: MemoryProvider, simulator: SwarmSimulator
) -> None:
    report = d.check_health(cluster(3, 1))
    assert report.status == "HEALTHY", report.reason
    swarms = {id(simulator.swarm_of(c.name)) for c in provider.containers()}
    assert len(swarms) == 1, "every node in one swarm"
    swarm = simulator.swarm_of(provider.containers()[0].name)
    assert swarm is not None and "user-network" in swarm.objects, "the swarm's state survived"
    assert len(simulator.managers(swarm)) == 3


def test_members_unknown_during_an_election_are_not_failed() -> None:
    d, _, simulator = ha()
    swarm = simulator.swarm_of(manager(0))
    assert swarm is not None
    simulator.elect(swarm, reads=10)
    report = d.check_health(cluster(3, 1))
    assert report.failed_nodes == ()
    assert report.status in ("HEALTHY", "UNKNOWN")


def test_a_killed_leader_is_the_only_node_replaced_and_the_swarm_keeps_its_state() -> None:
    d, provider, simulator = ha()
    swarm = simulator.swarm_of(manager(0))
    assert swarm is not None
    leader = simulator.leader(swarm)
    assert leader is not None
    provider.kill(leader.hostname)
    simulator.elect(swarm, reads=2)
    report = d.check_health(cluster(3, 1))
    assert report.status == "UNHEALTHY"
    assert report.failed_nodes == (leader.hostname,)
    before = {c.name: provider.event_count("create", c.name) for c in provider.containers()}
    heal(d, list(report.failed_nodes))
    assert_healthy_with_state(d, provider, simulator)
    for name, count in before.items():
        if name != leader.hostname:
            assert provider.event_count("create", name) == count, f"{name} was re-created"


def test_quorum_loss_is_said_and_healing_reforms_the_swarm_from_the_survivor() -> None:
    d, provider, simulator = ha()
    provider.kill(manager(0))
    provider.kill(manager(1))
    report = d.check_health(cluster(3, 1))
    assert report.status == "UNHEALTHY"
    assert "quorum" in report.reason["api"].lower(), report.reason
    assert set(report.failed_nodes) == {manager(0), manager(1)}
    heal(d, list(report.failed_nodes))
    assert_healthy_with_state(d, provider, simulator)
    assert provider.event_count("create", worker(0)) == 1, "the worker stayed"


def test_a_healed_worker_comes_back_under_its_own_name_when_lower_slots_are_free() -> None:
    """A cluster whose workers are worker-0 and worker-2 (worker-1 removed by a resize): a
    dead worker-2 is made anew as worker-2, not as the lowest free slot."""
    from tests.support.swarm import resized

    d, provider, _ = driver()
    d.create_cluster(Recorder().op("create", cluster(1, 3)))
    two = resized(cluster(1, 3), 2)
    d.update_cluster(Recorder().op("resize", two, nodes_to_remove=[worker(1)]))
    assert sorted(c.name for c in provider.containers() if "worker" in c.name) == [
        worker(0),
        worker(2),
    ]
    provider.kill(worker(2))
    d.heal(Recorder().op("heal", two, nodes=[worker(2)]))
    names = sorted(c.name for c in provider.containers() if "worker" in c.name)
    assert names == [worker(0), worker(2)]
    assert d.check_health(two).status == "HEALTHY"
