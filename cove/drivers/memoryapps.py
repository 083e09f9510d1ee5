"""``MemoryAppHost``: the ``AppHost`` protocol in memory, for fast tests of deployments in
the API and the conductor (as ``memoryhost`` is for containers).

It keeps the swarm-mode host's semantics: objects are adopted by name when their labels say
they are this deployment's (a service: and this element's), refused otherwise (``Permanent``,
naming the object); a service is updated only when its SPEC_LABEL differs, a job whose spec
differs (or a service changing mode) is removed and made again; a service naming a network
that does not exist is refused; an image neither on a node nor in ``host_images`` is refused
by ``ensure_images``, and an instance placed on a node without its image is ``rejected``
("No such image"); a removal needs a label and leaves configs or secrets another service
still uses; a rolled-back update tried again with the same spec is refused.

Instances are made at once: a replicated service's ``replicas`` run round-robin over the
eligible nodes (ready, matching ``node.hostname``/``node.role`` constraints; other
constraints are not simulated), at most ``max_per_node`` per node (the rest ``pending``); a
global service runs one per eligible node; a job runs one instance that ends ``complete``, or
``failed`` with the exit code ``set_job_outcome`` gave, tried ``1 + restart_attempts`` times
(unbounded: three failures seen and a fourth attempt ``pending``). A health check makes
running instances ``healthy``. A running instance of a gated service (``COVE_ELEMENT``
in its environment) logs its gate's ``starting service`` line, as an app image does once
its requirements hold (waiting at a gate is not simulated). An update replaces every
instance (old ones ``shutdown``).
Every instance carries the SPEC_LABEL of the spec it was made from, as swarm tasks do.

What a test adds:

- ``faults.fail(method, exc, times, when)``: the next calls of a method raise ``exc``
  (``memoryhost.HostFaults``);
- ``set_job_outcome(name, exit_code)``: how the next run of job ``name`` ends;
- ``fail_instance(name, exit_code)``: a running instance of a service dies and the swarm
  starts a replacement on the same node;
- ``fail_next_update(name)``: the next update of that service is rolled back (its spec and
  labels stay the old ones, ``updating`` is ``rollback_completed``);
- ``hold(name)``/``release(name)``: updates of that service roll out (new instances
  ``starting``, ``updating`` is ``updating``) until released;
- ``add_network``/``add_file``/``add_service``: objects cove did not make;
- ``stop_node(name)``: the node is down (no instances placed there, no images loaded);
  ``lose_node(name)``: it is gone, what ran there ``orphaned``;
- ``add_log(name, *lines)``: what the service's containers printed;
- ``events``: ``(action, kind, name)``: create, update, rollback, remove, fail for kinds
  service, job, config, secret, network; ``("load", node, image)`` an image streamed.

Thread-safe: one lock guards the state.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from cove.drivers.apphost import (
    DEPLOYMENT_LABEL,
    ELEMENT_LABEL,
    SPEC_LABEL,
    FileSpec,
    Instance,
    ServiceSpec,
    ServiceState,
)
from cove.drivers.memoryhost import HostFaults, HostRefused, HostUnavailable

APP_METHODS = ("ensure_network", "ensure_images", "ensure_service", "services", "logs", "remove")
UNBOUNDED_FAILURES = 3  # failures shown for a job retried without bound


@dataclass
class AppNode:
    name: str
    role: str  # "manager" or "worker"
    ready: bool = True
    images: set[str] = field(default_factory=set)


@dataclass
class MemoryService:
    spec: ServiceSpec
    instances: list[Instance] = field(default_factory=list)
    updating: str | None = None
    rolled_back: str | None = None  # the SPEC_LABEL of the update that was rolled back


@dataclass
class MemoryFile:
    spec: FileSpec
    labels: dict[str, str]


class MemoryAppHost:
    """A cluster's orchestrator in memory (see the module)."""

    def __init__(
        self,
        nodes: Iterable[tuple[str, str]] = (
            ("node-0", "manager"),
            ("node-1", "worker"),
            ("node-2", "worker"),
        ),
        *,
        host_images: Iterable[str] = (),
    ) -> None:
        self._lock = threading.RLock()
        self.faults = HostFaults(self._lock, APP_METHODS)
        self.events: list[tuple[str, str, str]] = []
        self.host_images: set[str] = set(host_images)
        self._ids = itertools.count(1)
        self._nodes: dict[str, AppNode] = {}
        self._services: dict[str, MemoryService] = {}
        self._files: dict[tuple[str, str], MemoryFile] = {}  # (config|secret, name)
        self._networks: dict[str, dict[str, str]] = {}
        self._logs: dict[str, list[str]] = {}
        self._job_outcomes: dict[str, int] = {}
        self._failing_updates: set[str] = set()
        self._held: set[str] = set()
        for name, role in nodes:
            self.add_node(name, role)

    # -- the AppHost protocol ------------------------------------------------------------------

    def ensure_network(self, name: str, labels: Mapping[str, str]) -> None:
        with self._lock:
            self.faults.check("ensure_network", name, labels)
            found = self._networks.get(name)
            if found is None:
                self._networks[name] = dict(labels)
                self.events.append(("create", "network", name))
            elif any(found.get(k) != v for k, v in labels.items()):
                raise HostRefused(f"network {name} already exists and is not this deployment's")

    def ensure_images(self, images: Sequence[str]) -> None:
        with self._lock:
            self.faults.check("ensure_images", images)
            ready = [n for n in self._nodes.values() if n.ready]
            if not ready:
                raise HostUnavailable("no node is running")
            for node in ready:
                for image in dict.fromkeys(images):
                    if image in node.images:
                        continue
                    if image not in self.host_images:
                        raise HostRefused(
                            f"image {image} is not available on node {node.name} "
                            "nor on the host engine"
                        )
                    node.images.add(image)
                    self.events.append(("load", node.name, image))

    def ensure_service(self, spec: ServiceSpec) -> None:
        with self._lock:
            self.faults.check("ensure_service", spec)
            current = self._services.get(spec.name)
            if current is not None:
                labels = current.spec.labels
                if any(
                    k not in spec.labels or labels.get(k) != spec.labels[k]
                    for k in (DEPLOYMENT_LABEL, ELEMENT_LABEL)
                ):
                    raise HostRefused(
                        f"service {spec.name} already exists and is not this deployment's"
                    )
                if labels.get(SPEC_LABEL) == spec.labels.get(SPEC_LABEL):
                    return
                if current.rolled_back is not None and current.rolled_back == spec.labels.get(
                    SPEC_LABEL
                ):
                    raise HostRefused(
                        f"service {spec.name}: the update to this spec was rolled back "
                        "(a new instance failed)"
                    )
            for network in spec.networks:
                if network not in self._networks:
                    raise HostRefused(f"service {spec.name}: network {network} not found")
            for file in spec.files:
                self._ensure_file(spec, file)
            if current is not None and (spec.mode == "job" or current.spec.mode != spec.mode):
                self._drop(spec.name)
                current = None
            if current is None:
                service = self._services[spec.name] = MemoryService(spec)
                service.instances = self._place(spec)
                self.events.append(("create", _kind(spec), spec.name))
                return
            self.events.append(("update", "service", spec.name))
            old = [
                replace(i, state="shutdown", desired="shutdown", message="shutdown")
                if i.desired == "running"
                else i
                for i in current.instances
            ]
            if spec.name in self._failing_updates:
                self._failing_updates.discard(spec.name)
                failed = Instance(
                    node=next((i.node for i in current.instances if i.node), ""),
                    state="failed",
                    desired="shutdown",
                    message="task: non-zero exit (1)",
                    exit_code=1,
                    container=self._container(),
                    spec=spec.labels.get(SPEC_LABEL),
                )
                current.instances = [*current.instances, failed]
                current.updating, current.rolled_back = (
                    "rollback_completed",
                    spec.labels.get(SPEC_LABEL),
                )
                self.events.append(("rollback", "service", spec.name))
                return
            current.spec, current.updating, current.rolled_back = spec, None, None
            fresh = self._place(spec)
            if spec.name in self._held:  # the new instances start until ``release``
                current.updating = "updating"
                fresh = [
                    replace(i, state="starting", healthy=None) if i.state == "running" else i
                    for i in fresh
                ]
            current.instances = [*old, *fresh]

    def services(self, labels: Mapping[str, str]) -> list[ServiceState]:
        with self._lock:
            self.faults.check("services", labels)
            return [
                self._state(s)
                for name, s in sorted(self._services.items())
                if all(s.spec.labels.get(k) == v for k, v in labels.items())
            ]

    def logs(self, name: str, tail: int = 20) -> list[str]:
        with self._lock:
            self.faults.check("logs", name, tail)
            lines = self._logs.get(name, []) if name in self._services else []
            return list(lines[-tail:]) if tail > 0 else []

    def remove(self, labels: Mapping[str, str]) -> None:
        with self._lock:
            self.faults.check("remove", labels)
            if not labels:
                raise HostRefused("removing applications needs at least one label to select them")

            def selected(found: Mapping[str, str]) -> bool:
                return all(found.get(k) == v for k, v in labels.items())

            for name in [n for n, s in self._services.items() if selected(s.spec.labels)]:
                self._drop(name)
            used = {
                ("secret" if f.secret else "config", f.name)
                for s in self._services.values()
                for f in s.spec.files
            }
            for key in [k for k, f in self._files.items() if selected(f.labels)]:
                if key not in used:  # still used by another service: kept
                    del self._files[key]
                    self.events.append(("remove", *key))
            for name in [n for n, found in self._networks.items() if selected(found)]:
                del self._networks[name]
                self.events.append(("remove", "network", name))

    # -- what tests do behind cove's back ------------------------------------------------------

    def add_node(self, name: str, role: str = "worker") -> AppNode:
        with self._lock:
            node = self._nodes[name] = AppNode(name, role)
            return node

    def stop_node(self, name: str) -> None:
        with self._lock:
            self._nodes[name].ready = False

    def lose_node(self, name: str) -> None:
        """The node is gone (absent is done): what ran there is ``orphaned``; nothing is
        placed again (the real swarm would reschedule replicated instances)."""
        with self._lock:
            if self._nodes.pop(name, None) is None:
                return
            for service in self._services.values():
                service.instances = [
                    replace(i, state="orphaned", desired="shutdown", message="node removed")
                    if i.node == name and i.desired == "running"
                    else i
                    for i in service.instances
                ]
            self.events.append(("lost", "node", name))

    def set_job_outcome(self, name: str, exit_code: int) -> None:
        """How the next run of job ``name`` ends (0: complete)."""
        with self._lock:
            self._job_outcomes[name] = exit_code

    def fail_next_update(self, name: str) -> None:
        with self._lock:
            self._failing_updates.add(name)

    def hold(self, name: str) -> None:
        """Updates of service ``name`` roll out until ``release``: its new instances stay
        ``starting`` and its ``updating`` is ``updating`` (a real swarm takes seconds)."""
        with self._lock:
            self._held.add(name)

    def release(self, name: str) -> None:
        """The held update of ``name`` completes: its new instances run (healthy)."""
        with self._lock:
            self._held.discard(name)
            service = self._services[name]
            checked = service.spec.health is not None
            service.instances = [
                replace(i, state="running", healthy=True if checked else None)
                if i.state == "starting"
                else i
                for i in service.instances
            ]
            if service.updating == "updating":
                service.updating = None

    def fail_instance(self, name: str, exit_code: int = 1) -> Instance:
        """A running instance of service ``name`` dies; its replacement starts on the same
        node. Returns the replacement."""
        with self._lock:
            service = self._services[name]
            index, dead = next(
                (n, i)
                for n, i in enumerate(service.instances)
                if i.state == "running" and i.desired == "running"
            )
            service.instances[index] = replace(
                dead,
                state="failed",
                desired="shutdown",
                message=f"task: non-zero exit ({exit_code})",
                exit_code=exit_code,
                healthy=False if dead.healthy is not None else None,
            )
            fresh = replace(dead, container=self._container())
            service.instances.append(fresh)
            self.events.append(("fail", _kind(service.spec), name))
            return fresh

    def add_network(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        with self._lock:
            self._networks[name] = dict(labels or {})

    def add_file(
        self, name: str, labels: Mapping[str, str] | None = None, *, secret: bool = False
    ) -> None:
        with self._lock:
            spec = FileSpec(name, f"/{name}", b"", secret=secret)
            self._files[("secret" if secret else "config", name)] = MemoryFile(
                spec, dict(labels or {})
            )

    def add_service(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        with self._lock:
            self._services[name] = MemoryService(ServiceSpec(name, "foreign", dict(labels or {})))

    def add_log(self, name: str, *lines: str) -> None:
        with self._lock:
            self._logs.setdefault(name, []).extend(lines)

    def service(self, name: str) -> ServiceSpec | None:
        """The spec a service runs now."""
        with self._lock:
            found = self._services.get(name)
            return found.spec if found else None

    def file(self, name: str, *, secret: bool = False) -> FileSpec | None:
        with self._lock:
            found = self._files.get(("secret" if secret else "config", name))
            return found.spec if found else None

    def network(self, name: str) -> Mapping[str, str] | None:
        with self._lock:
            found = self._networks.get(name)
            return dict(found) if found is not None else None

    # -- helpers ---------------------------------------------------------------------------

    def _ensure_file(self, spec: ServiceSpec, file: FileSpec) -> None:
        kind = "secret" if file.secret else "config"
        found = self._files.get((kind, file.name))
        if found is None:
            labels = {
                k: spec.labels[k] for k in (DEPLOYMENT_LABEL, ELEMENT_LABEL) if k in spec.labels
            }
            self._files[(kind, file.name)] = MemoryFile(file, labels)
            self.events.append(("create", kind, file.name))
        elif DEPLOYMENT_LABEL not in spec.labels or found.labels.get(
            DEPLOYMENT_LABEL
        ) != spec.labels.get(DEPLOYMENT_LABEL):
            raise HostRefused(f"{kind} {file.name} already exists and is not this deployment's")

    def _drop(self, name: str) -> None:
        service = self._services.pop(name)
        self._logs.pop(name, None)
        self.events.append(("remove", _kind(service.spec), name))

    def _eligible(self, spec: ServiceSpec) -> list[AppNode]:
        def matches(node: AppNode, constraint: str) -> bool:
            for op in ("==", "!="):
                field_, sep, value = constraint.partition(op)
                if not sep:
                    continue
                actual = {"node.hostname": node.name, "node.role": node.role}.get(field_.strip())
                if actual is None:
                    return True  # not simulated
                return (actual == value.strip()) == (op == "==")
            return True

        return [
            n
            for n in self._nodes.values()
            if n.ready and all(matches(n, c) for c in spec.constraints)
        ]

    def _place(self, spec: ServiceSpec) -> list[Instance]:
        label = spec.labels.get(SPEC_LABEL)
        return [replace(i, spec=label) for i in self._placed(spec)]

    def _placed(self, spec: ServiceSpec) -> list[Instance]:
        nodes = self._eligible(spec)
        if spec.mode == "global":
            return [self._running(spec, n) for n in nodes]
        if spec.mode == "job":
            return self._run_job(spec, nodes)
        made: list[Instance] = []
        per_node: dict[str, int] = {}
        for slot in range(spec.replicas):
            turn = slot % len(nodes) if nodes else 0
            node = next(
                (
                    n
                    for n in [*nodes[turn:], *nodes[:turn]]
                    if spec.max_per_node is None or per_node.get(n.name, 0) < spec.max_per_node
                ),
                None,
            )
            if node is None:
                made.append(
                    Instance("", "pending", "running", "no suitable node", None, None, None)
                )
                continue
            per_node[node.name] = per_node.get(node.name, 0) + 1
            made.append(self._running(spec, node))
        return made

    def _run_job(self, spec: ServiceSpec, nodes: list[AppNode]) -> list[Instance]:
        if not nodes:
            return [Instance("", "pending", "complete", "no suitable node", None, None, None)]
        node = nodes[0]
        if spec.image not in node.images:
            return [self._rejected(spec, node, "complete")]
        code = self._job_outcomes.pop(spec.name, 0)
        if code == 0:
            return [
                Instance(node.name, "complete", "complete", "finished", 0, self._container(), None)
            ]
        retries = spec.restart_attempts
        attempts = 1 + (retries if retries is not None else UNBOUNDED_FAILURES - 1)
        made = [
            Instance(
                nodes[n % len(nodes)].name,
                "failed",
                "complete",
                f"task: non-zero exit ({code})",
                code,
                self._container(),
                None,
            )
            for n in range(attempts)
        ]
        if spec.restart_attempts is None:
            made.append(Instance(node.name, "pending", "complete", "pending", None, None, None))
        return made

    def _running(self, spec: ServiceSpec, node: AppNode) -> Instance:
        if spec.image not in node.images:
            return self._rejected(spec, node, "running")
        lines = self._logs.setdefault(spec.name, [])
        element = spec.env.get("COVE_ELEMENT")
        if element and spec.mode != "job":  # as an app image's gate, its requirements held
            lines.append(f"cove-gate: starting service {element}")
        return Instance(
            node=node.name,
            state="running",
            desired="running",
            message="started",
            exit_code=None,
            container=self._container(),
            healthy=True if spec.health is not None else None,
        )

    def _rejected(self, spec: ServiceSpec, node: AppNode, desired: str) -> Instance:
        return Instance(
            node.name, "rejected", desired, f"No such image: {spec.image}", None, None, None
        )

    def _container(self) -> str:
        return f"c{next(self._ids):011d}"

    def _state(self, service: MemoryService) -> ServiceState:
        spec = service.spec
        if spec.mode == "global":
            wanted = sum(1 for i in service.instances if i.desired == "running")
        else:
            wanted = spec.replicas
        return ServiceState(
            name=spec.name,
            labels=dict(spec.labels),
            mode=spec.mode,
            wanted=wanted,
            instances=tuple(service.instances),
            updating=service.updating,
        )


def _kind(spec: ServiceSpec) -> str:
    return "job" if spec.mode == "job" else "service"
