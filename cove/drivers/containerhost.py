"""Containers on a cluster's nodes: the capability a driver offers so the clustering
service can place containers (Senlin's ``container.dockerinc.docker`` profile) on the nodes
of a cove cluster. A swarm-mode cluster's nodes run Docker engines, reached over the
cluster's TLS with cove's own client certificate; another COE would place pods or tasks
behind the same interface.

Every container cove makes carries ownership labels (``cove.clustering.cluster``,
``cove.clustering.node``) so a resumed action adopts what it made and the sweep finds what
it must remove. Errors are ``cove.failures``: an engine that does not answer is Temporary,
a refusal (bad image, name taken by a container that is not ours) Permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cove.drivers.base import ClusterSpec

OWNER_LABEL = "cove.clustering.cluster"  # the container cluster's uuid ("" for an orphan)
NODE_LABEL = "cove.clustering.node"  # the clustering node's uuid


@dataclass(frozen=True)
class HostNode:
    """A node of the host cluster, as placement sees it."""

    name: str
    role: str  # "manager" or "worker"
    nodegroup: str
    address: str  # where its engine and its published ports answer
    ready: bool


@dataclass(frozen=True)
class NodeLoad:
    """What a host node uses now: ``cpu`` in cores busy (over the last interval),
    ``cpus`` the cores it may use, ``memory``/``memory_limit`` in bytes, ``containers``
    the containers running on it."""

    cpu: float
    cpus: float
    memory: int
    memory_limit: int
    containers: int

    @property
    def score(self) -> float:
        """The fraction of the node in use: CPU and memory weighted alike."""
        cpu = self.cpu / self.cpus if self.cpus else 0.0
        memory = self.memory / self.memory_limit if self.memory_limit else 0.0
        return (cpu + memory) / 2


@dataclass(frozen=True)
class PortSpec:
    container_port: int
    published_port: int | None = None  # None: the engine picks one
    protocol: str = "tcp"


@dataclass(frozen=True)
class VolumeSpec:
    source: str  # a volume name (made if absent) or an absolute path on the node
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class HealthCheckSpec:
    test: tuple[str, ...]  # ("CMD", …) or ("CMD-SHELL", "…")
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    labels: Mapping[str, str]
    command: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[PortSpec, ...] = ()
    volumes: tuple[VolumeSpec, ...] = ()
    cpus: float | None = None
    memory_mb: int | None = None
    restart_policy: str = "no"  # no | on-failure | always | unless-stopped
    healthcheck: HealthCheckSpec | None = None


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    name: str
    node: str  # the host node it runs on
    state: str  # created | running | paused | restarting | exited | dead
    health: str | None  # healthy | unhealthy | starting | None without a health check
    labels: Mapping[str, str]
    address: str | None = None  # its address on the node's network
    ports: Mapping[str, int] = field(default_factory=dict)  # "80/tcp" -> published port
    exit_code: int | None = None


@dataclass(frozen=True)
class Backend:
    """A member behind a balancer: its host node's address and the port its container's
    balanced port is published on there."""

    name: str  # the clustering node's uuid
    address: str
    port: int


@dataclass(frozen=True)
class BalancerCheck:
    """Senlin's health_monitor: PING and TCP connect; HTTP(S) asks ``url_path`` and wants
    one of ``expected_codes`` ("200", "200,202", "200-204")."""

    type: str = "TCP"
    delay: int = 10
    timeout: int = 5
    max_retries: int = 3
    url_path: str = "/"
    expected_codes: str = "200"


@dataclass(frozen=True)
class BalancerSpec:
    """A load balancer in front of a container cluster (the loadbalance policy): it
    listens on ``port`` (Senlin's vip protocol_port) and spreads over ``backends``."""

    name: str
    labels: Mapping[str, str]
    port: int
    protocol: str = "HTTP"  # HTTP balances requests; HTTPS and TCP pass connections through
    method: str = "ROUND_ROBIN"  # | LEAST_CONNECTIONS | SOURCE_IP
    backends: tuple[Backend, ...] = ()
    check: BalancerCheck | None = None
    connection_limit: int = -1


@dataclass(frozen=True)
class BalancerRecord:
    name: str
    address: str  # where clients reach it
    port: int


class ContainerHost(Protocol):
    """The engines of one cluster's nodes."""

    def nodes(self) -> list[HostNode]:
        """Every node the cluster has; ``ready`` when its engine answers now."""
        ...

    def loads(self) -> dict[str, NodeLoad]:
        """Each ready node's load now (keyed by node name; a node whose engine does not
        answer is left out); one call for all nodes. ``cpu`` is measured since the previous
        call on this host object, so keep the object (drivers hand out the same one)."""
        ...

    def ensure_container(self, node: str, spec: ContainerSpec) -> ContainerRecord:
        """Create and start ``spec`` on ``node``; adopt (and start) a container of that
        name whose labels are ``spec.labels``; refuse one that is someone else's. The image
        is made available on the node if it is not there."""
        ...

    def find_containers(self, labels: Mapping[str, str]) -> list[ContainerRecord]:
        """Containers on any node carrying all ``labels`` (every container for none)."""
        ...

    def inspect_container(self, node: str, name: str) -> ContainerRecord | None:
        """``None`` when the container, or its node, is gone."""
        ...

    def remove_container(self, node: str, name: str, *, grace: float = 10.0) -> None:
        """Stop (SIGTERM, then SIGKILL after ``grace`` s) and remove; absent (or its node
        gone) is done. A container without the ownership label is refused."""
        ...

    def restart_container(self, node: str, name: str, *, grace: float = 10.0) -> None: ...

    def pause_container(self, node: str, name: str) -> None:
        """Pausing a paused container (or unpausing a running one) is done; an absent
        container is a Permanent error."""
        ...

    def unpause_container(self, node: str, name: str) -> None: ...

    def ensure_balancer(self, spec: BalancerSpec) -> BalancerRecord:
        """Make the balancer, or give the existing one ``spec`` (its backends change as
        members come and go) without dropping the connections it carries."""
        ...

    def remove_balancer(self, name: str) -> None:
        """Absent is done."""
        ...


class HostsContainers(Protocol):
    """Optional driver capability: the engines of a cluster's nodes."""

    def container_host(self, cluster: ClusterSpec) -> ContainerHost: ...
