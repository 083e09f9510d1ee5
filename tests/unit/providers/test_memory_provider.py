"""MemoryProvider keeps the Docker provider's contract: adopt by name and label, conflict,
start if stopped, deletes tolerant of absence, delete_cluster by label, exec errors; and gives
tests faults, kills and an event log."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from cove.providers.base import (
    LABEL_CLUSTER,
    LABEL_NODE,
    LABEL_SERVICE,
    ExecResult,
    NetworkSpec,
    NodeNotFound,
    NodeNotRunning,
    NodeSpec,
    ProviderConflict,
    ProviderError,
    ProviderUnavailable,
    ServiceSpec,
)
from cove.providers.memory import MemoryContainer, MemoryProvider

CLUSTER = "0b7a1f2e-1111-4c1e-9a55-000000000001"
OTHER = "c3d4e5f6-2222-4c1e-9a55-000000000002"


def network_for(provider: MemoryProvider, cluster: str = CLUSTER) -> str:
    return provider.ensure_network(NetworkSpec(cluster_uuid=cluster, name=""))


def node_spec(network: str, suffix: str = "m0", cluster: str = CLUSTER, **kw: object) -> NodeSpec:
    fields: dict[str, object] = {
        "name": f"cove-{cluster[:8]}-{suffix}",
        "hostname": f"cove-{cluster[:8]}-{suffix}",
        "cluster_uuid": cluster,
        "nodegroup_uuid": f"ng-{cluster[:8]}",
        "role": "master" if suffix.startswith("m") else "worker",
        "image": "cove/node:1",
        "network": network,
    }
    fields.update(kw)
    return NodeSpec(**fields)  # type: ignore[arg-type]


def service_spec(network: str, cluster: str = CLUSTER, **kw: object) -> ServiceSpec:
    fields: dict[str, object] = {
        "name": f"cove-{cluster[:8]}-lb",
        "cluster_uuid": cluster,
        "kind": "lb",
        "image": "cove/node:1",
        "network": network,
        "command": ["haproxy"],
        "ports": {2376: 0},
        "volumes": {f"cove-{cluster[:8]}-lb-data": "/data"},
        "files": {"/etc/haproxy.cfg": b"cfg"},
    }
    fields.update(kw)
    return ServiceSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def provider() -> MemoryProvider:
    return MemoryProvider()


# -- networks ----------------------------------------------------------------------------------


def test_ensure_network_twice_makes_one_labelled_network(provider: MemoryProvider) -> None:
    first, second = network_for(provider), network_for(provider)

    assert first == second == "cove-0b7a1f2e-net"
    [network] = provider.networks()
    assert network.labels == {LABEL_CLUSTER: CLUSTER}


def test_network_name_taken_by_a_foreign_network_is_a_conflict(provider: MemoryProvider) -> None:
    provider.add_network("taken")

    with pytest.raises(ProviderConflict, match="taken"):
        provider.ensure_network(NetworkSpec(cluster_uuid=CLUSTER, name="taken"))


def test_existing_network_is_checked_and_never_deleted(provider: MemoryProvider) -> None:
    provider.add_network("fixed", subnet="192.168.7.0/24")
    spec = NetworkSpec(cluster_uuid=CLUSTER, name="", existing="fixed")

    assert provider.ensure_network(spec) == "fixed"
    record = provider.ensure_node(node_spec("fixed"))
    provider.delete_cluster(CLUSTER)

    assert record.address == "192.168.7.2"
    assert [n.name for n in provider.networks()] == ["fixed"]
    with pytest.raises(ProviderError, match="absent"):
        provider.ensure_network(NetworkSpec(cluster_uuid=CLUSTER, name="", existing="absent"))


def test_addresses_are_deterministic_per_network(provider: MemoryProvider) -> None:
    mine, theirs = network_for(provider), network_for(provider, OTHER)

    a = provider.ensure_node(node_spec(mine, "m0"))
    b = provider.ensure_node(node_spec(mine, "w0"))
    c = provider.ensure_node(node_spec(theirs, "m0", OTHER))

    assert (a.address, b.address, c.address) == ("10.1.0.2", "10.1.0.3", "10.2.0.2")


# -- nodes -------------------------------------------------------------------------------------


def test_ensure_node_creates_starts_and_labels(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider), ports={2376: 0, 80: 8080}, files={"/etc/a": b"1"})

    record = provider.ensure_node(spec)

    assert record.running and record.name == spec.name and record.role == "master"
    assert record.cluster_uuid == CLUSTER and record.nodegroup_uuid == spec.nodegroup_uuid
    assert record.image == "cove/node:1"
    assert record.host_ports == {2376: 49152, 80: 8080}
    container = provider.container(spec.name)
    assert container is not None
    assert container.labels[LABEL_NODE] == spec.name
    assert container.files == {"/etc/a": b"1"}
    assert provider.events == [("create", spec.name), ("start", spec.name)]


def test_ensure_node_twice_adopts_the_first(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider), ports={2376: 0})

    first = provider.ensure_node(spec)
    second = provider.ensure_node(spec)

    assert first == second
    assert provider.event_count("create", spec.name) == 1


def test_concurrent_ensure_node_makes_one_container(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider))

    with ThreadPoolExecutor(8) as pool:
        records = list(pool.map(lambda _: provider.ensure_node(spec), range(16)))

    assert len({r.id for r in records}) == 1
    assert provider.event_count("create") == 1


def test_stopped_node_is_adopted_and_started_keeping_its_files(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider), files={"/etc/a": b"old"})
    made = provider.ensure_node(spec)
    provider.put_files(spec.name, {"/etc/a": b"rotated"})
    provider.kill(spec.name)

    stopped = provider.find_nodes(CLUSTER)[0]
    adopted = provider.ensure_node(spec)

    assert not stopped.running and stopped.address is None and stopped.host_ports == {}
    assert adopted.running and adopted.id == made.id and adopted.address == made.address
    assert provider.container(spec.name).files == {"/etc/a": b"rotated"}  # type: ignore[union-attr]
    assert provider.events[-2:] == [("die", spec.name), ("start", spec.name)]


def test_created_but_never_started_node_gets_its_files_on_resume(
    provider: MemoryProvider,
) -> None:
    spec = node_spec(network_for(provider), files={"/etc/a": b"1"})
    provider.faults.fail("container.start", ProviderUnavailable("engine died"))

    with pytest.raises(ProviderUnavailable):
        provider.ensure_node(spec)
    assert provider.find_nodes(CLUSTER)[0].running is False
    record = provider.ensure_node(spec)

    assert record.running
    assert provider.container(spec.name).files == {"/etc/a": b"1"}  # type: ignore[union-attr]
    assert provider.events == [("create", spec.name), ("start", spec.name)]


def test_name_taken_by_another_cluster_or_a_foreign_container_is_a_conflict(
    provider: MemoryProvider,
) -> None:
    spec = node_spec(network_for(provider))
    provider.ensure_node(node_spec(network_for(provider, OTHER), "m0", OTHER, name=spec.name))

    with pytest.raises(ProviderConflict, match=f"cluster {OTHER}"):
        provider.ensure_node(spec)

    provider.add_container("foreign")
    with pytest.raises(ProviderConflict, match="something other than cove"):
        provider.ensure_node(node_spec(spec.network, name="foreign"))
    with pytest.raises(ProviderConflict):
        provider.delete_node("foreign")
    assert provider.container("foreign") is not None


def test_unknown_network_is_refused(provider: MemoryProvider) -> None:
    with pytest.raises(ProviderError, match="nowhere"):
        provider.ensure_node(node_spec("nowhere"))


def test_find_nodes_lists_the_clusters_nodes_by_name_running_or_not(
    provider: MemoryProvider,
) -> None:
    network = network_for(provider)
    for suffix in ("w1", "m0", "w0"):
        provider.ensure_node(node_spec(network, suffix))
    provider.ensure_node(node_spec(network_for(provider, OTHER), "m0", OTHER))
    provider.ensure_service(service_spec(network))
    provider.kill(f"cove-{CLUSTER[:8]}-w0")

    found = provider.find_nodes(CLUSTER)

    assert [r.name[-2:] for r in found] == ["m0", "w0", "w1"]
    assert [r.running for r in found] == [True, False, True]


def test_start_node(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider))
    provider.ensure_node(spec)
    provider.kill(spec.name)

    assert provider.start_node(spec.name).running
    assert provider.start_node(spec.name).running
    assert provider.event_count("start", spec.name) == 2
    with pytest.raises(NodeNotFound):
        provider.start_node("absent")


def test_delete_node_twice_succeeds(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider))
    provider.ensure_node(spec)

    provider.delete_node(spec.name)
    provider.delete_node(spec.name)

    assert provider.find_nodes(CLUSTER) == []
    assert provider.events[-2:] == [("die", spec.name), ("destroy", spec.name)]


def test_recreated_node_is_a_new_container(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider))
    first = provider.ensure_node(spec)
    provider.remove(spec.name)

    second = provider.ensure_node(spec)

    assert second.id != first.id
    assert provider.event_count("create", spec.name) == 2


# -- services ----------------------------------------------------------------------------------


def test_ensure_service_makes_labelled_volumes_and_adopts(provider: MemoryProvider) -> None:
    spec = service_spec(network_for(provider))

    record = provider.ensure_service(spec)
    provider.kill(spec.name)
    again = provider.ensure_service(spec)

    assert record == again
    assert record.kind == "lb" and record.running and record.host_ports == {2376: 49152}
    [volume] = provider.volumes()
    assert volume.labels == {LABEL_CLUSTER: CLUSTER, LABEL_SERVICE: "lb"}
    container = provider.container(spec.name)
    assert container is not None
    assert container.volumes == {volume.name: "/data"}
    assert container.files == {"/etc/haproxy.cfg": b"cfg"}
    assert provider.find_services(CLUSTER) == [again]
    assert provider.find_nodes(CLUSTER) == []
    assert provider.event_count("create") == 1


def test_service_name_taken_is_a_conflict(provider: MemoryProvider) -> None:
    spec = service_spec(network_for(provider))
    provider.add_container(spec.name, labels={LABEL_CLUSTER: OTHER})

    with pytest.raises(ProviderConflict):
        provider.ensure_service(spec)


# -- delete_cluster, cluster_uuids ---------------------------------------------------------------


def test_delete_cluster_removes_its_objects_and_nothing_else(provider: MemoryProvider) -> None:
    network = network_for(provider)
    for suffix in ("m0", "w0"):
        provider.ensure_node(node_spec(network, suffix))
    provider.ensure_service(service_spec(network))
    provider.ensure_node(node_spec(network_for(provider, OTHER), "m0", OTHER))
    provider.add_volume("theirs", labels={LABEL_CLUSTER: OTHER})
    provider.add_container("foreign", network=network)

    provider.delete_cluster(CLUSTER)
    provider.delete_cluster(CLUSTER)

    assert [c.name for c in provider.containers()] == ["cove-c3d4e5f6-m0", "foreign"]
    assert [n.name for n in provider.networks()] == ["cove-c3d4e5f6-net"]
    assert [v.name for v in provider.volumes()] == ["theirs"]
    assert provider.cluster_uuids() == {OTHER}


def test_cluster_uuids_from_containers_networks_and_volumes(provider: MemoryProvider) -> None:
    provider.add_volume("v", labels={LABEL_CLUSTER: "from-volume"})
    provider.add_network("n", labels={LABEL_CLUSTER: "from-network"})
    provider.add_container("c", labels={LABEL_CLUSTER: "from-container"}, running=False)
    provider.add_container("plain")

    assert provider.cluster_uuids() == {"from-volume", "from-network", "from-container"}


# -- exec, put_files -----------------------------------------------------------------------------


class Echo:
    """Answers with the argv and stdin it was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, list[str]]] = []

    def run(
        self,
        provider: MemoryProvider,
        node: MemoryContainer,
        argv: Sequence[str],
        stdin: bytes | None,
    ) -> ExecResult:
        self.seen.append((node.name, list(argv)))
        return ExecResult(exit_code=len(argv), output=" ".join(argv) + (stdin or b"").decode())


