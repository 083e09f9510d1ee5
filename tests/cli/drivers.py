"""A test driver whose creates and deletes take a while (os_distro ``slow``; labels
``slow_seconds``, default 2, and ``slow_delete_seconds``, default 0), so the CLI tests can
watch a wait in progress, interrupt it, and see ``--no-wait`` return before the end.
Everything else it does at once, as the instant driver, but for deployments: its app host
(``StagedAppHost``) shows each service starting for the first ``app_looks`` looks (label,
default 2; the conductor looks once a second), and a task whose command says ``exit N``
(N > 0) fails with that code after printing two log lines."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import replace

from cove.drivers import nodeplan
from cove.drivers.apphost import ServiceSpec, ServiceState
from cove.drivers.base import ClusterReport, ClusterSpec, DriverKey, OperationInput
from cove.drivers.memoryapps import MemoryAppHost
from tests.support.drivers import APP_IMAGES, COES, IMAGES, InstantDriver

DEFAULT_SECONDS = 2.0
EXIT = re.compile(r"\bexit (\d+)\b")


def _pause(op: OperationInput, label: str, share: float = 1.0) -> None:
    """Sleep for a share of the cluster's ``label`` seconds (drivers run in a conductor
    worker thread, so nothing else waits on it)."""
    default = DEFAULT_SECONDS if label == "slow_seconds" else 0.0
    time.sleep(float(op.cluster.labels.get(label, default)) * share)


class StagedAppHost(MemoryAppHost):
    """Services start over a few looks; ``exit N`` tasks fail (see the module)."""

    def __init__(self, looks: int, **kwargs: object) -> None:
        super().__init__(nodes=(), **kwargs)  # type: ignore[arg-type]
        self.looks = looks
        self._seen: dict[str, int] = {}

    def ensure_service(self, spec: ServiceSpec) -> None:
        # The command reaches the container in its start contract (a file), not in argv.
        said = [*spec.command, *(f.data.decode(errors="replace") for f in spec.files)]
        code = EXIT.search(" ".join(said))
        if spec.mode == "job" and code and int(code.group(1)):
            self.set_job_outcome(spec.name, int(code.group(1)))
            self.add_log(spec.name, "migrating the schema", "ERROR: relation exists")
        self._seen.pop(spec.name, None)  # made or changed: it starts again
        super().ensure_service(spec)

    def services(self, labels: Mapping[str, str]) -> list[ServiceState]:
        found = super().services(labels)
        with self._lock:
            staged = []
            for state in found:
                seen = self._seen[state.name] = self._seen.get(state.name, 0) + 1
                if seen <= self.looks and state.mode != "job":
                    starting = tuple(
                        replace(i, state="starting", healthy=None) if i.state == "running" else i
                        for i in state.instances
                    )
                    state = replace(state, instances=starting)
                staged.append(state)
            return staged


class SlowDriver(InstantDriver):
    name = "slow"
    provides = tuple(DriverKey(st, "slow", coe) for st in ("vm", "bm") for coe in COES)

    def create_cluster(self, op: OperationInput) -> ClusterReport:
        op.event("slow: starting the nodes")
        _pause(op, "slow_seconds", 0.5)
        op.event("slow: half of the nodes are up")
        _pause(op, "slow_seconds", 0.5)
        return super().create_cluster(op)

    def delete_cluster(self, op: OperationInput) -> None:
        _pause(op, "slow_delete_seconds")

    staged: dict[str, StagedAppHost] = {}

    def app_host(self, cluster: ClusterSpec) -> StagedAppHost:  # type: ignore[override]
        with _LOCK:
            apps = SlowDriver.staged.get(cluster.uuid)
            if apps is None:
                looks = int(cluster.labels.get("app_looks", "2"))
                apps = SlowDriver.staged[cluster.uuid] = StagedAppHost(
                    looks, host_images=(*IMAGES, *APP_IMAGES)
                )
                for group in cluster.nodegroups:
                    role = "manager" if group.role == "master" else "worker"
                    slug = nodeplan.group_slug(group.name, group.role, group.is_default)
                    for i in range(group.node_count):
                        apps.add_node(nodeplan.node_name(cluster.uuid, slug, i), role)
            return apps


_LOCK = threading.Lock()
