"""Pure translations between cove's container types and a node engine's API: the arguments
that create a ``ContainerSpec``, records from an inspection or a listing, and the CPU a node
used between two samples. No engine calls here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cove.drivers.containerhost import OWNER_LABEL, ContainerRecord, ContainerSpec, NodeLoad
from cove.providers.base import NodeStats
from cove.providers.enginestats import memory_in_use, timestamp

NANO = 1_000_000_000


def create_arguments(spec: ContainerSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(create_container kwargs without host_config, create_host_config kwargs)``."""
    host: dict[str, Any] = {
        # None: the engine picks a port; published on every address of the node.
        "port_bindings": {f"{p.container_port}/{p.protocol}": p.published_port for p in spec.ports},
        "binds": [f"{v.source}:{v.target}:{'ro' if v.read_only else 'rw'}" for v in spec.volumes],
        "restart_policy": {"Name": "" if spec.restart_policy == "no" else spec.restart_policy},
    }
    if spec.cpus is not None:
        host["nano_cpus"] = round(spec.cpus * NANO)
    if spec.memory_mb is not None:
        host["mem_limit"] = f"{spec.memory_mb}m"
    create: dict[str, Any] = {
        "image": spec.image,
        "name": spec.name,
        "command": list(spec.command) if spec.command is not None else None,
        "environment": dict(spec.env),
        "labels": dict(spec.labels),
        "ports": [(p.container_port, p.protocol) for p in spec.ports],
        "volumes": [v.target for v in spec.volumes],
    }
    check = spec.healthcheck
    if check is not None:
        create["healthcheck"] = {
            "Test": list(check.test),
            "Interval": round(check.interval * NANO),
            "Timeout": round(check.timeout * NANO),
            "Retries": check.retries,
            "StartPeriod": round(check.start_period * NANO),
        }
    return create, host


def owned_by(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """Whether a container with ``labels`` is the one ``wanted`` describes (every label)."""
    return all(labels.get(k) == v for k, v in wanted.items())


def whose(labels: Mapping[str, str]) -> str:
    owner = labels.get(OWNER_LABEL)
    return f"container cluster {owner}" if owner else "something other than cove's clustering"


def _published(ports: Mapping[str, Any] | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for key, bindings in (ports or {}).items():
        usable = [b for b in bindings or () if b.get("HostPort")]
        usable.sort(key=lambda b: ":" in str(b.get("HostIp", "")))  # IPv4 first
        if usable:
            found[key] = int(usable[0]["HostPort"])
    return found


def _address(networks: Mapping[str, Any] | None) -> str | None:
    for endpoint in (networks or {}).values():
        if endpoint.get("IPAddress"):
            return str(endpoint["IPAddress"])
    return None


def record_from_inspect(node: str, attrs: Mapping[str, Any]) -> ContainerRecord:
    state = attrs.get("State") or {}
    status = str(state.get("Status") or "created")
    network = attrs.get("NetworkSettings") or {}
    return ContainerRecord(
        id=str(attrs.get("Id", "")),
        name=str(attrs.get("Name", "")).lstrip("/"),
        node=node,
        state=status,
        health=(state.get("Health") or {}).get("Status"),
        labels=dict((attrs.get("Config") or {}).get("Labels") or {}),
        address=_address(network.get("Networks")),
        ports=_published(network.get("Ports")),
        exit_code=int(state.get("ExitCode") or 0) if status in ("exited", "dead") else None,
    )


_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXITED = re.compile(r"^Exited \((-?\d+)\)")


def record_from_listing(node: str, summary: Mapping[str, Any]) -> ContainerRecord:
    """A record from ``GET /containers/json`` (no inspection per container): health and
    exit code are read from its ``Status`` text (``Up 3 s (healthy)``, ``Exited (0) …``)."""
    status = str(summary.get("Status") or "")
    health = _HEALTH.search(status)
    exited = _EXITED.match(status)
    ports: dict[str, int] = {}
    for port in summary.get("Ports") or ():
        if port.get("PublicPort") and ":" not in str(port.get("IP", "")):
            ports.setdefault(f"{port['PrivatePort']}/{port['Type']}", int(port["PublicPort"]))
    names = summary.get("Names") or ["/"]
    return ContainerRecord(
        id=str(summary.get("Id", "")),
        name=str(names[0]).lstrip("/"),
        node=node,
        state=str(summary.get("State") or "created"),
        health=health.group(1).replace("health: ", "") if health else None,
        labels=dict(summary.get("Labels") or {}),
        address=_address((summary.get("NetworkSettings") or {}).get("Networks")),
        ports=ports,
        exit_code=int(exited.group(1)) if exited else None,
    )


@dataclass(frozen=True)
class CpuSample:
    id: str
    cpu_time: int  # cumulative ns
    read_at: float


@dataclass(frozen=True)
class Usage:
    """One container's sample: the node container, or one running inside the node."""

    id: str
    cpu_time: int  # cumulative ns since started_at
    read_at: float
    started_at: float
    memory: int


def usage_of_node(sample: NodeStats) -> Usage:
    return Usage(sample.id, sample.cpu_time, sample.read_at, sample.started_at, sample.memory)


def usage_from_stats(container_id: str, created: float, stats: Mapping[str, Any]) -> Usage:
    """A container's one-shot stats from a node engine (``created``: its listing's
    ``Created``, close enough to its start for a first average)."""
    cpu = (stats.get("cpu_stats") or {}).get("cpu_usage") or {}
    return Usage(
        id=container_id,
        cpu_time=int(cpu.get("total_usage") or 0),
        read_at=timestamp(stats.get("read")),
        started_at=created,
        memory=memory_in_use(stats.get("memory_stats") or {}),
    )


def cpu_cores(previous: CpuSample | None, usage: Usage) -> float:
    """Cores busy since ``previous`` (the same container, earlier), else on average since the
    container started."""
    if (
        previous is not None
        and previous.id == usage.id
        and usage.read_at > previous.read_at
        and usage.cpu_time >= previous.cpu_time
    ):
        return (usage.cpu_time - previous.cpu_time) / NANO / (usage.read_at - previous.read_at)
    elapsed = usage.read_at - usage.started_at
    return usage.cpu_time / NANO / elapsed if elapsed > 0 and usage.started_at else 0.0


def node_load(
    previous: Mapping[str, CpuSample], node: NodeStats, inside: list[Usage]
) -> tuple[NodeLoad, dict[str, CpuSample]]:
    """The node's load: its container (its engine, containerd) plus the containers running
    in it, whose cgroups a node's engine places beside the node's own (``cgroup-parent``),
    not inside it; and the samples to keep for the next call."""
    usages = [usage_of_node(node), *inside]
    cores = sum(cpu_cores(previous.get(u.id), u) for u in usages)
    load = NodeLoad(
        cpu=round(cores, 3),
        cpus=node.cpus,
        memory=sum(u.memory for u in usages),
        memory_limit=node.memory_limit,
        containers=len(inside),
    )
    return load, {u.id: CpuSample(u.id, u.cpu_time, u.read_at) for u in usages}
