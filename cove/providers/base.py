"""The provider interface: where nodes come from. Drivers see providers only through this
protocol; only ``cove.providers.docker`` imports the Docker SDK.

Every object a provider makes carries ownership labels (``cove.cluster``, ``cove.nodegroup``,
``cove.node``, ``cove.role``; ``cove.service`` for a cluster's service containers) passed at
creation, so a retried step finds what an earlier
attempt made, and delete finds everything by label instead of trusting recorded ids.

Errors (the runner's retry decision depends on them):
- ``ProviderUnavailable``: temporary (engine unreachable, timeouts); retried;
- ``NodeNotFound``: the node does not exist; ``delete_*`` methods never raise it;
- ``ProviderConflict``: a name is taken by an object that is not ours; permanent;
- ``ProviderError``: anything else the provider refuses; permanent.
(``cove.failures`` says how the runner treats permanent and temporary errors.)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cove.failures import Permanent, Temporary

LABEL_CLUSTER = "cove.cluster"
LABEL_NODEGROUP = "cove.nodegroup"
LABEL_NODE = "cove.node"
LABEL_ROLE = "cove.role"
LABEL_SERVICE = "cove.service"


class ProviderError(Permanent):
    """Permanent: the provider refused; the message says why."""


class ProviderUnavailable(ProviderError, Temporary):
    """Temporary: the provider could not be reached or timed out."""

    def __init__(self, reason: str) -> None:
        Temporary.__init__(self, reason)


class NodeNotFound(ProviderError, Temporary):
    """The node does not exist (it may have been removed under a running operation, whose
    next attempt observes the change): temporary."""

    def __init__(self, reason: str) -> None:
        Temporary.__init__(self, reason)


class NodeNotRunning(ProviderError, Temporary):
    """The node exists but is not running (it died, or is still starting): temporary."""

    def __init__(self, reason: str) -> None:
        Temporary.__init__(self, reason)


class ProviderConflict(ProviderError):
    pass


# Where providers publish node and service ports unless configured (``publish_address``):
# loopback, so an engine API with tls_disabled is not open to the network.
DEFAULT_PUBLISH_ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class NetworkSpec:
    cluster_uuid: str
    name: str
    subnet: str | None = None  # CIDR; None lets the provider choose
    existing: str | None = None  # use this network (template fixed_network) instead of making one


@dataclass(frozen=True)
class NodeSpec:
    """A node to make. ``name`` is deterministic (derived from cluster and node ids), so
    asking twice finds the first one."""

    name: str
    hostname: str
    cluster_uuid: str
    nodegroup_uuid: str
    role: str  # "master" or "worker"
    image: str  # provider image reference (the node image)
    network: str  # network name from ensure_network
    cpus: float | None = None
    memory_mb: int | None = None
    storage_gb: int | None = None  # size of the engine's storage in the node
    dns: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # e.g. HTTP_PROXY
    ports: Mapping[int, int] = field(default_factory=dict)  # node port -> host port (0: any)
    # Written into the node before it starts (TLS material, the engine's daemon.json), so
    # the node's init never waits for configuration.
    files: Mapping[str, bytes] = field(default_factory=dict)
    # More names for the node on the cluster network (one shared by all managers lets a load
    # balancer find them through the network's DNS).
    aliases: Sequence[str] = ()


@dataclass(frozen=True)
class ServiceSpec:
    """A cluster's service container: one program (a load balancer, a registry) from the node
    image, on the cluster network, without a node's privileges. ``name`` is deterministic."""

    name: str
    cluster_uuid: str
    kind: str  # "lb", "registry": the value of its cove.service label
    image: str
    network: str
    command: Sequence[str]  # replaces the image's entrypoint
    aliases: Sequence[str] = ()  # its names on the cluster network
    ports: Mapping[int, int] = field(default_factory=dict)  # container port -> host port (0: any)
    # Where published ports listen; "" for the provider's publish address (loopback unless
    # configured), the one rule for every node and service.
    host_ip: str = ""
    files: Mapping[str, bytes] = field(default_factory=dict)  # written before the first start
    volumes: Mapping[str, str] = field(default_factory=dict)  # volume name -> mount path
    # More labels (a container cluster's balancer names its owner); the ownership labels
    # cove.cluster and cove.service are always set and win.
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeRecord:
    name: str
    id: str
    cluster_uuid: str
    nodegroup_uuid: str
    role: str
    address: str | None  # on the cluster network
    running: bool
    image: str
    host_ports: Mapping[int, int] = field(default_factory=dict)  # node port -> host port


