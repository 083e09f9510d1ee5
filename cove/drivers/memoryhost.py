"""``MemoryContainerHost``: the ``ContainerHost`` protocol in memory, for tests of the
clustering service and the API. It lives beside the protocol, not in
``cove.providers.memory``: providers know nothing of drivers, and this speaks the drivers'
types.

It keeps the real host's semantics: adopt by name when the labels match (starting it if
stopped, unpausing it if paused), refuse a name taken by someone else's container (a
``Permanent`` error naming node and container), an image neither on the node nor in
``host_images`` is refused, removes succeed when already gone, an unknown node is refused,
a stopped node's engine is ``Temporary``.

What a test adds:

- ``set_load(node, …)``: what ``loads()`` reports (default: idle; ``containers`` counts the
  running ones);
- ``faults.fail(method, exc, times, when)``: the next calls of a method raise ``exc``
  (``when`` gets the method's arguments);
- ``kill(node, name, exit_code)``: a container dies; ``lose_node(name)``: a node and its
  containers are gone; ``stop_node(name)``: its engine stops answering (not ready);
- ``add_container(node, name, labels)``: a container cove did not make;
- ``events``: ``(action, node, container)``: create, start, die, pause, unpause, destroy,
  load (an image streamed to a node); a balancer's are ``(lb-create|lb-reload|lb-remove,
  "", name)``;
- ``balancer(name)``: the spec a balancer serves now (its backends), ``None`` when absent;
  ``add_host_container(name)``: a container on the host engine cove did not make.

Balancers keep the real host's semantics too: the spec is checked as the real one renders
it (``cove.drivers.balancerconfig``), the same spec again does nothing, a changed one is a
reload (the same balancer, the same port), a changed listening port recreates it.

Thread-safe: one lock guards the state.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cove.drivers import balancerconfig
from cove.drivers.containerhost import (
    BalancerRecord,
    BalancerSpec,
    ContainerRecord,
    ContainerSpec,
    HostNode,
    NodeLoad,
)
from cove.failures import Permanent, Temporary

HOST_METHODS = (
    "nodes",
    "loads",
    "ensure_container",
    "find_containers",
    "inspect_container",
    "remove_container",
    "restart_container",
    "pause_container",
    "unpause_container",
    "ensure_balancer",
    "remove_balancer",
)


class HostRefused(Permanent):
    pass


class HostUnavailable(Temporary):
    pass


@dataclass
class _Fault:
    method: str
    exc: Exception
    times: int
    when: Callable[..., bool] | None


class HostFaults:
    """Failures armed by a test; each method checks them first. ``methods``: those that may
    be failed (the container host's by default)."""

    def __init__(self, lock: threading.RLock, methods: Iterable[str] = HOST_METHODS) -> None:
        self._lock = lock
        self._methods = frozenset(methods)
        self._armed: list[_Fault] = []

    def fail(
        self,
        method: str,
        exc: Exception,
        times: int = 1,
        when: Callable[..., bool] | None = None,
    ) -> None:
        if method not in self._methods:
            raise ValueError(f"no such method to fail: {method}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._armed.append(_Fault(method, exc, times, when))

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def check(self, method: str, *args: Any) -> None:
        with self._lock:
            for fault in self._armed:
                if fault.method != method or (fault.when and not fault.when(*args)):
                    continue
                fault.times -= 1
                if fault.times == 0:
                    self._armed.remove(fault)
                raise fault.exc


@dataclass
class MemoryNode:
    name: str
    role: str
    nodegroup: str
    address: str
    ready: bool = True
    images: set[str] = field(default_factory=set)
    containers: dict[str, ContainerRecord] = field(default_factory=dict)
    load: NodeLoad = field(default_factory=lambda: NodeLoad(0.0, 2.0, 64 << 20, 1 << 30, 0))
    next_port: int = 32768


@dataclass
class MemoryBalancer:
    spec: BalancerSpec
    port: int  # published on 127.0.0.1
    config: str  # what haproxy would run


class MemoryContainerHost:
    """A cluster's nodes and their containers in memory (see the module)."""

    def __init__(
        self,
        nodes: Iterable[tuple[str, str, str]] = (
            ("node-0", "manager", "default-master"),
            ("node-1", "worker", "default-worker"),
            ("node-2", "worker", "default-worker"),
        ),
        *,
        host_images: Iterable[str] = (),
    ) -> None:
        self._lock = threading.RLock()
        self.faults = HostFaults(self._lock)
        self.events: list[tuple[str, str, str]] = []
        self.host_images: set[str] = set(host_images)
        self._ids = itertools.count(1)
        self._nodes: dict[str, MemoryNode] = {}
        self._balancers: dict[str, MemoryBalancer] = {}
        self._host_containers: set[str] = set()  # names on the host engine, not cove's
        self._next_host_port = 40000
        for index, (name, role, group) in enumerate(nodes):
            self.add_node(name, role, group, address=f"10.0.0.{index + 2}")

    # -- the ContainerHost protocol ------------------------------------------------------------

    def nodes(self) -> list[HostNode]:
        with self._lock:
            self.faults.check("nodes")
            return [
                HostNode(n.name, n.role, n.nodegroup, n.address, n.ready)
                for n in self._nodes.values()
            ]

    def loads(self) -> dict[str, NodeLoad]:
        with self._lock:
            self.faults.check("loads")
            return {
                n.name: replace(n.load, containers=self._running(n))
                for n in self._nodes.values()
                if n.ready
            }

    def ensure_container(self, node: str, spec: ContainerSpec) -> ContainerRecord:
        with self._lock:
            self.faults.check("ensure_container", node, spec)
            host = self._engine(node)
            found = host.containers.get(spec.name)
            if found is not None:
                if any(found.labels.get(k) != v for k, v in spec.labels.items()):
                    raise HostRefused(
                        f"node {node}: container {spec.name} already exists and is not ours"
                    )
                if found.state != "running":
                    self._set(host, spec.name, "running", "start")
                return host.containers[spec.name]
            if spec.image not in host.images:
                if spec.image not in self.host_images:
                    raise HostRefused(
                        f"image {spec.image} is not available on node {node} nor on the host engine"
                    )
                host.images.add(spec.image)
                self.events.append(("load", node, spec.image))
            ports: dict[str, int] = {}
            for port in spec.ports:
                published = port.published_port
                if published is None:
                    published, host.next_port = host.next_port, host.next_port + 1
                ports[f"{port.container_port}/{port.protocol}"] = published
            host.containers[spec.name] = ContainerRecord(
                id=f"c{next(self._ids):011d}",
                name=spec.name,
                node=node,
                state="created",
                health="starting" if spec.healthcheck else None,
                labels=dict(spec.labels),
                address=f"172.17.0.{len(host.containers) + 2}",
                ports=ports,
            )
            self.events.append(("create", node, spec.name))
            self._set(host, spec.name, "running", "start")
            return host.containers[spec.name]

    def find_containers(self, labels: Mapping[str, str]) -> list[ContainerRecord]:
        with self._lock:
            self.faults.check("find_containers", labels)
            return [
                c
                for n in self._nodes.values()
                for c in n.containers.values()
                if all(c.labels.get(k) == v for k, v in labels.items())
            ]

    def inspect_container(self, node: str, name: str) -> ContainerRecord | None:
        with self._lock:
            self.faults.check("inspect_container", node, name)
            if node not in self._nodes:
                return None
            return self._engine(node).containers.get(name)

    def remove_container(self, node: str, name: str, *, grace: float = 10.0) -> None:
        with self._lock:
            self.faults.check("remove_container", node, name)
            if node not in self._nodes:
                return
            host = self._engine(node)
            if host.containers.pop(name, None) is not None:
                self.events.append(("destroy", node, name))

    def restart_container(self, node: str, name: str, *, grace: float = 10.0) -> None:
        with self._lock:
            self.faults.check("restart_container", node, name)
            host = self._engine(node)
            self._existing(host, name)
            self._set(host, name, "running", "start")

    def pause_container(self, node: str, name: str) -> None:
        with self._lock:
            self.faults.check("pause_container", node, name)
            host = self._engine(node)
            if self._existing(host, name).state == "running":
                self._set(host, name, "paused", "pause")

    def unpause_container(self, node: str, name: str) -> None:
        with self._lock:
            self.faults.check("unpause_container", node, name)
            host = self._engine(node)
            if self._existing(host, name).state == "paused":
                self._set(host, name, "running", "unpause")

    def ensure_balancer(self, spec: BalancerSpec) -> BalancerRecord:
        with self._lock:
            self.faults.check("ensure_balancer", spec)
            try:
                config = balancerconfig.render(spec)
            except balancerconfig.BalancerSpecError as exc:
                raise HostRefused(f"balancer {spec.name}: {exc}") from None
            found = self._balancers.get(spec.name)
            if spec.name in self._host_containers or (
                found is not None
                and any(found.spec.labels.get(k) != v for k, v in spec.labels.items())
            ):
                raise HostRefused(f"container {spec.name} already exists and is not this balancer")
            if found is not None and found.spec.port != spec.port:
                del self._balancers[spec.name]
                self.events.append(("lb-remove", "", spec.name))
                found = None
            if found is None:
                port, self._next_host_port = self._next_host_port, self._next_host_port + 1
                found = self._balancers[spec.name] = MemoryBalancer(spec, port, config)
                self.events.append(("lb-create", "", spec.name))
            elif found.config != config:
                found.spec, found.config = spec, config
                self.events.append(("lb-reload", "", spec.name))
            return BalancerRecord(spec.name, "127.0.0.1", found.port)

    def remove_balancer(self, name: str) -> None:
        with self._lock:
            self.faults.check("remove_balancer", name)
            if self._balancers.pop(name, None) is not None:
                self.events.append(("lb-remove", "", name))

    # -- what tests do behind cove's back ------------------------------------------------------

    def add_node(
        self, name: str, role: str = "worker", nodegroup: str = "default-worker", **kw: Any
    ) -> MemoryNode:
        with self._lock:
            kw.setdefault("address", f"10.0.0.{len(self._nodes) + 2}")
            node = self._nodes[name] = MemoryNode(name, role, nodegroup, **kw)
            return node

    def set_load(
        self,
        node: str,
        *,
        cpu: float = 0.0,
        cpus: float = 2.0,
        memory: int = 64 << 20,
        memory_limit: int = 1 << 30,
    ) -> None:
        with self._lock:
            self._nodes[node].load = NodeLoad(cpu, cpus, memory, memory_limit, 0)

    def kill(self, node: str, name: str, exit_code: int = 137) -> None:
        """The container dies (``exited``); a restart policy is not simulated."""
        with self._lock:
            host = self._nodes[node]
            record = self._existing(host, name)
            host.containers[name] = replace(record, state="exited", exit_code=exit_code)
            self.events.append(("die", node, name))

    def lose_node(self, name: str) -> None:
        """The node is gone with everything on it."""
        with self._lock:
            self._nodes.pop(name)
            self.events.append(("lost", name, ""))

    def stop_node(self, name: str) -> None:
        """The node's engine stops answering: not ready, its calls Temporary."""
        with self._lock:
            self._nodes[name].ready = False

    def add_container(
        self, node: str, name: str, labels: Mapping[str, str] | None = None
    ) -> ContainerRecord:
        with self._lock:
            record = ContainerRecord(
                f"x{next(self._ids):011d}", name, node, "running", None, dict(labels or {})
            )
            self._nodes[node].containers[name] = record
            return record

    def add_host_container(self, name: str) -> None:
        with self._lock:
            self._host_containers.add(name)

    def balancer(self, name: str) -> BalancerSpec | None:
        with self._lock:
            found = self._balancers.get(name)
            return found.spec if found else None

    def balancer_config(self, name: str) -> str | None:
        with self._lock:
            found = self._balancers.get(name)
            return found.config if found else None

    def container(self, node: str, name: str) -> ContainerRecord | None:
        with self._lock:
            host = self._nodes.get(node)
            return host.containers.get(name) if host else None

    # -- helpers ---------------------------------------------------------------------------

    def _engine(self, node: str) -> MemoryNode:
        host = self._nodes.get(node)
        if host is None:
            raise HostRefused(f"{node} is not a node of this cluster")
        if not host.ready:
            raise HostUnavailable(f"node {node}: its engine does not answer")
        return host

    def _existing(self, host: MemoryNode, name: str) -> ContainerRecord:
        record = host.containers.get(name)
        if record is None:
            raise HostRefused(f"node {host.name}: there is no container {name}")
        return record

    def _set(self, host: MemoryNode, name: str, state: str, event: str) -> None:
        record = host.containers[name]
        host.containers[name] = replace(record, state=state, exit_code=None)
        self.events.append((event, host.name, name))

    @staticmethod
    def _running(node: MemoryNode) -> int:
        return sum(c.state == "running" for c in node.containers.values())
