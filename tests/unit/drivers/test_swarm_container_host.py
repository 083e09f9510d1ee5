"""The swarm-mode container host without an engine: node engines faked behind ``_client``,
nodes and images from the in-memory provider. Images stream once per node however many
calls need them at once; an image nobody has is refused naming it and the node; a foreign
container of that name is refused; engine errors become cove's failures; the client's TLS
material lives only in memory."""

from __future__ import annotations

import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker.errors
import pytest
import requests

from cove.drivers.containerhost import OWNER_LABEL, ContainerSpec
from cove.drivers.swarm_mode import SwarmModeDriver, nodeengines
from cove.drivers.swarm_mode.containers import SwarmContainerHost
from cove.failures import Permanent, Temporary
from cove.pki import ca as pki
from cove.providers.base import NetworkSpec, NodeSpec
from cove.providers.memory import MemoryProvider
from tests.support.swarm import UUID, WORKERS, cluster

NODE = "cove-0c0ffee0-w0"
IMAGE = "busybox:1"


class FakeEngine:
    """Just enough of ``docker.APIClient`` for ensure_container."""

    def __init__(self) -> None:
        self.images: set[str] = set()
        self.containers: dict[str, dict[str, Any]] = {}
        self.loads = 0
        self.lock = threading.Lock()

    def inspect_image(self, ref: str) -> dict[str, Any]:
        if ref not in self.images:
            raise docker.errors.ImageNotFound("no such image")
        return {"Id": ref}

    def load_image(self, archive: Any) -> list[dict[str, Any]]:
        with self.lock:
            self.loads += 1
        threading.Event().wait(0.05)  # a slow transfer: concurrent callers wait for it
        assert b"".join(archive) == b"tar"
        self.images.add(IMAGE)
        return [{"stream": f"Loaded image: {IMAGE}"}]

    def inspect_container(self, name: str) -> dict[str, Any]:
        if name not in self.containers:
            raise docker.errors.NotFound("no such container")
        return self.containers[name]

    def create_host_config(self, **kw: Any) -> dict[str, Any]:
        return kw

    def create_container(self, **kw: Any) -> dict[str, Any]:
        with self.lock:
            self.containers.setdefault(
                kw["name"],
                {
                    "Id": kw["name"],
                    "Name": "/" + kw["name"],
                    "State": {"Status": "created"},
                    "Config": {"Labels": kw["labels"]},
                },
            )
        return {"Id": kw["name"]}

    def start(self, name: str) -> None:
        self.containers[name]["State"] = {"Status": "running"}


def made(engine: FakeEngine, images: dict[str, bytes] | None = None) -> SwarmContainerHost:
    provider = MemoryProvider()
    provider.images.update(images or {})
    network = provider.ensure_network(NetworkSpec(cluster_uuid=UUID, name=""))
    provider.ensure_node(NodeSpec(NODE, NODE, UUID, WORKERS, "worker", "cove/node:1", network))
    host = SwarmContainerHost(provider, cluster())
    host._client = lambda node, record=None: engine  # type: ignore[assignment,method-assign,misc]
    return host


def spec(name: str, owner: str = "cc") -> ContainerSpec:
    return ContainerSpec(name, IMAGE, {OWNER_LABEL: owner})


def test_an_image_is_streamed_once_per_node_for_concurrent_containers() -> None:
    engine = FakeEngine()
    host = made(engine, {IMAGE: b"tar"})
    with ThreadPoolExecutor(4) as pool:
        records = list(pool.map(lambda i: host.ensure_container(NODE, spec(f"c{i}")), range(4)))
    assert engine.loads == 1
    assert [r.state for r in records] == ["running"] * 4


def test_an_image_nobody_has_is_refused_naming_it_and_the_node() -> None:
    host = made(FakeEngine())
    with pytest.raises(Permanent) as refused:
        host.ensure_container(NODE, spec("c1"))
    assert str(refused.value) == (
        f"image {IMAGE} is not available on node {NODE} nor on the host engine"
    )


def test_ours_is_adopted_and_someone_elses_refused() -> None:
    engine = FakeEngine()
    engine.images.add(IMAGE)
    host = made(engine)
    first = host.ensure_container(NODE, spec("c1"))
    assert host.ensure_container(NODE, spec("c1")).id == first.id
    with pytest.raises(Permanent, match=f"node {NODE}: container c1 already exists and belongs"):
        host.ensure_container(NODE, spec("c1", owner="other"))


def test_an_unknown_node_is_refused_and_a_stopped_one_is_temporary() -> None:
    host = made(FakeEngine())
    del host._client  # the real one: it refuses before connecting
    with pytest.raises(Permanent, match="cove-nope is not a node of cluster c1"):
        host.ensure_container("cove-nope", spec("c1"))
    host.provider.kill(NODE)  # type: ignore[attr-defined]
    with pytest.raises(Temporary, match=f"node {NODE} is not running"):
        host.ensure_container(NODE, spec("c1"))
    assert host.inspect_container("cove-nope", "c1") is None
    host.remove_container("cove-nope", "c1")  # gone with its node: done
    host.remove_container(NODE, "c1")  # a stopped node's engine storage went with it: done
    assert [(n.name, n.ready) for n in host.nodes()] == [(NODE, False)]


def test_engine_errors_become_failures_naming_the_node() -> None:
    response = requests.Response()
    response.status_code = 500
    with (
        pytest.raises(Temporary, match="node n1: starting container c1: boom"),
        nodeengines.engine_errors("n1", "starting container c1"),
    ):
        raise docker.errors.APIError("x", response, explanation="boom")
    response.status_code = 400
    with (
        pytest.raises(Permanent, match="node n1: creating container c1: bad"),
        nodeengines.engine_errors("n1", "creating container c1"),
    ):
        raise docker.errors.APIError("x", response, explanation="bad")
    with (
        pytest.raises(Temporary, match="its engine does not answer"),
        nodeengines.engine_errors("n1", "listing containers"),
    ):
        raise requests.exceptions.ConnectionError("refused")


def test_the_client_key_lives_in_memory_only() -> None:
    authority = pki.create_ca("c1")
    spec_ = cluster()
    spec_ = type(spec_)(**{**spec_.__dict__, "ca_cert_pem": authority.cert_pem,
                           "ca_key_pem": authority.key_pem})  # fmt: skip

    # Only cove's own entries: other programs on the machine come and go in the same place.
    def ours() -> set[str]:
        return {e for e in os.listdir(tempfile.gettempdir()) if e.startswith("cove-tls-")}

    before = ours()
    context = nodeengines.client_context(spec_)
    assert ours() == before
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname


def test_the_driver_keeps_one_host_per_cluster_and_ca() -> None:
    driver = SwarmModeDriver(MemoryProvider())
    spec_ = cluster()
    assert driver.container_host(spec_) is driver.container_host(spec_)
    rotated = type(spec_)(**{**spec_.__dict__, "ca_cert_pem": "new"})
    assert driver.container_host(rotated) is not driver.container_host(spec_)
