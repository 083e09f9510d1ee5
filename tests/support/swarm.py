"""A swarm-mode driver on the in-memory provider and the swarm simulator, with cluster specs
as the conductor would snapshot them: fast tests of the driver's operations."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cove.drivers.base import ClusterSpec, NodeGroupSpec, OperationInput
from cove.drivers.swarm_mode import SwarmModeDriver
from cove.drivers.swarm_mode.simulation import SwarmSimulator
from cove.providers.memory import MemoryProvider
from cove.steps import Steps

UUID = "0c0ffee0-0000-4000-8000-000000000001"
MANAGERS = "0c0ffee0-0000-4000-8000-0000000000aa"
WORKERS = "0c0ffee0-0000-4000-8000-0000000000bb"


def group(uuid: str, role: str, count: int, image: str = "cove/node:1") -> NodeGroupSpec:
    name = "default-master" if role == "master" else "default-worker"
    return NodeGroupSpec(
        uuid=uuid, name=name, role=role, node_count=count, min_node_count=0,
        max_node_count=None, flavor_id="m1.small", image_id="img", labels={},
        is_default=True, node_image=image,
    )  # fmt: skip


def cluster(
    managers: int = 1, workers: int = 2, image: str = "cove/node:1", **kw: Any
) -> ClusterSpec:
    template = {"tls_disabled": True, "master_lb_enabled": False, "registry_enabled": False}
    template.update(kw.pop("template", {}))
    return ClusterSpec(
        uuid=UUID, name="c1", project_id="p", coe="swarm-mode", server_type="vm",
        os_distro="debian", labels={}, template=template,
        nodegroups=(
            group(MANAGERS, "master", managers, image),
            group(WORKERS, "worker", workers, image),
        ),
        ca_cert_pem="", ca_key_pem="", **kw,
    )  # fmt: skip


def resized(spec: ClusterSpec, workers: int) -> ClusterSpec:
    groups = tuple(
        replace(g, node_count=workers) if g.role == "worker" else g for g in spec.nodegroups
    )
    return replace(spec, nodegroups=groups)


def upgraded(spec: ClusterSpec, image: str) -> ClusterSpec:
    return replace(spec, nodegroups=tuple(replace(g, node_image=image) for g in spec.nodegroups))


class Crash(BaseException):
    """A conductor dying right after a step was recorded (not an Exception: nothing in the
    driver may catch it, as nothing catches SIGKILL)."""


class Recorder:
    """An operation's persisted progress across attempts, crashing after a chosen step."""

    def __init__(self, crash_after: str | None = None) -> None:
        self.progress: dict[str, Any] = {}
        self.crash_after = crash_after
        self.events: list[str] = []

    def steps(self) -> Steps:
        def record(name: str, data: dict[str, Any]) -> None:
            self.progress[name] = {"state": "done", "data": data}
            if name == self.crash_after:
                self.crash_after = None
                raise Crash(name)

        return Steps(self.progress, record)

    def op(self, kind: str, spec: ClusterSpec, **params: Any) -> OperationInput:
        return OperationInput(kind, spec, params, self.steps(), None, self.events.append)


def driver() -> tuple[SwarmModeDriver, MemoryProvider, SwarmSimulator]:
    simulator = SwarmSimulator()
    provider = MemoryProvider(simulator)
    return SwarmModeDriver(provider), provider, simulator
