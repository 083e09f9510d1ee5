"""MemoryContainerHost keeps the real host's contract (adopt by labels, refuse someone
else's, images from the host engine or refused, idempotent removes) and gives tests loads,
faults, dead containers and lost nodes."""

from __future__ import annotations

import pytest

from cove.drivers.containerhost import (
    NODE_LABEL,
    OWNER_LABEL,
    ContainerHost,
    ContainerSpec,
    PortSpec,
)
from cove.drivers.memoryhost import MemoryContainerHost
from cove.failures import Permanent, Temporary

LABELS = {OWNER_LABEL: "cc-1", NODE_LABEL: "n-1"}
SPEC = ContainerSpec("web-1", "busybox:1", LABELS, ports=(PortSpec(80), PortSpec(53, 5353)))


def made() -> MemoryContainerHost:
    return MemoryContainerHost(host_images=["busybox:1"])


def test_it_is_a_container_host() -> None:
    host: ContainerHost = made()
    assert [n.role for n in host.nodes()] == ["manager", "worker", "worker"]


def test_ensure_streams_the_image_once_then_adopts_by_name() -> None:
    host = made()
    record = host.ensure_container("node-1", SPEC)
    assert record.state == "running" and record.node == "node-1"
    assert record.ports == {"80/tcp": 32768, "53/tcp": 5353}
    assert host.ensure_container("node-1", SPEC).id == record.id
    host.ensure_container("node-1", ContainerSpec("web-2", "busybox:1", LABELS))
    assert [e for e in host.events if e[0] == "load"] == [("load", "node-1", "busybox:1")]
    assert [e[0] for e in host.events].count("create") == 2


def test_a_stopped_or_paused_container_of_ours_is_started_again() -> None:
    host = made()
    host.ensure_container("node-1", SPEC)
    host.kill("node-1", "web-1")
    assert host.inspect_container("node-1", "web-1").state == "exited"  # type: ignore[union-attr]
    assert host.ensure_container("node-1", SPEC).state == "running"
    host.pause_container("node-1", "web-1")
    assert host.ensure_container("node-1", SPEC).state == "running"


def test_someone_elses_container_and_a_missing_image_are_refused() -> None:
    host = made()
    host.add_container("node-2", "web-1", {OWNER_LABEL: "other"})
    with pytest.raises(Permanent, match="node node-2: container web-1 already exists"):
        host.ensure_container("node-2", SPEC)
    absent = ContainerSpec("x", "nginx:1", LABELS)
    with pytest.raises(Permanent, match="image nginx:1 is not available on node node-1"):
        host.ensure_container("node-1", absent)
    with pytest.raises(Permanent, match="node-9 is not a node"):
        host.ensure_container("node-9", SPEC)


def test_find_restart_pause_unpause_and_remove() -> None:
    host = made()
    host.ensure_container("node-1", SPEC)
    host.ensure_container("node-2", ContainerSpec("web-2", "busybox:1", {OWNER_LABEL: "cc-1"}))
    assert {c.name for c in host.find_containers({OWNER_LABEL: "cc-1"})} == {"web-1", "web-2"}
    assert [c.name for c in host.find_containers(LABELS)] == ["web-1"]
    host.pause_container("node-1", "web-1")
    host.pause_container("node-1", "web-1")
    assert host.container("node-1", "web-1").state == "paused"  # type: ignore[union-attr]
    host.unpause_container("node-1", "web-1")
    host.kill("node-1", "web-1", exit_code=3)
    assert host.container("node-1", "web-1").exit_code == 3  # type: ignore[union-attr]
    host.restart_container("node-1", "web-1")
    assert host.container("node-1", "web-1").state == "running"  # type: ignore[union-attr]
    host.remove_container("node-1", "web-1")
    host.remove_container("node-1", "web-1")
    assert host.inspect_container("node-1", "web-1") is None
    with pytest.raises(Permanent, match="there is no container web-1"):
        host.pause_container("node-1", "web-1")


def test_loads_are_settable_and_count_running_containers() -> None:
    host = made()
    host.set_load("node-1", cpu=1.5, cpus=2, memory=512, memory_limit=1024)
    host.ensure_container("node-1", SPEC)
    loads = host.loads()
    assert set(loads) == {"node-0", "node-1", "node-2"}
    assert loads["node-1"].containers == 1 and loads["node-1"].score == 0.625
    assert loads["node-0"].score < loads["node-1"].score


def test_a_lost_node_takes_its_containers_and_a_stopped_one_is_not_ready() -> None:
    host = made()
    host.ensure_container("node-1", SPEC)
    host.lose_node("node-1")
    assert "node-1" not in {n.name for n in host.nodes()}
    assert host.find_containers(LABELS) == []
    assert host.inspect_container("node-1", "web-1") is None
    host.remove_container("node-1", "web-1")  # gone with its node: done
    host.stop_node("node-2")
    assert not next(n for n in host.nodes() if n.name == "node-2").ready
    assert "node-2" not in host.loads()
    with pytest.raises(Temporary, match="node node-2"):
        host.ensure_container("node-2", SPEC)


def test_faults_fail_the_next_matching_calls() -> None:
    host = made()
    host.faults.fail("loads", Temporary("engine busy"), times=2)
    for _ in range(2):
        with pytest.raises(Temporary):
            host.loads()
    assert host.loads()
    host.faults.fail("ensure_container", Permanent("no"), when=lambda node, spec: node == "node-2")
    host.ensure_container("node-1", SPEC)
    with pytest.raises(Permanent):
        host.ensure_container("node-2", SPEC)
    with pytest.raises(ValueError):
        host.faults.fail("explode", Temporary("x"))
