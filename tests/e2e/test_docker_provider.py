"""The docker provider against the real Docker engine.

Every object a test makes is labelled with a cluster uuid made for this run (``cove.cluster``),
or, for objects made here with the SDK that must not look like cove's, with
``cove.e2e-run=<run id>``; each test sweeps those labels when it ends and asserts that nothing
labelled with them is left.

Most tests use a tiny busybox image (Debian's busybox-static in an empty root, built here once
and reused by content hash); its command copies ``/etc/cove/boot`` aside at start and sleeps,
so a test can tell that files were written *before* the node started. The docker-in-docker test
uses the real node image from the ``node_image`` fixture (tests/e2e/conftest.py).

Nothing here is skipped: ``docker_engine`` runs scripts/docker-engine.sh, which starts the
engine and installs busybox-static, so a missing engine or binary fails naming that step.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import random
import socket
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import docker.errors
import pytest

from cove.images import BuiltImage
from cove.providers.base import (
    LABEL_CLUSTER,
    ExecResult,
    NetworkSpec,
    NodeNotFound,
    NodeNotRunning,
    NodeSpec,
    ProviderConflict,
    ProviderError,
)
from cove.providers.docker import DockerProvider
from cove.providers.docker.records import node_record

pytestmark = pytest.mark.e2e

RUN_ID = uuid.uuid4().hex[:12]
RUN_LABEL = f"cove.e2e-run={RUN_ID}"
BOOT_FILE = "/etc/cove/boot"
# Copies the boot file aside the moment the node starts, then idles.
BUSYBOX_CMD = ["sh", "-c", f"cat {BOOT_FILE} >/boot-seen 2>&1; exec sleep 86400"]


@pytest.fixture(scope="session")
def client(docker_engine: None) -> Iterator[docker.DockerClient]:
    try:
        engine = docker.from_env()
        engine.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"no Docker engine after scripts/docker-engine.sh (it starts dockerd): {exc}")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def sleeper_image(client: docker.DockerClient) -> str:
    """``cove-test/busybox-sleeper:<hash>``: static busybox, its applets, /tmp (1777), and a
    command that records the boot file and idles (conftest's ``busybox_image`` has none)."""
    binary = Path("/bin/busybox")
    if not binary.exists():
        pytest.fail(
            "no /bin/busybox: scripts/docker-engine.sh (run by the docker_engine fixture) "
            "installs Debian's busybox-static; it did not here"
        )
    data = binary.read_bytes()
    tag = f"cove-test/busybox-sleeper:{hashlib.sha256(data).hexdigest()[:12]}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    applets = subprocess.run(
        [str(binary), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777)):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in applets:
            if applet != "busybox":
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type, info.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(info)
    repository, _, version = tag.partition(":")
    client.api.import_image_from_data(
        buffer.getvalue(),
        repository=repository,
        tag=version,
        changes=["ENV PATH=/bin", f"CMD {json.dumps(BUSYBOX_CMD)}"],
    )
    return tag


@pytest.fixture(scope="session")
def provider() -> Iterator[DockerProvider]:
    made = DockerProvider()
    yield made
    made.close()


def _selectors(clusters: list[str]) -> list[dict[str, str]]:
    return [{"label": f"{LABEL_CLUSTER}={u}"} for u in clusters] + [{"label": RUN_LABEL}]


def leftovers(client: docker.DockerClient, clusters: list[str]) -> list[str]:
    """Names of containers, networks and volumes labelled with the clusters or the run."""
    found: list[str] = []
    for selector in _selectors(clusters):
        found += [c.name for c in client.containers.list(all=True, filters=selector)]
        found += [n.name for n in client.networks.list(filters=selector)]
        found += [v.name for v in client.volumes.list(filters=selector)]
    return found


def sweep(client: docker.DockerClient, clusters: list[str]) -> None:
    """Remove what the clusters and the run labelled, with the SDK (not the code under test)."""
    for selector in _selectors(clusters):
        for container in client.containers.list(all=True, filters=selector):
            container.remove(force=True, v=True)
        for network in client.networks.list(filters=selector):
            network.remove()
        for volume in client.volumes.list(filters=selector):
            volume.remove(force=True)


@pytest.fixture
def new_cluster(client: docker.DockerClient) -> Iterator[Callable[[], str]]:
    """Makes cluster uuids; what is labelled with them is swept when the test ends."""
    made: list[str] = []

    def make() -> str:
        made.append(str(uuid.uuid4()))
        return made[-1]

    yield make
    sweep(client, made)
    assert leftovers(client, made) == []


