"""The provider interface: where nodes come from. Drivers see providers only through this
protocol; only ``cove.providers.docker`` imports the Docker SDK.

Every object a provider makes carries ownership labels (``cove.cluster``, ``cove.nodegroup``,
``cove.node``, ``cove.role``) passed at creation, so a retried step finds what an earlier
attempt made, and delete finds everything by label instead of trusting recorded ids.

Errors (the runner's retry decision depends on them):
- ``ProviderUnavailable``: temporary (engine unreachable, timeouts); retried;
- ``NodeNotFound``: the node does not exist; ``delete_*`` methods never raise it;
- ``ProviderConflict``: a name is taken by an object that is not ours; permanent;
- ``ProviderError``: anything else the provider refuses; permanent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

LABEL_CLUSTER = "cove.cluster"
LABEL_NODEGROUP = "cove.nodegroup"
LABEL_NODE = "cove.node"
LABEL_ROLE = "cove.role"


class ProviderError(Exception):
    """Permanent: the provider refused; the message says why."""


class ProviderUnavailable(ProviderError):
    """Temporary: the provider could not be reached or timed out."""


class NodeNotFound(ProviderError):
    pass


class ProviderConflict(ProviderError):
    pass


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
class ExecResult:
    exit_code: int
    output: str


class Provider(Protocol):
    name: str

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

    def delete_cluster(self, cluster_uuid: str) -> None:
        """Remove every container, network and volume labelled with the cluster."""
        ...

    def exec(self, name: str, argv: Sequence[str], *, stdin: bytes | None = None) -> ExecResult:
        """Run a command inside the node. Raises NodeNotFound if it does not exist."""
        ...

    def put_files(self, name: str, files: Mapping[str, bytes], *, mode: int = 0o600) -> None:
        """Write files (absolute paths) into the node, creating directories."""
        ...