def test_exec_default_program_succeeds_silently(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider))
    provider.ensure_node(spec)

    assert provider.exec(spec.name, ["true"]) == ExecResult(exit_code=0, output="")
    assert provider.events[-1] == ("exec", spec.name)


def test_exec_runs_the_program(provider: MemoryProvider) -> None:
    echo = Echo()
    provider = MemoryProvider(program=echo)
    spec = node_spec(network_for(provider))
    provider.ensure_node(spec)

    result = provider.exec(spec.name, ["cat", "-"], stdin=b"!")

    assert result == ExecResult(exit_code=2, output="cat -!")
    assert echo.seen == [(spec.name, ["cat", "-"])]


def test_exec_errors(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider))
    provider.ensure_node(spec)
    provider.kill(spec.name)

    with pytest.raises(NodeNotRunning):
        provider.exec(spec.name, ["true"])
    with pytest.raises(NodeNotFound):
        provider.exec("absent", ["true"])
    assert provider.event_count("exec") == 0


def test_put_files(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider))
    provider.ensure_node(spec)
    provider.kill(spec.name)

    provider.put_files(spec.name, {"/etc/x": b"x"})

    assert provider.container(spec.name).files == {"/etc/x": b"x"}  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="relative"):
        provider.put_files(spec.name, {"relative": b""})
    with pytest.raises(NodeNotFound):
        provider.put_files("absent", {"/x": b""})


