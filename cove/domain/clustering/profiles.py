"""The container profile type (``container.dockerinc.docker-1.0``): Senlin's properties plus
cove's (env, ports, volumes, resources, restart policy, health check, labels), and the
placement rule: host_cluster names a swarm-mode cove cluster the caller sees, host_node one
of its nodes; at least one is given, and a host_node belongs to the host_cluster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cove.domain.clustering.errors import InvalidSpec
from cove.domain.clustering.schema import Prop, SpecType, parse_spec

CONTAINER = "container.dockerinc.docker"

_STR = Prop("String")
_PORT = Prop(
    "Map",
    schema={
        "container_port": Prop("Integer", "Port inside the container.", required=True, minimum=1),
        "published_port": Prop("Integer", "Port published on the host node.", minimum=1),
        "protocol": Prop("String", "tcp or udp.", default="tcp", allowed=("tcp", "udp")),
    },
)
_VOLUME = Prop(
    "Map",
    schema={
        "source": Prop("String", "A named volume or a host path.", required=True),
        "target": Prop("String", "The path in the container.", required=True),
        "read_only": Prop("Boolean", "Mount read-only.", default=False),
    },
)

CONTAINER_PROPERTIES: dict[str, Prop] = {
    "context": Prop("Map", "Customized security context for operating containers."),
    "name": Prop("String", "The name of the container.", updatable=True),
    "image": Prop("String", "The image used to create a container.", required=True),
    "command": Prop("String", "The command to run when container is started."),
    "port": Prop("Integer", "The port number used to connect to docker daemon.", default=2375),
    "host_node": Prop("String", "The node on which container will be launched."),
    "host_cluster": Prop("String", "The cluster on which container will be launched."),
    "env": Prop("Map", "Environment variables of the container.", values=_STR),
    "ports": Prop("List", "Ports published by the container.", schema=_PORT),
    "volumes": Prop("List", "Volumes mounted into the container.", schema=_VOLUME),
    "resources": Prop(
        "Map",
        "Resource limits.",
        schema={
            "cpu": Prop("Number", "CPU cores.", minimum=0, exclusive_minimum=True),
            "memory": Prop("Integer", "Memory in MiB.", minimum=1),
        },
    ),
    "restart_policy": Prop(
        "String",
        "Restart policy of the container.",
        allowed=("no", "on-failure", "always", "unless-stopped"),
    ),
    "health_check": Prop(
        "Map",
        "The container's health check.",
        schema={
            "test": Prop(
                "List", "Command, as a list or a shell string.", schema=_STR, any_of=("String",)
            ),
            "interval": Prop("Integer", "Seconds between checks.", minimum=1),
            "timeout": Prop("Integer", "Seconds before a check fails.", minimum=1),
            "retries": Prop("Integer", "Failures before unhealthy.", minimum=1),
            "start_period": Prop("Integer", "Seconds of grace after start.", minimum=0),
        },
    ),
    "labels": Prop("Map", "Labels of the container.", values=_STR),
}

PROFILE_TYPES: dict[str, SpecType] = {
    t.full_name: t
    for t in (SpecType(CONTAINER, "1.0", CONTAINER_PROPERTIES, (("EXPERIMENTAL", "2017.02"),)),)
}

# Profile operations (``ops``), as Senlin's docker profile declares them; cove adds stop.
OPERATIONS: dict[str, dict[str, Any]] = {
    "restart": {
        "description": "Restart a container.",
        "parameters": {
            "wait_time": {
                "type": "Integer",
                "description": "Number of seconds to wait before killing the container.",
                "required": False,
            }
        },
    },
    "pause": {"description": "Pause a container.", "parameters": {}},
    "unpause": {"description": "Unpause a container.", "parameters": {}},
    "stop": {"description": "Stop a container.", "parameters": {}},
}


def parse_profile_spec(spec: Any) -> tuple[SpecType, dict[str, Any]]:
    return parse_spec(spec, PROFILE_TYPES, "profile")


def check_operation(name: str, params: Any) -> dict[str, Any]:
    """A profile operation and its parameters, or InvalidSpec."""
    if name not in OPERATIONS:
        known = ", ".join(sorted(OPERATIONS))
        raise InvalidSpec(
            f"The requested operation '{name}' is not supported by the "
            f"profile type '{CONTAINER}'. Supported: {known}."
        )
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidSpec("The operation's 'params' must be a map.")
    allowed = OPERATIONS[name]["parameters"]
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key not in allowed:
            raise InvalidSpec(f"Unrecognizable parameter '{key}' for operation '{name}'.")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            raise InvalidSpec(f"The value of parameter '{key}' must be a non-negative integer.")
        out[key] = value
    return out


@dataclass(frozen=True)
class HostCluster:
    """A cove cluster the caller sees, with its nodes' names."""

    uuid: str
    name: str
    coe: str
    nodes: Sequence[str]


@dataclass(frozen=True)
class Placement:
    host_cluster: str  # uuid
    host_node: str | None


def place(
    host_cluster: str | None, host_node: str | None, clusters: Sequence[HostCluster]
) -> Placement:
    """Resolve the profile's placement among the caller's clusters; InvalidSpec otherwise."""
    if not host_cluster and not host_node:
        raise InvalidSpec(
            "Either 'properties.host_cluster' or 'properties.host_node' must be specified."
        )
    if host_cluster:
        matches = [c for c in clusters if host_cluster in (c.uuid, c.name)]
        if not matches:
            raise InvalidSpec(
                f"The specified properties.host_cluster '{host_cluster}' could not be found."
            )
        if len(matches) > 1:
            raise InvalidSpec(
                f"Multiple clusters are named '{host_cluster}': give "
                "properties.host_cluster as a uuid."
            )
        cluster = matches[0]
        _check_coe(cluster)
        if host_node and host_node not in cluster.nodes:
            raise InvalidSpec(
                f"The specified properties.host_node '{host_node}' is not a node of "
                f"host_cluster '{host_cluster}'."
            )
        return Placement(cluster.uuid, host_node or None)
    assert host_node
    owners = [c for c in clusters if host_node in c.nodes]
    if not owners:
        raise InvalidSpec(f"The specified properties.host_node '{host_node}' could not be found.")
    if len(owners) > 1:
        raise InvalidSpec(
            f"The specified properties.host_node '{host_node}' is ambiguous: give "
            "properties.host_cluster too."
        )
    _check_coe(owners[0])
    return Placement(owners[0].uuid, host_node)


def _check_coe(cluster: HostCluster) -> None:
    if cluster.coe != "swarm-mode":
        raise InvalidSpec(
            f"The host cluster '{cluster.name}' runs {cluster.coe}: containers are placed "
            "on swarm-mode clusters only."
        )
