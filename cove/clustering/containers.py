"""The container profile (``container.dockerinc.docker-1.0``) made concrete: what container
a node of a cluster runs, under which name and labels. The spec was validated when the
profile was stored (``cove.domain.clustering``); this only reads it.

Senlin's ``port`` (the docker daemon's plain-TCP port) is not used: cove reaches a node's
engine over the host cluster's TLS."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cove.drivers.containerhost import (
    NODE_LABEL,
    OWNER_LABEL,
    ContainerSpec,
    HealthCheckSpec,
    PortSpec,
    VolumeSpec,
)

PROFILE_LABEL = "cove.clustering.profile"


@dataclass(frozen=True)
class HostRef:
    """Where the profile places containers: a cove cluster and perhaps one of its nodes."""

    cluster: str | None  # uuid or name, as the profile gives it
    node: str | None


def host_of(spec: Mapping[str, Any]) -> HostRef:
    props = spec.get("properties") or {}
    return HostRef(props.get("host_cluster"), props.get("host_node"))


def resources(spec: Mapping[str, Any]) -> tuple[float | None, int | None]:
    res = (spec.get("properties") or {}).get("resources") or {}
    cpu = res.get("cpu")
    memory = res.get("memory")
    return (float(cpu) if cpu is not None else None, int(memory) if memory is not None else None)


def container_name(spec: Mapping[str, Any], node_name: str, node_uuid: str) -> str:
    """The profile's ``name`` (with the node's short id, so several members can share a
    host node), else the node's name with its short id."""
    base = (spec.get("properties") or {}).get("name") or node_name
    short = node_uuid[:8]
    return base if base.endswith(short) else f"{base}-{short}"


def container_spec(
    spec: Mapping[str, Any],
    *,
    name: str,
    cluster_uuid: str | None,
    node_uuid: str,
    profile_uuid: str,
) -> ContainerSpec:
    props = spec.get("properties") or {}
    command = props.get("command")
    argv: tuple[str, ...] | None = None
    if isinstance(command, str) and command.strip():
        argv = tuple(shlex.split(command))
    elif isinstance(command, list):
        argv = tuple(str(part) for part in command)
    labels = {str(k): str(v) for k, v in (props.get("labels") or {}).items()}
    labels.update(
        {OWNER_LABEL: cluster_uuid or "", NODE_LABEL: node_uuid, PROFILE_LABEL: profile_uuid}
    )
    cpus, memory_mb = resources(spec)
    return ContainerSpec(
        name=name,
        image=str(props["image"]),
        labels=labels,
        command=argv,
        env={str(k): str(v) for k, v in (props.get("env") or {}).items()},
        ports=tuple(
            PortSpec(
                int(p["container_port"]),
                int(p["published_port"]) if p.get("published_port") is not None else None,
                str(p.get("protocol") or "tcp"),
            )
            for p in props.get("ports") or ()
        ),
        volumes=tuple(
            VolumeSpec(str(v["source"]), str(v["target"]), bool(v.get("read_only", False)))
            for v in props.get("volumes") or ()
        ),
        cpus=cpus,
        memory_mb=memory_mb,
        restart_policy=str(props.get("restart_policy") or "no"),
        healthcheck=_healthcheck(props.get("health_check")),
    )


def _healthcheck(check: Mapping[str, Any] | None) -> HealthCheckSpec | None:
    if not check:
        return None
    test = check.get("test")
    argv = ("CMD-SHELL", test) if isinstance(test, str) else tuple(str(t) for t in test or ())
    if argv and argv[0] not in ("CMD", "CMD-SHELL", "NONE"):
        argv = ("CMD", *argv)  # a bare argv, as Docker's exec form
    return HealthCheckSpec(
        test=argv,
        interval=float(check.get("interval", 30)),
        timeout=float(check.get("timeout", 30)),
        retries=int(check.get("retries", 3)),
        start_period=float(check.get("start_period", 0)),
    )