# -- faults ------------------------------------------------------------------------------------


def test_fault_fails_the_next_calls_then_clears(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider))
    provider.faults.fail("ensure_node", ProviderUnavailable("flaky"), times=2)

    for _ in range(2):
        with pytest.raises(ProviderUnavailable, match="flaky"):
            provider.ensure_node(spec)
    assert provider.events == []  # raised before doing anything
    assert provider.ensure_node(spec).running
    assert provider.faults.pending == 0


def test_fault_only_for_matching_calls(provider: MemoryProvider) -> None:
    network = network_for(provider)
    for suffix in ("m0", "w0"):
        provider.ensure_node(node_spec(network, suffix))
    provider.faults.fail(
        "exec",
        ProviderUnavailable("timeout"),
        when=lambda name, argv, stdin=None: name.endswith("w0") and argv[0] == "docker",
    )

    assert provider.exec(f"cove-{CLUSTER[:8]}-w0", ["true"]).exit_code == 0
    assert provider.exec(f"cove-{CLUSTER[:8]}-m0", ["docker"]).exit_code == 0
    with pytest.raises(ProviderUnavailable):
        provider.exec(f"cove-{CLUSTER[:8]}-w0", ["docker"])
    assert provider.exec(f"cove-{CLUSTER[:8]}-w0", ["docker"]).exit_code == 0


