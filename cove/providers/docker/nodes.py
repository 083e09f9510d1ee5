"""Node containers: make or adopt, find, start, remove, write files into.

A node's container name is deterministic (``NodeSpec.name``) and its labels say whose it is,
so a retried ``ensure_node`` finds what an earlier attempt made. Files from the spec are
written into the *created, not yet started* container, so the node's init never waits for its
configuration. Paths under ``/run`` and ``/var/lib/docker`` are tmpfs mounts in a running node:
files written there before start are hidden by the mount.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from cove.providers.base import (
    DEFAULT_PUBLISH_ADDRESS,
    LABEL_CLUSTER,
    LABEL_NODE,
    LABEL_NODEGROUP,
    LABEL_ROLE,
    NodeRecord,
    NodeSpec,
    ProviderConflict,
    ProviderError,
    ProviderUnavailable,
)
from cove.providers.docker import archives
from cove.providers.docker.capabilities import ModeDetector, NodeMode
from cove.providers.docker.errors import map_docker_errors
from cove.providers.docker.records import from_summary, node_record

log = logging.getLogger(__name__)

NAME_RESERVED_WAIT = 5.0


def node_labels(spec: NodeSpec) -> dict[str, str]:
    """The ownership labels a node container is born with."""
    return {
        LABEL_CLUSTER: spec.cluster_uuid,
        LABEL_NODEGROUP: spec.nodegroup_uuid,
        LABEL_NODE: spec.name,
        LABEL_ROLE: spec.role,
    }


def create_container(
    client: docker.DockerClient, spec: NodeSpec, mode: NodeMode, publish_address: str
) -> str:
    """Create (not start) the node container of ``spec``; its id. Call inside
    ``map_docker_errors``.

    The SDK's low-level API is used because a node's HostConfig needs fields the model
    layer cannot pass (see ``NodeMode.host_config_fields``).
    """
    api = client.api
    host_options: dict[str, Any] = {
        **mode.host_config_options(spec.storage_gb),
        "network_mode": spec.network,
        # Every published port listens on ``publish_address`` only (loopback by default).
        "port_bindings": {
            f"{port}/tcp": (publish_address, host or None) for port, host in spec.ports.items()
        },
    }
    if spec.dns:
        host_options["dns"] = list(spec.dns)
    if spec.cpus is not None:
        host_options["nano_cpus"] = round(spec.cpus * 1_000_000_000)
    if spec.memory_mb is not None:
        host_options["mem_limit"] = f"{spec.memory_mb}m"
    host_config = api.create_host_config(**host_options)
    host_config.update(mode.host_config_fields())
    created = api.create_container(
        spec.image,
        name=spec.name,
        hostname=spec.hostname,
        labels=node_labels(spec),
        environment=dict(spec.env),
        ports=[(port, "tcp") for port in spec.ports],
        host_config=host_config,
        # The hostname is also the node's name on the cluster network.
        networking_config=api.create_networking_config(
            {spec.network: api.create_endpoint_config(aliases=[spec.hostname, *spec.aliases])}
        ),
    )
    return str(created["Id"])


def find_container(client: docker.DockerClient, name: str) -> Container | None:
    """The container called ``name``, or ``None``. Call inside ``map_docker_errors``."""
    try:
        return client.containers.get(name)
    except docker.errors.NotFound:
        return None


def write_files(
    client: docker.DockerClient, container: str, files: Mapping[str, bytes], mode: int = 0o600
) -> None:
    """Unpack ``files`` at ``/`` in the container (id or name; running or not); the engine
    makes missing parent directories. Call inside ``map_docker_errors``.

    Raises:
        ProviderError: the engine did not accept the archive.
        ValueError: a path is not absolute.
    """
    if not files:
        return
    if not client.api.put_archive(container, "/", archives.build_tar(files, mode=mode)):
        raise ProviderError(f"could not write files into {container}")


def ensure_node(
    client: docker.DockerClient,
    spec: NodeSpec,
    detector: ModeDetector,
    publish_address: str = DEFAULT_PUBLISH_ADDRESS,
) -> NodeRecord:
    """Adopt the container called ``spec.name`` if it is the cluster's (starting it if it is
    stopped), else create it, write ``spec.files`` into it, and start it.

    A container that was created but never started (an earlier attempt stopped between create
    and start) gets the files again; one that has run keeps its files, which may have been
    replaced since (certificate rotation).

    Raises:
        ProviderConflict: the name is taken by a container that is not this cluster's.
        ProviderUnavailable: the engine could not be reached or failed (5xx).
        ProviderError: the engine refused (for instance the image is missing).
    """

    def create() -> str:
        mode = detector.detect(client, spec.image, spec.cluster_uuid)
        return create_container(client, spec, mode, publish_address)

    with map_docker_errors():
        return node_record(
            adopt_or_create(client, spec.name, spec.cluster_uuid, create, spec.files)
        )


def adopt_or_create(
    client: docker.DockerClient,
    name: str,
    cluster_uuid: str,
    create: Callable[[], str],
    files: Mapping[str, bytes],
    mode: int = 0o600,
) -> dict[str, Any]:
    """The running container ``name``'s inspection: made by ``create`` (which gives its id),
    given ``files`` before its first start, and started; or, when the name is taken (an
    earlier or a concurrent attempt), adopted if it is the cluster's (given the files if it
    never ran, started if stopped). Call inside ``map_docker_errors``.

    Create comes first: a new container then costs create, files, start and one inspection,
    and only a resumed attempt pays for the lookup."""
    try:
        container_id = create()
    except docker.errors.APIError as exc:
        if exc.status_code != 409:
            raise
        # The name is taken: an earlier attempt's container, or a concurrent one's.
        container = wait_for_name(client, name)
    except Exception:
        # Making it failed before the engine could say the name is taken (the node-mode
        # probe, say): a container an earlier attempt made is still adopted.
        found = find_container(client, name)
        if found is None:
            raise
        container = found
    else:
        log.info("created %s (cluster %s)", name, cluster_uuid)
        write_files(client, name, files, mode)
        client.api.start(container_id)
        return dict(client.api.inspect_container(container_id))
    check_owner(container, cluster_uuid)
    if not container.attrs["State"].get("Running"):
        if container.status == "created":
            write_files(client, name, files, mode)
        container.start()
        container.reload()
    return dict(container.attrs)


def wait_for_name(client: docker.DockerClient, name: str) -> Container:
    """The container whose create answered "name already in use". The engine reserves the
    name before the container can be looked up (measured: a lookup right after that 409 can
    answer 404), so look a few times before calling it temporary."""
    deadline = time.monotonic() + NAME_RESERVED_WAIT
    while True:
        container = find_container(client, name)
        if container is not None:
            return container
        if time.monotonic() > deadline:
            raise ProviderUnavailable(f"container name {name} is reserved but not yet visible")
        time.sleep(0.05)


def check_owner(container: Container, cluster_uuid: str) -> None:
    """Raises ProviderConflict unless the container is labelled with the cluster."""
    owner = container.labels.get(LABEL_CLUSTER)
    if owner != cluster_uuid:
        whose = f"cluster {owner}" if owner else "something other than cove"
        raise ProviderConflict(
            f"container {container.name} already exists and belongs to {whose}, "
            f"not to cluster {cluster_uuid}"
        )


def find_nodes(client: docker.DockerClient, cluster_uuid: str) -> list[NodeRecord]:
    """Every node container labelled with the cluster, running or not, by name.

    Raises:
        ProviderUnavailable: the engine could not be reached.
    """
    with map_docker_errors():
        containers = list_labelled(client, cluster_uuid, LABEL_NODE)
        return sorted((node_record(c) for c in containers), key=lambda r: r.name)


def list_labelled(
    client: docker.DockerClient, cluster_uuid: str, kind: str
) -> list[dict[str, Any]]:
    """The cluster's containers, running or not, that carry the label ``kind`` (nodes or
    service containers), in the inspection's shape (``records.from_summary``): one engine
    call, however many there are. Call inside ``map_docker_errors``."""
    listed = client.api.containers(
        all=True, filters={"label": [f"{LABEL_CLUSTER}={cluster_uuid}", kind]}
    )
    return [from_summary(summary) for summary in listed]


def start_node(client: docker.DockerClient, name: str) -> NodeRecord:
    """Start the node if it is stopped; its record.

    Raises:
        NodeNotFound: no container has that name.
        ProviderUnavailable: the engine could not be reached or failed (5xx).
    """
    with map_docker_errors():
        container = client.containers.get(name)
        if not container.attrs["State"].get("Running"):
            container.start()
            container.reload()
        return node_record(container.attrs)


def remove_container(client: docker.DockerClient, name_or_id: str) -> None:
    """Remove a container with its anonymous volumes; gone (or going) already is success.
    Call inside ``map_docker_errors``."""
    try:
        client.api.remove_container(name_or_id, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409 or "already in progress" not in str(exc.explanation):
            raise


def delete_node(client: docker.DockerClient, name: str) -> None:
    """Remove the node container and its volumes; succeeds when it is already gone.

    Raises:
        ProviderConflict: a container of that name exists but cove did not make it.
        ProviderUnavailable: the engine could not be reached or failed (5xx).
    """
    with map_docker_errors():
        container = find_container(client, name)
        if container is None:
            return
        if LABEL_CLUSTER not in container.labels:
            raise ProviderConflict(f"container {name} was not made by cove; not removing it")
        remove_container(client, container.id)
        log.info("removed node %s", name)


def put_files(
    client: docker.DockerClient, name: str, files: Mapping[str, bytes], mode: int = 0o600
) -> None:
    """Write files (absolute paths) into the node, creating parent directories.

    Raises:
        NodeNotFound: no container has that name.
        ProviderUnavailable: the engine could not be reached or failed (5xx).
        ProviderError: the engine refused the archive.
        ValueError: a path is not absolute.
    """
    with map_docker_errors():
        write_files(client, name, files, mode)
