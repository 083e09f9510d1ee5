"""Applications on a cluster: the capability a driver offers so deployments (services,
one-time tasks and the files they read) run on a cove cluster's orchestrator. On swarm
mode, a service is a swarm service, a task a replicated job (run to completion once), a
file a swarm config or secret; another COE would use its own objects behind the same
interface.

Everything made for a deployment carries ``DEPLOYMENT_LABEL`` (the deployment's uuid) and
``ELEMENT_LABEL`` (the service or task name), so a resumed operation adopts what it made,
an update finds what to change and an undeploy removes exactly that deployment's objects.
Names are the caller's and unique in the cluster (``<deployment prefix>-<element>``).

Errors are ``cove.failures``: an orchestrator that does not answer is Temporary; a refusal
(an image nobody has, a name taken by an object that is not ours) Permanent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from cove.drivers.base import ClusterSpec

DEPLOYMENT_LABEL = "cove.deployment"  # the deployment's uuid
ELEMENT_LABEL = "cove.deployment.element"  # the service or task name in the definition
SPEC_LABEL = "cove.deployment.spec"  # hash of the spec an object was made from

Mode = Literal["replicated", "global", "job"]


@dataclass(frozen=True)
class PortSpec:
    target: int
    published: int | None = None  # None: none published
    protocol: Literal["tcp", "udp"] = "tcp"


@dataclass(frozen=True)
class MountSpec:
    target: str
    source: str  # a volume name (made per node) or, with ``bind``, a host path
    bind: bool = False
    read_only: bool = False


@dataclass(frozen=True)
class FileSpec:
    """A file delivered into every container of a service or task (swarm config/secret)."""

    name: str  # the object's name in the cluster, unique (content-addressed by the caller)
    target: str  # absolute path in the container
    data: bytes = field(repr=False)  # never logged: it may be a secret
    secret: bool = False
    uid: str = "0"
    gid: str = "0"
    mode: int = 0o444


@dataclass(frozen=True)
class HealthSpec:
    test: tuple[str, ...]  # ("CMD-SHELL", "…") or ("CMD", prog, args…)
    interval_s: float = 10.0
    timeout_s: float = 5.0
    retries: int = 3
    start_period_s: float = 0.0


@dataclass(frozen=True)
class ServiceSpec:
    """A service or task as the orchestrator runs it."""

    name: str
    image: str
    labels: Mapping[str, str]  # DEPLOYMENT_LABEL, ELEMENT_LABEL, SPEC_LABEL at least
    mode: Mode = "replicated"
    replicas: int = 1  # replicated: instances; job: completions (always 1 for a task)
    command: tuple[str, ...] = ()  # the image's command when empty
    env: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[PortSpec, ...] = ()
    mounts: tuple[MountSpec, ...] = ()
    files: tuple[FileSpec, ...] = ()
    health: HealthSpec | None = None
    cpus: float | None = None
    memory_mb: int | None = None
    constraints: tuple[str, ...] = ()  # "node.labels.zone==a", "node.hostname!=x"
    preferences: tuple[str, ...] = ()  # "spread=node.labels.zone"
    max_per_node: int | None = None
    networks: tuple[str, ...] = ()  # attached by name
    aliases: tuple[str, ...] = ()  # names its instances answer to on those networks
    restart_attempts: int | None = None  # jobs: retries after a failure; None: unbounded
    stop_grace_s: float = 10.0


@dataclass(frozen=True)
class Instance:
    """One container of a service or task (a swarm task)."""

    node: str  # the cove node it runs on ("" before it is scheduled)
    state: str  # new|pending|assigned|preparing|starting|running|complete|failed|shutdown|rejected
    desired: str  # running|shutdown|complete
    message: str  # the orchestrator's, e.g. "started" or the error
    exit_code: int | None = None
    container: str | None = None  # the container id once it exists
    healthy: bool | None = None  # None: no health check, or not known yet
    spec: str | None = None  # the SPEC_LABEL its container was made from (None: unknown)


@dataclass(frozen=True)
class ServiceState:
    name: str
    labels: Mapping[str, str]
    mode: Mode
    wanted: int  # replicas asked (global: one per eligible node)
    instances: tuple[Instance, ...]
    # The orchestrator's rolling-update state unless the last update completed: updating,
    # paused, rollback_started, rollback_paused or rollback_completed (the update failed and
    # the previous spec, with its SPEC_LABEL, runs again).
    updating: str | None = None

    @property
    def running(self) -> int:
        return sum(1 for i in self.instances if i.state == "running" and i.desired == "running")

    @property
    def completed(self) -> int:
        return sum(1 for i in self.instances if i.state == "complete")


class AppHost(Protocol):
    """A cluster's orchestrator, as deployments see it. Every method is idempotent."""

    def ensure_network(self, name: str, labels: Mapping[str, str]) -> None:
        """An attachable overlay network of that name (adopted when ours, else refused)."""
        ...

    def ensure_images(self, images: Sequence[str]) -> None:
        """Make each image available to every node (nothing is pulled from elsewhere than
        cove's own engine or the cluster's registry); refused naming an image nobody has."""
        ...

    def ensure_service(self, spec: ServiceSpec) -> None:
        """Create the service, or update it to ``spec`` when its SPEC_LABEL differs (a
        rolling update, one instance at a time, rolled back when the new one fails); a
        job whose spec differs (or a service changing mode) is removed and made again. The
        same spec again, after the orchestrator rolled it back, is refused (Permanent):
        trying it again would fail the same way. Networks named must exist; files are made
        once by name (a changed content comes under a new name)."""
        ...

    def services(self, labels: Mapping[str, str]) -> list[ServiceState]:
        """Services and jobs carrying all ``labels``, with their instances."""
        ...

    def logs(self, name: str, tail: int = 20) -> list[str]:
        """The last lines a service's or task's containers wrote (secrets never appear
        in them unless the program prints them)."""
        ...

    def remove(self, labels: Mapping[str, str]) -> None:
        """Remove services, jobs, configs, secrets and networks carrying all ``labels``
        (volumes are left: data outlives an undeploy unless asked). At least one label is
        needed; a config or secret another service still uses is left. Returns once the
        networks are gone (so a deployment made again at once does not find them)."""
        ...


class HostsApps(Protocol):
    """Optional driver capability: the orchestrator of a cluster, for deployments."""

    def app_host(self, cluster: ClusterSpec) -> AppHost: ...