def test_fault_on_a_misspelt_method_is_refused(provider: MemoryProvider) -> None:
    with pytest.raises(ValueError, match="ensure_nodes"):
        provider.faults.fail("ensure_nodes", ProviderError("x"))


def test_fault_at_create_leaves_nothing(provider: MemoryProvider) -> None:
    spec = node_spec(network_for(provider))
    provider.faults.fail("container.create", ProviderUnavailable("5xx"))

    with pytest.raises(ProviderUnavailable):
        provider.ensure_node(spec)

    assert provider.find_nodes(CLUSTER) == [] and provider.events == []


def test_node_stats_report_running_nodes_with_settable_usage() -> None:
    from cove.providers.memory import NodeUsage

    provider = MemoryProvider()
    network = network_for(provider)
    running = provider.ensure_node(node_spec(network, "m0"))
    stopped = provider.ensure_node(node_spec(network, "w0"))
    provider.kill(stopped.name)
    provider.usage[running.name] = NodeUsage(cpu_time=5, cpus=4, memory=7, memory_limit=9)
    provider.clock = lambda: 100.0
    stats = provider.node_stats([running.name, stopped.name, "absent"])
    assert list(stats) == [running.name]
    sample = stats[running.name]
    assert (sample.cpu_time, sample.cpus, sample.memory, sample.memory_limit) == (5, 4, 7, 9)
    assert sample.read_at == 100.0 and sample.id == running.id
    provider.faults.fail("node_stats", ProviderUnavailable("engine down"))
    with pytest.raises(ProviderUnavailable):
        provider.node_stats([running.name])


def test_image_archive_streams_the_engines_images_only() -> None:
    provider = MemoryProvider()
    provider.images["busybox:1"] = b"tar"
    stream = provider.image_archive("busybox:1")
    assert stream is not None and b"".join(stream) == b"tar"
    assert provider.image_archive("nginx:1") is None
