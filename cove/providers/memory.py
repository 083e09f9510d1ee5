"""``MemoryProvider``: the ``Provider`` protocol in memory, for fast tests of the conductor's
runner and of drivers (retry, backoff, deadline, resume after a crash, supersede).

It keeps the Docker provider's documented semantics: containers adopted by name when their
``cove.cluster`` label says they are the cluster's (started if stopped), a name taken by
anything else is a ``ProviderConflict``, deletes succeed when the object is already gone,
``delete_cluster`` removes by label. A stopped container has no address and no published
ports in its record, as on Docker.

What a test adds:

- ``program``: what ``exec`` runs in a running container (default: exit 0, no output); for
  instance ``cove.drivers.swarm_mode.simulation.SwarmSimulator``;
- ``faults.fail(method, exc, times, when)``: the next calls of a method raise ``exc`` before
  doing anything; besides the protocol's methods, ``"container.create"`` and
  ``"container.start"`` fail one engine step (called with the container's name), so a test
  can leave a created but never started container behind;
- ``kill(name)`` and ``remove(name)``: a container dies or disappears behind cove's back;
- ``add_container``, ``add_network``, ``add_volume``: objects cove did not make;
- ``events``: ``(action, container name)`` like ``docker events``: create, start, die,
  destroy, exec.

Thread-safe: one lock guards the state; the program runs outside it (it may block).
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from cove.providers.base import (
    DEFAULT_PUBLISH_ADDRESS,
    LABEL_CLUSTER,
    LABEL_NODE,
    LABEL_NODEGROUP,
    LABEL_ROLE,
    LABEL_SERVICE,
    ExecResult,
    NetworkSpec,
    NodeNotFound,
    NodeNotRunning,
    NodeRecord,
    NodeSpec,
    NodeStats,
    Provider,
    ProviderConflict,
    ProviderError,
    ServiceRecord,
    ServiceSpec,
)

FIRST_HOST_PORT = 49152
# Engine steps that can fail on their own (``faults.fail("container.start", ...)``).
ENGINE_STEPS = ("container.create", "container.start")
PROVIDER_METHODS = (
    "ensure_network",
    "ensure_node",
    "find_nodes",
    "start_node",
    "delete_node",
    "ensure_service",
    "find_services",
    "delete_service",
    "delete_cluster",
    "exec",
    "put_files",
    "cluster_uuids",
    "node_stats",
    "image_archive",
)


@dataclass
class MemoryNetwork:
    name: str
    labels: dict[str, str]
    subnet: ipaddress.IPv4Network
    attached: int = 0  # containers ever attached: the next address

    def next_address(self) -> str:
        self.attached += 1
        return str(self.subnet.network_address + 1 + self.attached)  # .2, .3, ...


@dataclass
class MemoryVolume:
    name: str
    labels: dict[str, str]


@dataclass
class MemoryContainer:
    """A node or service container. ``status`` is Docker's: created, running or exited."""

    name: str
    id: str
    labels: dict[str, str]
    image: str
    network: str
    address: str
    host_ports: dict[int, int] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)  # volume name -> mount path
    status: str = "created"

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def cluster_uuid(self) -> str:
        return self.labels.get(LABEL_CLUSTER, "")

    @property
    def role(self) -> str:
        return self.labels.get(LABEL_ROLE, "")

    def node_record(self) -> NodeRecord:
        return NodeRecord(
            name=self.name,
            id=self.id,
            cluster_uuid=self.cluster_uuid,
            nodegroup_uuid=self.labels.get(LABEL_NODEGROUP, ""),
            role=self.role,
            address=self.address if self.running else None,
            running=self.running,
            image=self.image,
            host_ports=dict(self.host_ports) if self.running else {},
        )

    def service_record(self) -> ServiceRecord:
        return ServiceRecord(
            name=self.name,
            cluster_uuid=self.cluster_uuid,
            kind=self.labels.get(LABEL_SERVICE, ""),
            address=self.address if self.running else None,
            running=self.running,
            host_ports=dict(self.host_ports) if self.running else {},
            labels=dict(self.labels),
        )


@dataclass
class NodeUsage:
    """What ``node_stats`` reports for a node: cumulative CPU nanoseconds since
    ``started_at`` (epoch seconds), memory bytes."""

    cpu_time: int = 0
    started_at: float = 0.0
    cpus: float = 2.0
    memory: int = 64 << 20
    memory_limit: int = 1 << 30


