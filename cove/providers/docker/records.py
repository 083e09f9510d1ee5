"""Turn the engine's container inspection (CamelCase dicts) into cove's ``NodeRecord``.
A container's entry in the engine's list carries every field read here too
(``from_summary``), so a cluster's containers are listed in one call.

This is the only place that reads a container's ``attrs``; Docker's dicts never leave the
provider. Pure functions; no Docker calls here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cove.providers.base import (
    LABEL_CLUSTER,
    LABEL_NODEGROUP,
    LABEL_ROLE,
    LABEL_SERVICE,
    NodeRecord,
    ServiceRecord,
)


def host_ports(ports: Mapping[str, Any] | None) -> dict[int, int]:
    """Node port -> host port from ``NetworkSettings.Ports`` (TCP only; the IPv4 binding,
    which clients reach as 127.0.0.1: the engine may give the IPv6 one another port).

    >>> host_ports({"2376/tcp": [{"HostIp": "::", "HostPort": "49152"},
    ...                          {"HostIp": "0.0.0.0", "HostPort": "49153"}], "53/udp": None})
    {2376: 49153}
    """
    bound: dict[int, int] = {}
    for key, bindings in (ports or {}).items():
        port, _, proto = key.partition("/")
        if proto not in ("", "tcp") or not bindings:
            continue
        usable = [b for b in bindings if b.get("HostPort")]
        usable.sort(key=lambda b: ":" in str(b.get("HostIp", "")))  # IPv4 first
        if usable:
            bound[int(port)] = int(usable[0]["HostPort"])
    return bound


RUNNING_STATES = frozenset({"running", "paused", "restarting"})  # inspect's State.Running


def from_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A container's entry in ``GET /containers/json`` in the shape of its inspection, for
    the fields the records read (a listed cluster then costs one call, not one inspection
    more per container)."""
    ports: dict[str, list[dict[str, str]]] = {}
    for port in summary.get("Ports") or []:
        bindings = ports.setdefault(f"{port['PrivatePort']}/{port.get('Type', 'tcp')}", [])
        if port.get("PublicPort"):
            bindings.append({"HostIp": port.get("IP", ""), "HostPort": str(port["PublicPort"])})
    names = summary.get("Names") or []
    # A legacy link adds names like /other/alias; the container's own has one slash.
    name = next((n for n in names if n.count("/") == 1), names[0] if names else "")
    return {
        "Id": summary["Id"],
        "Name": name,
        "State": {"Running": summary.get("State") in RUNNING_STATES},
        "Config": {"Image": summary.get("Image", ""), "Labels": summary.get("Labels") or {}},
        "HostConfig": summary.get("HostConfig") or {},
        "NetworkSettings": {
            "Networks": (summary.get("NetworkSettings") or {}).get("Networks") or {},
            "Ports": ports,
        },
    }


def node_address(attrs: Mapping[str, Any]) -> str | None:
    """The container's IPv4 address on the network it was created on (its cluster network),
    or ``None`` when it has none (stopped)."""
    networks: Mapping[str, Any] = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    mode = (attrs.get("HostConfig") or {}).get("NetworkMode")
    endpoint = networks.get(mode) if mode else None
    if endpoint is None and len(networks) == 1:
        endpoint = next(iter(networks.values()))
    address = (endpoint or {}).get("IPAddress")
    return address or None


def node_record(attrs: Mapping[str, Any]) -> NodeRecord:
    """A ``NodeRecord`` from a container's full inspection (``container.attrs``)."""
    config = attrs.get("Config") or {}
    labels: Mapping[str, str] = config.get("Labels") or {}
    state = attrs.get("State") or {}
    return NodeRecord(
        name=str(attrs.get("Name", "")).lstrip("/"),
        id=attrs["Id"],
        cluster_uuid=labels.get(LABEL_CLUSTER, ""),
        nodegroup_uuid=labels.get(LABEL_NODEGROUP, ""),
        role=labels.get(LABEL_ROLE, ""),
        address=node_address(attrs),
        running=bool(state.get("Running")),
        image=config.get("Image", ""),
        host_ports=host_ports((attrs.get("NetworkSettings") or {}).get("Ports")),
    )


def service_record(attrs: Mapping[str, Any]) -> ServiceRecord:
    """A ``ServiceRecord`` from a service container's full inspection."""
    labels: Mapping[str, str] = (attrs.get("Config") or {}).get("Labels") or {}
    return ServiceRecord(
        name=str(attrs.get("Name", "")).lstrip("/"),
        cluster_uuid=labels.get(LABEL_CLUSTER, ""),
        kind=labels.get(LABEL_SERVICE, ""),
        address=node_address(attrs),
        running=bool((attrs.get("State") or {}).get("Running")),
        host_ports=host_ports((attrs.get("NetworkSettings") or {}).get("Ports")),
        labels=dict(labels),
    )