@dataclass(frozen=True)
class ServiceRecord:
    name: str
    cluster_uuid: str
    kind: str
    address: str | None  # on the cluster network
    running: bool
    host_ports: Mapping[int, int] = field(default_factory=dict)  # container port -> host port
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str


@dataclass(frozen=True)
class NodeStats:
    """One sample of what a node container uses, as its host engine sees it (everything
    running inside the node is in the node container's cgroup).

    ``cpu_time`` is the cumulative CPU time in nanoseconds since the container started
    (``read_at - started_at`` seconds ago); ``cpus`` the cores it may use (its CPU limit,
    else the host's); ``memory`` in bytes less reclaimable file cache; ``memory_limit`` its
    memory limit, else the host's memory."""

    name: str
    id: str
    cpu_time: int
    read_at: float  # seconds since the epoch
    started_at: float  # seconds since the epoch
    cpus: float
    memory: int
    memory_limit: int


class Provider(Protocol):
    name: str
    # The host address node and service ports are published on.
    publish_address: str
    # Whether cove reaches the nodes at their addresses on the cluster network (their engines'
    # APIs); when not, it talks to them only through ``exec``.
    reaches_nodes: bool

    def ensure_network(self, spec: NetworkSpec) -> str:
        """Find the cluster's network by label or make it; return its name."""
        ...

    def ensure_node(self, spec: NodeSpec) -> NodeRecord:
        """Find the node by name (adopting it if its labels say it is ours) or make and start
        it. Raises ProviderConflict if the name is taken by something else."""
        ...

    def find_nodes(self, cluster_uuid: str) -> list[NodeRecord]:
        """Every node labelled with the cluster, running or not."""
        ...

    def start_node(self, name: str) -> NodeRecord: ...

    def delete_node(self, name: str) -> None:
        """Remove the node and its storage; succeeds when it is already gone."""
        ...

    def ensure_service(self, spec: ServiceSpec) -> ServiceRecord:
        """Find the service container by name (starting it if stopped) or make and start it,
        with its volumes. Raises ProviderConflict if the name is taken by something else."""
        ...

    def find_services(self, cluster_uuid: str) -> list[ServiceRecord]:
        """Every service container labelled with the cluster, running or not."""
        ...

    def delete_service(self, name: str) -> None:
        """Remove the service container and its anonymous volumes; succeeds when it is
        already gone. Raises ProviderConflict for a container that is not a service's."""
        ...

    def delete_cluster(self, cluster_uuid: str) -> None:
        """Remove every container, network and volume labelled with the cluster."""
        ...

    def exec(self, name: str, argv: Sequence[str], *, stdin: bytes | None = None) -> ExecResult:
        """Run a command inside the node. Raises NodeNotFound if it does not exist."""
        ...

    def put_files(self, name: str, files: Mapping[str, bytes], *, mode: int = 0o600) -> None:
        """Write files (absolute paths) into the node, creating directories."""
        ...

    def cluster_uuids(self) -> set[str]:
        """Every cluster uuid that labels a container, network or volume (``cove.cluster``):
        what an orphan sweep compares with the clusters the database knows."""
        ...

    def node_stats(self, names: Sequence[str]) -> dict[str, NodeStats]:
        """One sample per running node of ``names`` (nodes absent or stopped are left
        out), the nodes asked in parallel."""
        ...

    def image_archive(self, ref: str) -> Iterator[bytes] | None:
        """The image ``ref`` of the provider's own engine as a ``docker save`` tar stream,
        or ``None`` when that engine does not have it (nothing is pulled)."""
        ...