@pytest.fixture
def cluster(new_cluster: Callable[[], str]) -> str:
    return new_cluster()


def node_spec(
    cluster_uuid: str, network: str, image: str, suffix: str = "m0", **overrides: object
) -> NodeSpec:
    fields: dict[str, object] = {
        "name": f"cove-e2e-{cluster_uuid[:8]}-{suffix}",
        "hostname": f"node-{suffix}",
        "cluster_uuid": cluster_uuid,
        "nodegroup_uuid": f"ng-{cluster_uuid[:8]}",
        "role": "master" if suffix.startswith("m") else "worker",
        "image": image,
        "network": network,
        "cpus": 0.5,
        "memory_mb": 64,
        "storage_gb": 1,
    }
    fields.update(overrides)
    return NodeSpec(**fields)  # type: ignore[arg-type]


def network_for(provider: DockerProvider, cluster_uuid: str) -> str:
    return provider.ensure_network(NetworkSpec(cluster_uuid=cluster_uuid, name=""))


def in_node(provider: DockerProvider, name: str, script: str) -> str:
    result = provider.exec(name, ["sh", "-c", script])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_ensure_network_twice_makes_one_labelled_bridge(
    provider: DockerProvider, client: docker.DockerClient, cluster: str
) -> None:
    first = network_for(provider, cluster)
    second = network_for(provider, cluster)

    assert first == second == f"cove-{cluster.replace('-', '')[:8]}-net"
    (network,) = client.networks.list(filters={"label": f"{LABEL_CLUSTER}={cluster}"})
    assert network.name == first
    assert network.attrs["Driver"] == "bridge"
    assert network.attrs["Attachable"] is True


def test_concurrent_ensure_network_makes_one(
    provider: DockerProvider, client: docker.DockerClient, cluster: str
) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        names = set(pool.map(lambda _: network_for(provider, cluster), range(6)))

    assert len(names) == 1
    assert len(client.networks.list(filters={"label": f"{LABEL_CLUSTER}={cluster}"})) == 1


def test_network_name_taken_by_a_foreign_network_is_a_conflict(
    provider: DockerProvider, client: docker.DockerClient, cluster: str
) -> None:
    name = f"cove-{cluster.replace('-', '')[:8]}-net"
    client.networks.create(name, labels={"cove.e2e-run": RUN_ID})

    with pytest.raises(ProviderConflict, match=name):
        network_for(provider, cluster)


def test_ensure_network_uses_the_subnet_given(
    provider: DockerProvider, client: docker.DockerClient, cluster: str
) -> None:
    subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24"
    name = provider.ensure_network(NetworkSpec(cluster_uuid=cluster, name="", subnet=subnet))

    config = client.networks.get(name).attrs["IPAM"]["Config"]
    assert [entry["Subnet"] for entry in config] == [subnet]


def test_existing_network_is_used_and_never_deleted(
    provider: DockerProvider, client: docker.DockerClient, cluster: str
) -> None:
    fixed = client.networks.create(f"cove-e2e-fixed-{RUN_ID}", labels={"cove.e2e-run": RUN_ID})
    spec = NetworkSpec(cluster_uuid=cluster, name="", existing=fixed.name)

    assert provider.ensure_network(spec) == fixed.name
    provider.delete_cluster(cluster)
    fixed.reload()  # still there

    missing = NetworkSpec(cluster_uuid=cluster, name="", existing=f"cove-e2e-none-{RUN_ID}")
    with pytest.raises(ProviderError, match="does not exist") as caught:
        provider.ensure_network(missing)
    assert not isinstance(caught.value, NodeNotFound)


