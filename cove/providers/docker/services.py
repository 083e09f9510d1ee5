"""Service containers: a cluster's load balancer or registry, one program each from the node
image, made or adopted by name like nodes, but plain containers (no docker-in-docker options)
that the engine restarts when they exit. Their volumes carry the cluster's label, so deleting
the cluster removes them too.
"""

from __future__ import annotations

import logging
from typing import Any

import docker
import docker.errors

from cove.providers.base import (
    DEFAULT_PUBLISH_ADDRESS,
    LABEL_CLUSTER,
    LABEL_SERVICE,
    ProviderConflict,
    ServiceRecord,
    ServiceSpec,
)
from cove.providers.docker.errors import map_docker_errors
from cove.providers.docker.nodes import (
    adopt_or_create,
    find_container,
    list_labelled,
    remove_container,
)
from cove.providers.docker.records import service_record

log = logging.getLogger(__name__)


def service_labels(spec: ServiceSpec) -> dict[str, str]:
    return {**spec.labels, LABEL_CLUSTER: spec.cluster_uuid, LABEL_SERVICE: spec.kind}


def _create(client: docker.DockerClient, spec: ServiceSpec, publish_address: str) -> str:
    api = client.api
    for volume in spec.volumes:
        # Creating a volume that exists returns it: a retry adopts its own volume.
        client.volumes.create(volume, labels=service_labels(spec))
    host_config = api.create_host_config(
        network_mode=spec.network,
        port_bindings={
            f"{port}/tcp": _binding(spec.host_ip or publish_address, host)
            for port, host in spec.ports.items()
        },
        binds={volume: {"bind": path, "mode": "rw"} for volume, path in spec.volumes.items()},
        restart_policy={"Name": "unless-stopped"},
        init=True,
    )
    created = api.create_container(
        spec.image,
        name=spec.name,
        entrypoint=list(spec.command),
        labels=service_labels(spec),
        ports=[(port, "tcp") for port in spec.ports],
        host_config=host_config,
        networking_config=api.create_networking_config(
            {spec.network: api.create_endpoint_config(aliases=[spec.name, *spec.aliases])}
        ),
    )
    return str(created["Id"])


def _binding(address: str, host_port: int) -> Any:
    """docker-py's form of one port binding; an empty host port lets the engine choose."""
    port = str(host_port) if host_port else ""
    return (address, port)


def ensure_service(
    client: docker.DockerClient, spec: ServiceSpec, publish_address: str = DEFAULT_PUBLISH_ADDRESS
) -> ServiceRecord:
    """Adopt the container called ``spec.name`` if it is the cluster's (starting it if it is
    stopped), else create it with its volumes, write ``spec.files`` into it, and start it.

    Raises:
        ProviderConflict: the name is taken by a container that is not this cluster's.
        ProviderUnavailable: the engine could not be reached or failed (5xx).
        ProviderError: the engine refused (for instance the image is missing).
    """
    with map_docker_errors():
        attrs = adopt_or_create(
            client,
            spec.name,
            spec.cluster_uuid,
            lambda: _create(client, spec, publish_address),
            spec.files,
            0o644,
        )
        return service_record(attrs)


def find_services(client: docker.DockerClient, cluster_uuid: str) -> list[ServiceRecord]:
    """Every service container labelled with the cluster, running or not, by name.

    Raises:
        ProviderUnavailable: the engine could not be reached.
    """
    with map_docker_errors():
        containers = list_labelled(client, cluster_uuid, LABEL_SERVICE)
        return sorted((service_record(c) for c in containers), key=lambda r: r.name)


def delete_service(client: docker.DockerClient, name: str) -> None:
    """Remove the service container and its anonymous volumes (its named volumes go with
    the cluster); succeeds when it is already gone.

    Raises:
        ProviderConflict: a container of that name exists but is not a cove service's.
        ProviderUnavailable: the engine could not be reached or failed (5xx).
    """
    with map_docker_errors():
        container = find_container(client, name)
        if container is None:
            return
        if LABEL_CLUSTER not in container.labels or LABEL_SERVICE not in container.labels:
            raise ProviderConflict(f"container {name} is not a cove service; not removing it")
        remove_container(client, container.id)
        log.info("removed service container %s", name)