class ExecProgram(Protocol):
    """What ``exec`` runs in a running container. A program may also define
    ``bind(provider)``, called once when the provider is made."""

    def run(
        self,
        provider: MemoryProvider,
        node: MemoryContainer,
        argv: Sequence[str],
        stdin: bytes | None,
    ) -> ExecResult: ...


class Succeed:
    """The default program: every command exits 0 without output."""

    def run(
        self,
        provider: MemoryProvider,
        node: MemoryContainer,
        argv: Sequence[str],
        stdin: bytes | None,
    ) -> ExecResult:
        return ExecResult(exit_code=0, output="")


@dataclass
class _Fault:
    method: str
    exc: Exception
    times: int
    when: Callable[..., bool] | None


class Faults:
    """Failures armed by a test; each method checks them before doing anything."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._armed: list[_Fault] = []

    def fail(
        self,
        method: str,
        exc: Exception,
        times: int = 1,
        when: Callable[..., bool] | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` for which ``when(*args, **kwargs)`` is true
        (every call without ``when``) raise ``exc``. ``when`` gets the method's arguments:
        ``(spec)`` for ``ensure_*``, ``(name, argv, stdin=...)`` for ``exec``, ``(name)``
        for ``start_node``, ``delete_node`` and the engine steps."""
        if method not in PROVIDER_METHODS + ENGINE_STEPS:
            raise ValueError(f"no such method to fail: {method}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._armed.append(_Fault(method, exc, times, when))

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    @property
    def pending(self) -> int:
        """How many failures are still armed."""
        with self._lock:
            return sum(f.times for f in self._armed)

    def check(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Raise the first armed failure of ``method`` that matches the call."""
        with self._lock:
            for fault in self._armed:
                if fault.method != method or (fault.when and not fault.when(*args, **kwargs)):
                    continue
                fault.times -= 1
                if fault.times == 0:
                    self._armed.remove(fault)
                raise fault.exc


def default_network_name(cluster_uuid: str) -> str:
    """``cove-<first 8 characters of the uuid>-net``, as the Docker provider names it."""
    return f"cove-{cluster_uuid.replace('-', '')[:8]}-net"


class MemoryProvider:
    """Containers, networks and volumes in memory, with Docker's semantics (see the module).

    Args:
        program: what ``exec`` runs in a running container (default: ``Succeed``).
    """

    name = "memory"
    reaches_nodes = False  # its nodes' addresses lead nowhere

    def __init__(
        self, program: ExecProgram | None = None, *, publish_address: str = DEFAULT_PUBLISH_ADDRESS
    ) -> None:
        self.publish_address = publish_address  # recorded only: nothing listens in memory
        self._lock = threading.RLock()
        self.faults = Faults(self._lock)
        self.events: list[tuple[str, str]] = []
        self._containers: dict[str, MemoryContainer] = {}
        self._networks: dict[str, MemoryNetwork] = {}
        self._volumes: dict[str, MemoryVolume] = {}
        self._made = 0  # containers ever made: unique ids
        self._networks_made = 0  # the default subnet of the next network: 10.<n>.0.0/24
        self._next_host_port = FIRST_HOST_PORT
        # What node_stats reports: a test sets it per node (``set_usage``).
        self.usage: dict[str, NodeUsage] = {}
        self.images: dict[str, bytes] = {}  # the engine's images: ref -> a save archive
        self.clock: Callable[[], float] = time.time
        self.program: ExecProgram = program or Succeed()
        bind = getattr(self.program, "bind", None)
        if callable(bind):
            bind(self)

    # -- the Provider protocol ---------------------------------------------------------------

    def ensure_network(self, spec: NetworkSpec) -> str:
        """The cluster's network: ``spec.existing`` (checked), the network labelled with the
        cluster, or a new one named ``spec.name`` (default ``cove-<short uuid>-net``).

        Raises:
            ProviderError: ``spec.existing`` does not exist.
            ProviderConflict: the name is taken by a network that is not the cluster's.
        """
        with self._lock:
            self.faults.check("ensure_network", spec)
            if spec.existing:
                if spec.existing not in self._networks:
                    raise ProviderError(f"network {spec.existing} does not exist")
                return spec.existing
            for network in self._networks.values():  # oldest first
                if network.labels.get(LABEL_CLUSTER) == spec.cluster_uuid:
                    return network.name
            name = spec.name or default_network_name(spec.cluster_uuid)
            if name in self._networks:
                raise ProviderConflict(
                    f"network {name} exists and does not belong to cluster {spec.cluster_uuid}"
                )
            self._add_network(name, {LABEL_CLUSTER: spec.cluster_uuid}, spec.subnet)
            return name

    def ensure_node(self, spec: NodeSpec) -> NodeRecord:
        """Adopt the node by name if it is the cluster's (starting it if stopped), or create
        it, write ``spec.files`` before its first start, and start it.

        Raises:
            ProviderConflict: the name is taken by a container that is not the cluster's.
            ProviderError: the network does not exist.
        """
        with self._lock:
            self.faults.check("ensure_node", spec)
            labels = {
                LABEL_CLUSTER: spec.cluster_uuid,
                LABEL_NODEGROUP: spec.nodegroup_uuid,
                LABEL_NODE: spec.name,
                LABEL_ROLE: spec.role,
            }
            container = self._adopt_or_create(
                spec.name, spec.cluster_uuid, labels, spec.image, spec.network, spec.ports
            )
            self._start(container, spec.files)
            return container.node_record()

    def find_nodes(self, cluster_uuid: str) -> list[NodeRecord]:
        """Every node labelled with the cluster, running or not, sorted by name."""
        with self._lock:
            self.faults.check("find_nodes", cluster_uuid)
            return [c.node_record() for c in self._labelled(cluster_uuid, LABEL_NODE)]

    def start_node(self, name: str) -> NodeRecord:
        """Start the node if it is stopped; its record.

        Raises:
            NodeNotFound: there is no such node.
        """
        with self._lock:
            self.faults.check("start_node", name)
            container = self._get(name)
            self._start(container, {})
            return container.node_record()

    def delete_node(self, name: str) -> None:
        """Remove the node; succeeds when it is already gone.

        Raises:
            ProviderConflict: a container of that name exists but cove did not make it.
        """
        with self._lock:
            self.faults.check("delete_node", name)
            container = self._containers.get(name)
            if container is None:
                return
            if LABEL_CLUSTER not in container.labels:
                raise ProviderConflict(f"container {name} was not made by cove; not removing it")
            self._destroy(container)

    def ensure_service(self, spec: ServiceSpec) -> ServiceRecord:
        """Adopt the service container by name if it is the cluster's (starting it if
        stopped), or create it with its labelled volumes, write ``spec.files``, and start it.

        Raises:
            ProviderConflict: the name is taken by a container that is not the cluster's.
            ProviderError: the network does not exist.
        """
        with self._lock:
            self.faults.check("ensure_service", spec)
            labels = {**spec.labels, LABEL_CLUSTER: spec.cluster_uuid, LABEL_SERVICE: spec.kind}
            container = self._adopt_or_create(
                spec.name, spec.cluster_uuid, labels, spec.image, spec.network, spec.ports
            )
            if container.status == "created":
                for volume in spec.volumes:  # an existing volume is reused, as on Docker
                    self._volumes.setdefault(volume, MemoryVolume(volume, dict(labels)))
                container.volumes = dict(spec.volumes)
            self._start(container, spec.files)
            return container.service_record()

    def find_services(self, cluster_uuid: str) -> list[ServiceRecord]:
        """Every service container labelled with the cluster, running or not, by name."""
        with self._lock:
            self.faults.check("find_services", cluster_uuid)
            return [c.service_record() for c in self._labelled(cluster_uuid, LABEL_SERVICE)]

    def delete_service(self, name: str) -> None:
        """Remove the service container; succeeds when it is already gone.

        Raises:
            ProviderConflict: a container of that name exists but is not a cove service's.
        """
        with self._lock:
            self.faults.check("delete_service", name)
            container = self._containers.get(name)
            if container is None:
                return
            if LABEL_CLUSTER not in container.labels or LABEL_SERVICE not in container.labels:
                raise ProviderConflict(f"container {name} is not a cove service; not removing it")
            self._destroy(container)

    def delete_cluster(self, cluster_uuid: str) -> None:
        """Remove every container, then network, then volume labelled with the cluster."""
        with self._lock:
            self.faults.check("delete_cluster", cluster_uuid)
            for container in list(self._containers.values()):
                if container.cluster_uuid == cluster_uuid:
                    self._destroy(container)
            for name, network in list(self._networks.items()):
                if network.labels.get(LABEL_CLUSTER) == cluster_uuid:
                    del self._networks[name]
            for name, volume in list(self._volumes.items()):
                if volume.labels.get(LABEL_CLUSTER) == cluster_uuid:
                    del self._volumes[name]

    def exec(self, name: str, argv: Sequence[str], *, stdin: bytes | None = None) -> ExecResult:
        """What the program answers for ``argv`` in the running container.

        Raises:
            NodeNotFound: there is no such container.
            NodeNotRunning: the container is not running.
        """
        with self._lock:
            self.faults.check("exec", name, argv, stdin=stdin)
            container = self._get(name)
            if not container.running:
                raise NodeNotRunning(f"container {name} is not running")
            self.events.append(("exec", name))
        return self.program.run(self, container, list(argv), stdin)

    def put_files(self, name: str, files: Mapping[str, bytes], *, mode: int = 0o600) -> None:
        """Write files (absolute paths) into the container, running or not.

        Raises:
            NodeNotFound: there is no such container.
            ValueError: a path is not absolute.
        """
        with self._lock:
            self.faults.check("put_files", name, files, mode=mode)
            container = self._get(name)
            for path in files:
                if not path.startswith("/"):
                    raise ValueError(f"not an absolute path: {path}")
            container.files.update(files)

    def cluster_uuids(self) -> set[str]:
        """Every cluster uuid that labels a container, network or volume."""
        with self._lock:
            self.faults.check("cluster_uuids")
            labelled: list[MemoryContainer | MemoryNetwork | MemoryVolume] = [
                *self._containers.values(),
                *self._networks.values(),
                *self._volumes.values(),
            ]
            return {item.labels.get(LABEL_CLUSTER, "") for item in labelled} - {""}

    def node_stats(self, names: Sequence[str]) -> dict[str, NodeStats]:
        """A sample of each running node of ``names`` from ``usage`` (default: idle,
        2 cores, 1 GiB with 64 MiB in use); absent or stopped nodes are left out."""
        with self._lock:
            self.faults.check("node_stats", names)
            found: dict[str, NodeStats] = {}
            for name in names:
                container = self._containers.get(name)
                if container is None or not container.running:
                    continue
                usage = self.usage.get(name, NodeUsage())
                found[name] = NodeStats(
                    name=name,
                    id=container.id,
                    cpu_time=usage.cpu_time,
                    read_at=self.clock(),
                    started_at=usage.started_at,
                    cpus=usage.cpus,
                    memory=usage.memory,
                    memory_limit=usage.memory_limit,
                )
            return found

    def image_archive(self, ref: str) -> Iterator[bytes] | None:
        """``images[ref]`` as a one-chunk stream, or ``None``."""
        with self._lock:
            self.faults.check("image_archive", ref)
            archive = self.images.get(ref)
        return None if archive is None else iter([archive])

    # -- what tests do behind cove's back ------------------------------------------------------

    def kill(self, name: str) -> None:
        """The container stops as if its process died (``die``).

        Raises:
            NodeNotFound: there is no such container.
        """
        with self._lock:
            container = self._get(name)
            if container.running:
                container.status = "exited"
                self.events.append(("die", name))

    def remove(self, name: str) -> None:
        """The container disappears, whatever its labels (``die`` if running, ``destroy``).

        Raises:
            NodeNotFound: there is no such container.
        """
        with self._lock:
            self._destroy(self._get(name))

    def add_container(
        self,
        name: str,
        *,
        labels: Mapping[str, str] | None = None,
        network: str = "bridge",
        running: bool = True,
        image: str = "busybox",
    ) -> MemoryContainer:
        """A container made outside cove (no labels unless given), on ``network`` (made
        unlabelled if it does not exist)."""
        with self._lock:
            if name in self._containers:
                raise ProviderConflict(f"container {name} already exists")
            if network not in self._networks:
                self._add_network(network, {}, None)
            container = self._create(name, dict(labels or {}), image, network, {})
            if running:
                self._start(container, {})
            return container

    def add_network(
        self, name: str, *, labels: Mapping[str, str] | None = None, subnet: str | None = None
    ) -> MemoryNetwork:
        """A network made outside cove (a template's ``fixed_network``, or someone's)."""
        with self._lock:
            if name in self._networks:
                raise ProviderConflict(f"network {name} already exists")
            return self._add_network(name, dict(labels or {}), subnet)

    def add_volume(self, name: str, *, labels: Mapping[str, str] | None = None) -> MemoryVolume:
        with self._lock:
            volume = MemoryVolume(name, dict(labels or {}))
            self._volumes[name] = volume
            return volume

    # -- reading the state ---------------------------------------------------------------------

    def container(self, name: str) -> MemoryContainer | None:
        """The live container called ``name`` (mutable; read it, do not change it)."""
        with self._lock:
            return self._containers.get(name)

    def container_by_id(self, container_id: str) -> MemoryContainer | None:
        with self._lock:
            return next((c for c in self._containers.values() if c.id == container_id), None)

    def containers(self) -> list[MemoryContainer]:
        """Every container, by name."""
        with self._lock:
            return sorted(self._containers.values(), key=lambda c: c.name)

    def networks(self) -> list[MemoryNetwork]:
        with self._lock:
            return sorted(self._networks.values(), key=lambda n: n.name)

    def volumes(self) -> list[MemoryVolume]:
        with self._lock:
            return sorted(self._volumes.values(), key=lambda v: v.name)

    def event_count(self, action: str, name: str | None = None) -> int:
        """How many ``action`` events (for container ``name``, or any) were recorded."""
        with self._lock:
            return sum(1 for a, n in self.events if a == action and name in (None, n))

    # -- engine steps (under the lock) ---------------------------------------------------------

    def _get(self, name: str) -> MemoryContainer:
        container = self._containers.get(name)
        if container is None:
            raise NodeNotFound(f"no such container: {name}")
        return container

    def _labelled(self, cluster_uuid: str, kind: str) -> Iterator[MemoryContainer]:
        for name in sorted(self._containers):
            container = self._containers[name]
            if container.cluster_uuid == cluster_uuid and kind in container.labels:
                yield container

    def _adopt_or_create(
        self,
        name: str,
        cluster_uuid: str,
        labels: dict[str, str],
        image: str,
        network: str,
        ports: Mapping[int, int],
    ) -> MemoryContainer:
        container = self._containers.get(name)
        if container is None:
            return self._create(name, labels, image, network, ports)
        owner = container.cluster_uuid
        if owner != cluster_uuid:
            whose = f"cluster {owner}" if owner else "something other than cove"
            raise ProviderConflict(
                f"container {name} already exists and belongs to {whose}, "
                f"not to cluster {cluster_uuid}"
            )
        return container

    def _create(
        self,
        name: str,
        labels: dict[str, str],
        image: str,
        network: str,
        ports: Mapping[int, int],
    ) -> MemoryContainer:
        self.faults.check("container.create", name)
        if network not in self._networks:
            raise ProviderError(f"network {network} not found")
        self._made += 1
        container = MemoryContainer(
            name=name,
            id=hashlib.sha256(f"{name}#{self._made}".encode()).hexdigest(),
            labels=labels,
            image=image,
            network=network,
            address=self._networks[network].next_address(),
            host_ports={port: host or self._host_port() for port, host in ports.items()},
        )
        self._containers[name] = container
        self.events.append(("create", name))
        return container

    def _start(self, container: MemoryContainer, files: Mapping[str, bytes]) -> None:
        """Start a stopped container; one never started gets ``files`` first."""
        if container.running:
            return
        self.faults.check("container.start", container.name)
        if container.status == "created":
            container.files.update(files)
        container.status = "running"
        self.events.append(("start", container.name))

    def _destroy(self, container: MemoryContainer) -> None:
        if container.running:
            self.events.append(("die", container.name))
        container.status = "exited"
        del self._containers[container.name]
        self.events.append(("destroy", container.name))

    def _host_port(self) -> int:
        port = self._next_host_port
        self._next_host_port += 1
        return port

    def _add_network(self, name: str, labels: dict[str, str], subnet: str | None) -> MemoryNetwork:
        self._networks_made += 1
        if subnet is None:
            subnet = f"10.{self._networks_made % 256}.0.0/24"
        network = MemoryNetwork(name, labels, ipaddress.IPv4Network(subnet))
        self._networks[name] = network
        return network


if TYPE_CHECKING:  # mypy checks that the protocol is implemented in full
    _check: Provider = MemoryProvider()