def test_ensure_node_twice_adopts_the_first(
    provider: DockerProvider, client: docker.DockerClient, cluster: str, sleeper_image: str
) -> None:
    network = network_for(provider, cluster)
    spec = node_spec(cluster, network, sleeper_image)

    first = provider.ensure_node(spec)
    second = provider.ensure_node(spec)

    assert first == second
    listed = client.containers.list(all=True, filters={"label": f"{LABEL_CLUSTER}={cluster}"})
    assert [c.id for c in listed] == [first.id]
    assert first.running and first.role == "master" and first.image == sleeper_image
    assert first.cluster_uuid == cluster and first.nodegroup_uuid == spec.nodegroup_uuid
    subnet = client.networks.get(network).attrs["IPAM"]["Config"][0]["Subnet"]
    assert first.address is not None
    assert ipaddress.ip_address(first.address) in ipaddress.ip_network(subnet)
    # The detection left no probe container behind and chose a mode.
    assert provider.node_mode is not None
    probes = {"label": ["cove.probe", f"{LABEL_CLUSTER}={cluster}"]}
    names = [c.name for c in client.containers.list(all=True, filters=probes)]
    assert names == []
    # Limits and the hostname alias on the cluster network.
    attrs = client.containers.get(spec.name).attrs
    assert attrs["HostConfig"]["NanoCpus"] == 500_000_000
    assert attrs["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert "node-m0" in attrs["NetworkSettings"]["Networks"][network]["Aliases"]


def test_a_node_an_earlier_attempt_made_is_adopted_even_when_making_one_would_fail(
    provider: DockerProvider, client: docker.DockerClient, cluster: str, sleeper_image: str
) -> None:
    """A resumed create adopts what the killed one made without deciding the node mode: a
    new process's probe, which needs the image, is not in its way."""
    network = network_for(provider, cluster)
    made = provider.ensure_node(node_spec(cluster, network, sleeper_image))
    client.containers.get(made.name).stop(timeout=1)
    resumed = DockerProvider()  # nothing detected yet
    try:
        adopted = resumed.ensure_node(node_spec(cluster, network, "cove-e2e/absent:none"))
    finally:
        resumed.close()
    assert (adopted.id, adopted.running) == (made.id, True)
    fresh = DockerProvider()
    try:  # no container to adopt: the failure stands
        with pytest.raises(ProviderError):
            fresh.ensure_node(node_spec(cluster, network, "cove-e2e/absent:none", "m1"))
    finally:
        fresh.close()


def test_concurrent_ensure_node_makes_one_container(
    provider: DockerProvider, client: docker.DockerClient, cluster: str, sleeper_image: str
) -> None:
    spec = node_spec(
        cluster, network_for(provider, cluster), sleeper_image, files={BOOT_FILE: b"once\n"}
    )
    provider.ensure_node(node_spec(cluster, spec.network, sleeper_image, "w9"))  # detect first

    with ThreadPoolExecutor(max_workers=4) as pool:
        records = list(pool.map(lambda _: provider.ensure_node(spec), range(4)))

    assert len({r.id for r in records}) == 1 and all(r.running for r in records)
    listed = client.containers.list(all=True, filters={"label": f"cove.node={spec.name}"})
    assert len(listed) == 1
    assert in_node(provider, spec.name, "cat /boot-seen") == "once"


def test_stopped_node_is_adopted_and_started(
    provider: DockerProvider, client: docker.DockerClient, cluster: str, sleeper_image: str
) -> None:
    spec = node_spec(cluster, network_for(provider, cluster), sleeper_image)
    first = provider.ensure_node(spec)
    client.containers.get(spec.name).stop(timeout=1)

    again = provider.ensure_node(spec)

    assert again.id == first.id and again.running


def test_cluster_uuids_and_exec_in_a_stopped_node(
    provider: DockerProvider,
    client: docker.DockerClient,
    new_cluster: Callable[[], str],
    sleeper_image: str,
) -> None:
    with_node, with_volume = new_cluster(), new_cluster()
    spec = node_spec(with_node, network_for(provider, with_node), sleeper_image)
    provider.ensure_node(spec)
    client.volumes.create(f"cove-e2e-{with_volume[:8]}-vol", labels={LABEL_CLUSTER: with_volume})
    client.containers.get(spec.name).stop(timeout=1)

    assert {with_node, with_volume} <= provider.cluster_uuids()
    with pytest.raises(NodeNotRunning):
        provider.exec(spec.name, ["true"])


def test_name_taken_by_another_cluster_is_a_conflict(
    provider: DockerProvider,
    client: docker.DockerClient,
    new_cluster: Callable[[], str],
    sleeper_image: str,
) -> None:
    mine, other = new_cluster(), new_cluster()
    spec = node_spec(mine, network_for(provider, mine), sleeper_image)
    client.containers.create(sleeper_image, name=spec.name, labels={LABEL_CLUSTER: other})

    with pytest.raises(ProviderConflict, match=spec.name):
        provider.ensure_node(spec)


def test_name_taken_by_a_foreign_container_is_a_conflict_and_not_deleted(
    provider: DockerProvider, client: docker.DockerClient, cluster: str, sleeper_image: str
) -> None:
    spec = node_spec(cluster, network_for(provider, cluster), sleeper_image)
    foreign = client.containers.create(
        sleeper_image, name=spec.name, labels={"cove.e2e-run": RUN_ID}
    )

    with pytest.raises(ProviderConflict, match="something other than cove"):
        provider.ensure_node(spec)
    with pytest.raises(ProviderConflict):
        provider.delete_node(spec.name)
    foreign.reload()  # still there


def test_files_are_written_before_the_node_starts(
    provider: DockerProvider, cluster: str, sleeper_image: str
) -> None:
    files = {
        BOOT_FILE: b"written before start\n",
        "/etc/cove/certs/ca.pem": b"-----BEGIN CERTIFICATE-----\n",
        "/tmp/deep/er/file": b"x",
    }
    spec = node_spec(cluster, network_for(provider, cluster), sleeper_image, files=files)
    provider.ensure_node(spec)

    # The node's command read the file the moment it started.
    assert in_node(provider, spec.name, "cat /boot-seen") == "written before start"
    modes = in_node(provider, spec.name, f"stat -c '%n %a %u' {' '.join(files)} /tmp /etc")
    assert modes.splitlines() == [
        f"{BOOT_FILE} 600 0",
        "/etc/cove/certs/ca.pem 600 0",
        "/tmp/deep/er/file 600 0",
        "/tmp 1777 0",  # an existing parent keeps its mode
        "/etc 755 0",
    ]
    assert in_node(provider, spec.name, "cat /etc/cove/certs/ca.pem").startswith("-----BEGIN")


def test_put_files_into_a_running_node(
    provider: DockerProvider, cluster: str, sleeper_image: str
) -> None:
    spec = node_spec(cluster, network_for(provider, cluster), sleeper_image)
    provider.ensure_node(spec)

    provider.put_files(spec.name, {"/srv/new/dir/a.txt": b"hello"}, mode=0o644)

    assert in_node(provider, spec.name, "stat -c %a /srv/new/dir/a.txt") == "644"
    assert in_node(provider, spec.name, "cat /srv/new/dir/a.txt") == "hello"
    with pytest.raises(NodeNotFound):
        provider.put_files(f"cove-e2e-{RUN_ID}-absent", {"/x": b""})


def test_exec_returns_output_and_exit_code(
    provider: DockerProvider, cluster: str, sleeper_image: str
) -> None:
    spec = node_spec(cluster, network_for(provider, cluster), sleeper_image)
    provider.ensure_node(spec)

    result = provider.exec(spec.name, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert result.exit_code == 3
    # Both streams, merged; the engine does not order stdout against stderr (seen under load).
    assert sorted(result.output.split()) == ["err", "out"]

    counted = provider.exec(spec.name, ["wc", "-c"], stdin=b"z" * 3_000_000)
    assert (counted.exit_code, counted.output.strip()) == (0, "3000000")
    # Output as large as the input, written while stdin is still arriving: no deadlock.
    echoed = provider.exec(spec.name, ["cat"], stdin=b"a" * 2_000_000)
    assert echoed.exit_code == 0 and echoed.output == "a" * 2_000_000
    # A command that never reads its stdin.
    ignored = provider.exec(spec.name, ["true"], stdin=b"b" * 8_000_000)
    assert ignored.exit_code == 0
    with pytest.raises(NodeNotFound):
        provider.exec(f"cove-e2e-{RUN_ID}-absent", ["true"])


def test_find_nodes_lists_the_clusters_nodes_running_or_not(
    provider: DockerProvider,
    client: docker.DockerClient,
    new_cluster: Callable[[], str],
    sleeper_image: str,
) -> None:
    mine, other = new_cluster(), new_cluster()
    network = network_for(provider, mine)
    master = provider.ensure_node(node_spec(mine, network, sleeper_image, "m0"))
    worker = provider.ensure_node(node_spec(mine, network, sleeper_image, "w0"))
    provider.ensure_node(node_spec(other, network_for(provider, other), sleeper_image, "m0"))
    client.containers.get(worker.name).stop(timeout=1)

    found = provider.find_nodes(mine)

    assert [(r.name, r.role, r.running) for r in found] == [
        (master.name, "master", True),
        (worker.name, "worker", False),
    ]
    assert found[1].address is None
    # Read from the engine's list in one call: the records its inspection gives.
    assert found == [node_record(client.containers.get(r.name).attrs) for r in found]
    assert provider.start_node(worker.name).running
    assert all(r.running for r in provider.find_nodes(mine))
    with pytest.raises(NodeNotFound):
        provider.start_node(f"cove-e2e-{RUN_ID}-absent")


def test_delete_node_twice_succeeds(
    provider: DockerProvider, client: docker.DockerClient, cluster: str, sleeper_image: str
) -> None:
    spec = node_spec(cluster, network_for(provider, cluster), sleeper_image)
    provider.ensure_node(spec)

    provider.delete_node(spec.name)
    provider.delete_node(spec.name)

    assert provider.find_nodes(cluster) == []
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(spec.name)


def test_delete_cluster_removes_its_objects_and_nothing_else(
    provider: DockerProvider,
    client: docker.DockerClient,
    new_cluster: Callable[[], str],
    sleeper_image: str,
) -> None:
    doomed, bystander = new_cluster(), new_cluster()
    network = network_for(provider, doomed)
    for suffix in ("m0", "w0", "w1"):
        provider.ensure_node(node_spec(doomed, network, sleeper_image, suffix))
    client.volumes.create(f"cove-e2e-{doomed[:8]}-vol", labels={LABEL_CLUSTER: doomed})
    # Not the cluster's, but attached to its network: it must survive, detached.
    unrelated = client.containers.run(
        sleeper_image,
        name=f"cove-e2e-{bystander[:8]}-x",
        labels={LABEL_CLUSTER: bystander},
        network=network,
        detach=True,
    )

    provider.delete_cluster(doomed)
    provider.delete_cluster(doomed)

    assert leftovers(client, [doomed]) == []
    unrelated.reload()
    assert unrelated.status == "running"
    assert network not in unrelated.attrs["NetworkSettings"]["Networks"]


def test_ports_are_published_on_the_host(
    provider: DockerProvider, cluster: str, sleeper_image: str
) -> None:
    fixed = free_port()
    spec = node_spec(
        cluster, network_for(provider, cluster), sleeper_image, ports={8080: 0, 9090: fixed}
    )
    record = provider.ensure_node(spec)

    assert set(record.host_ports) == {8080, 9090}
    assert record.host_ports[9090] == fixed
    assert record.host_ports[8080] > 0
    in_node(provider, spec.name, "echo hello >/hello; nc -l -p 8080 </hello >/dev/null 2>&1 &")
    assert _read_port(record.host_ports[8080]) == b"hello\n"


def _read_port(port: int, deadline: float = 5.0) -> bytes:
    give_up = time.monotonic() + deadline
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                data = conn.recv(100)
                if data:
                    return data
        except OSError:
            pass
        if time.monotonic() > give_up:
            return b""
        time.sleep(0.1)


def test_docker_in_docker_node_runs_an_engine(
    provider: DockerProvider,
    client: docker.DockerClient,
    cluster: str,
    sleeper_image: str,
    node_image: BuiltImage,
) -> None:
    image = node_image.ref
    daemon = {"hosts": ["unix:///var/run/docker.sock"], "cgroup-parent": f"/cove-{cluster[:8]}"}
    spec = node_spec(
        cluster,
        network_for(provider, cluster),
        image,
        memory_mb=512,
        storage_gb=2,
        files={"/etc/docker/daemon.json": json.dumps(daemon).encode()},
    )
    record = provider.ensure_node(spec)
    assert record.running

    info = _wait_for_engine(provider, spec.name)
    assert info.exit_code == 0, info.output
    # Copy an image into the node's engine through exec's stdin, as drivers will.
    saved = b"".join(client.images.get(sleeper_image).save(named=sleeper_image))
    loaded = provider.exec(spec.name, ["docker", "load"], stdin=saved)
    assert loaded.exit_code == 0, loaded.output
    ran = provider.exec(spec.name, ["docker", "run", "--rm", sleeper_image, "echo", "inner"])
    assert (ran.exit_code, ran.output.strip()) == (0, "inner")


def _wait_for_engine(provider: DockerProvider, name: str, deadline: float = 60.0) -> ExecResult:
    give_up = time.monotonic() + deadline
    while True:
        result = provider.exec(name, ["docker", "info", "--format", "{{.ServerVersion}}"])
        if result.exit_code == 0 or time.monotonic() > give_up:
            return result
        time.sleep(0.2)


def test_published_ports_listen_on_loopback_by_default(
    provider: DockerProvider, client: docker.DockerClient, cluster: str, sleeper_image: str
) -> None:
    # With tls_disabled a managers' engine API open on every address is root on the node.
    network = network_for(provider, cluster)
    record = provider.ensure_node(node_spec(cluster, network, sleeper_image, ports={2376: 0}))
    assert record.host_ports.get(2376)
    bindings = client.containers.get(record.name).attrs["HostConfig"]["PortBindings"]
    assert {b["HostIp"] for b in bindings["2376/tcp"]} == {"127.0.0.1"}
