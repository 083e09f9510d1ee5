"""Placement by load: the least loaded ready node, ties spread by members, constraints."""

from __future__ import annotations

from collections import Counter

import pytest

from cove.clustering.placement import NoHostNode, Placer, Rules
from cove.drivers.containerhost import HostNode, NodeLoad

GiB = 2**30


def nodes(*names: str, group: str = "default", ready: bool = True) -> list[HostNode]:
    return [HostNode(n, "worker", group, f"10.0.0.{i}", ready) for i, n in enumerate(names, 2)]


def idle(cpu: float = 0.0, memory: float = 0.01) -> NodeLoad:
    return NodeLoad(
        cpu=cpu, cpus=2.0, memory=int(memory * 8 * GiB), memory_limit=8 * GiB, containers=0
    )


def test_six_containers_on_four_idle_nodes_spread_within_one() -> None:
    hosts = nodes("m0", "w0", "w1", "w2")
    placer = Placer(hosts, {n.name: idle() for n in hosts})
    counts = Counter(placer.place() for _ in range(6))
    assert sum(counts.values()) == 6
    assert max(counts.values()) - min(counts[n.name] for n in hosts) <= 1


def test_a_busy_node_gets_nothing_while_idle_nodes_have_room() -> None:
    hosts = nodes("busy", "a", "b")
    loads = {"busy": idle(cpu=1.6), "a": idle(), "b": idle()}
    placed = [Placer(hosts, loads).place()]
    placer = Placer(hosts, loads)
    placed = [placer.place() for _ in range(4)]
    assert "busy" not in placed
    assert Counter(placed) == {"a": 2, "b": 2}


def test_noise_below_the_tie_band_does_not_decide() -> None:
    hosts = nodes("a", "b")
    loads = {"a": idle(memory=0.011), "b": idle(memory=0.010)}
    placer = Placer(hosts, loads, members=Counter({"b": 1}))
    assert placer.place() == "a"  # b is a hair less loaded but already has a member


def test_not_ready_nodes_and_avoided_nodes_are_skipped() -> None:
    hosts = [*nodes("a"), *nodes("down", ready=False), *nodes("lost")]
    placer = Placer(hosts, {n.name: idle() for n in hosts})
    assert {placer.place(avoid=frozenset({"lost"})) for _ in range(3)} == {"a"}


def test_host_node_pins_every_container() -> None:
    hosts = nodes("a", "b")
    placer = Placer(hosts, {}, rules=Rules(host_node="b"))
    assert {placer.place() for _ in range(3)} == {"b"}


def test_host_node_not_ready_is_refused_by_name() -> None:
    placer = Placer(nodes("a") + nodes("b", ready=False), {}, rules=Rules(host_node="b"))
    with pytest.raises(NoHostNode, match="Host node b is not ready"):
        placer.place()


def test_anti_affinity_enforced_refuses_a_second_member_per_node() -> None:
    hosts = nodes("a", "b")
    placer = Placer(hosts, {}, rules=Rules(anti_affinity=True))
    assert {placer.place(), placer.place()} == {"a", "b"}
    with pytest.raises(NoHostNode, match="Anti-affinity"):
        placer.place()


def test_anti_affinity_preferred_only_falls_back() -> None:
    hosts = nodes("a", "b")
    placer = Placer(hosts, {}, rules=Rules(anti_affinity=True, enforce=False))
    assert {placer.place(), placer.place()} == {"a", "b"}
    assert placer.place() in {"a", "b"}  # a third member is placed, not refused


def test_spread_over_node_groups_first() -> None:
    hosts = nodes("a1", "a2", group="a") + nodes("b1", group="b")
    placer = Placer(hosts, {n.name: idle() for n in hosts}, rules=Rules(spread_nodegroups=True))
    first_two = {placer.place(), placer.place()}
    assert "b1" in first_two and len(first_two & {"a1", "a2"}) == 1


def test_affinity_keeps_members_together() -> None:
    hosts = nodes("a", "b", "c")
    placer = Placer(hosts, {n.name: idle() for n in hosts}, rules=Rules(affinity=True))
    first = placer.place()
    assert {placer.place() for _ in range(3)} == {first}
