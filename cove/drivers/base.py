"""The driver plug-in interface. A driver serves one or more ``DriverKey``s
(server_type, os_distro, coe), as Magnum's ``provides``; the conductor calls it with a frozen
snapshot of the cluster and records what it reports. Drivers never touch the database.

Errors a driver raises decide what the runner does (``cove.failures``):
- ``StepFailed(reason)`` or any other ``Permanent`` (a provider's refusal): the operation
  fails now with ``reason`` as status_reason;
- ``RetryLater(reason, delay)`` or any other ``Temporary``: retried until the deadline;
- anything else: a surprise, logged and retried with backoff until the deadline.

Drivers are given their provider; they never import a concrete one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cove.failures import Permanent, Temporary
from cove.steps import Steps, offline


@dataclass(frozen=True)
class DriverKey:
    server_type: str
    os_distro: str
    coe: str

    def __str__(self) -> str:
        return f"({self.server_type}, {self.os_distro}, {self.coe})"


class StepFailed(Permanent):
    """The operation cannot succeed; ``str(self)`` is a status_reason a user can act on."""


class RetryLater(Temporary):
    def __init__(self, reason: str, delay: float = 1.0) -> None:
        super().__init__(reason, delay)


@dataclass(frozen=True)
class NodeGroupSpec:
    uuid: str
    name: str
    role: str
    node_count: int
    min_node_count: int
    max_node_count: int | None
    flavor_id: str | None
    image_id: str | None
    labels: dict[str, str]
    is_default: bool
    node_labels: dict[str, str] = field(default_factory=dict)
    node_taints: list[dict[str, Any]] = field(default_factory=list)
    # Resolved from the catalog by the runner, so drivers never read the database.
    node_image: str | None = None  # provider image reference of image_id
    cpus: float | None = None  # from the flavor
    memory_mb: int | None = None
    disk_gb: int | None = None
    docker_volume_size: int | None = None


@dataclass(frozen=True)
class ClusterSpec:
    uuid: str
    name: str
    project_id: str
    coe: str
    server_type: str
    os_distro: str
    labels: dict[str, str]
    template: dict[str, Any]
    nodegroups: tuple[NodeGroupSpec, ...]
    ca_cert_pem: str
    ca_key_pem: str = field(repr=False)  # a secret: never in a repr, a log line or an event
    fixed_network: str | None = None
    fixed_subnet: str | None = None
    master_lb_enabled: bool = False
    floating_ip_enabled: bool = True
    api_address: str | None = None


@dataclass(frozen=True)
class OperationInput:
    """What one call to a driver gets: the cluster, the operation's parameters, its named
    steps (done ones are skipped on resume, see ``cove.steps``), a deadline and a way to
    report progress as events."""

    kind: str
    cluster: ClusterSpec
    params: dict[str, Any]
    steps: Steps = field(default_factory=offline)
    deadline: datetime | None = None
    event: Callable[[str], None] = lambda _message: None
    # Called with the nodes an operation is about to remove, once the nodes that replace
    # them are up: what runs on them for other services (container clusters) moves first.
    evacuate: Callable[[Sequence[str]], None] = lambda _nodes: None


@dataclass
class NodeGroupReport:
    """What a node group has now. Observation only: it never overwrites the desired
    ``node_count``."""

    node_addresses: list[str] = field(default_factory=list)


@dataclass
class ClusterReport:
    """What a driver read back from the cluster after an operation."""

    api_address: str | None = None
    coe_version: str | None = None
    container_version: str | None = None
    nodegroups: dict[str, NodeGroupReport] = field(default_factory=dict)


class Driver(Protocol):
    name: str
    provides: tuple[DriverKey, ...]

    def create_cluster(self, op: OperationInput) -> ClusterReport: ...
    def update_cluster(self, op: OperationInput) -> ClusterReport: ...
    def upgrade_cluster(self, op: OperationInput) -> ClusterReport: ...
    def delete_cluster(self, op: OperationInput) -> None: ...
    def rotate_ca(self, op: OperationInput) -> None: ...


@dataclass(frozen=True)
class HealthReport:
    """Magnum's health fields: ``status`` HEALTHY, UNHEALTHY or UNKNOWN; ``reason`` like
    ``{"api": "ok", "<node>.Ready": "True"}``; ``failed_nodes`` the ones healing replaces."""

    status: str
    reason: dict[str, str]
    failed_nodes: tuple[str, ...] = ()


class ChecksTemplates(Protocol):
    """Optional capability: refuse at the API what the driver cannot build, before anything
    is stored. ``check_template`` gets the template's values (its columns) and raises
    ``cove.errors.InvalidField`` naming the field and the allowed values; it returns notes
    for values it accepts but serves differently (sent to the client as warnings)."""

    def check_template(self, template: Mapping[str, Any]) -> list[str]: ...


class Prepares(Protocol):
    """Optional capability: work the first operation would otherwise wait for (a provider's
    one-time probes), done by the conductor at its start, beside its workers."""

    def prepare(self) -> None: ...


class SupportsHealth(Protocol):
    """Optional capability: drivers that can observe their nodes and replace failed ones."""

    def check_health(self, cluster: ClusterSpec) -> HealthReport: ...
    def heal(self, op: OperationInput) -> ClusterReport: ...
