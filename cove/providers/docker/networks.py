"""Cluster networks: find by label or make, and remove only what cove made.

A cluster's own network carries the ``cove.cluster`` label from birth, and it is found again
by that label (a server-side filter), never by name. A template's ``fixed_network`` is used
as it is: it is checked to exist, never labelled, never deleted.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

import docker
import docker.errors
from docker.models.networks import Network
from docker.types import IPAMConfig, IPAMPool

from cove.providers.base import (
    LABEL_CLUSTER,
    NetworkSpec,
    ProviderConflict,
    ProviderError,
)
from cove.providers.docker.errors import map_docker_errors

log = logging.getLogger(__name__)

_CREATED = re.compile(r"^([^.]*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")
# Serialises look-up-then-create within this process (the engine does not; see _keep_oldest).
_create_lock = threading.Lock()


def default_network_name(cluster_uuid: str) -> str:
    """``cove-<first 8 characters of the uuid>-net``."""
    return f"cove-{cluster_uuid.replace('-', '')[:8]}-net"


def created_key(attrs: Mapping[str, Any]) -> tuple[str, str, str]:
    """Sort key: creation time, then id. The engine trims trailing zeros of the fraction
    (``...31.21387Z``), so the fraction is padded before comparing."""
    created = str(attrs.get("Created", ""))
    match = _CREATED.match(created)
    if match is None:
        return (created, "", str(attrs.get("Id", "")))
    seconds, fraction, zone = match.groups()
    return (f"{seconds}{zone}", (fraction or "").ljust(9, "0"), str(attrs.get("Id", "")))


def find_cluster_networks(client: docker.DockerClient, cluster_uuid: str) -> list[Network]:
    """Networks labelled with the cluster, oldest first."""
    networks = client.networks.list(filters={"label": f"{LABEL_CLUSTER}={cluster_uuid}"})
    return sorted(networks, key=lambda net: created_key(net.attrs))


def _keep_oldest(networks: list[Network]) -> Network:
    """Concurrent creates can make several networks of one name (the engine's duplicate check
    is best effort: measured, six threads made six). Every racer keeps the oldest and removes
    the rest, so all of them return the same network and its name is unambiguous again."""
    oldest, *extra = networks
    for network in extra:
        log.warning("removing duplicate network %s (%s)", network.name, network.id)
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
    return oldest


def ensure_network(client: docker.DockerClient, spec: NetworkSpec) -> str:
    """The cluster's network name: ``spec.existing`` if given (after checking it exists), the
    network labelled with the cluster if there is one, else a new bridge network named
    ``spec.name`` (``cove-<short uuid>-net`` when empty).

    Raises:
        ProviderError: ``spec.existing`` does not exist, or the engine refused.
        ProviderConflict: the name is taken by a network that is not the cluster's.
        ProviderUnavailable: the engine could not be reached.
    """
    with map_docker_errors():
        if spec.existing:
            try:
                return _name(client.networks.get(spec.existing))
            except docker.errors.NotFound as exc:
                raise ProviderError(f"network {spec.existing} does not exist") from exc
        with _create_lock:
            found = find_cluster_networks(client, spec.cluster_uuid)
            if found:
                return _name(_keep_oldest(found))
            return _create(client, spec)


def _create(client: docker.DockerClient, spec: NetworkSpec) -> str:
    name = spec.name or default_network_name(spec.cluster_uuid)
    ipam = None
    if spec.subnet:
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=spec.subnet)])
    try:
        network = client.networks.create(
            name,
            driver="bridge",
            attachable=True,
            check_duplicate=True,
            labels={LABEL_CLUSTER: spec.cluster_uuid},
            ipam=ipam,
        )
    except docker.errors.APIError as exc:
        if exc.status_code != 409:
            raise
        # A concurrent attempt made it, or the name belongs to someone else.
        return _adopt(client.networks.get(name), spec.cluster_uuid, exc)
    log.info("created network %s for cluster %s", network.name, spec.cluster_uuid)
    return _name(_keep_oldest(find_cluster_networks(client, spec.cluster_uuid)))


def _adopt(network: Network, cluster_uuid: str, cause: Exception) -> str:
    labels: Mapping[str, str] = network.attrs.get("Labels") or {}
    if labels.get(LABEL_CLUSTER) != cluster_uuid:
        raise ProviderConflict(
            f"network {network.name} exists and does not belong to cluster {cluster_uuid}"
        ) from cause
    return _name(network)


def _name(network: Network) -> str:
    """A listed or fetched network always has a name (the SDK types it optional)."""
    return str(network.name)


def remove_network(network: Network) -> None:
    """Remove a network of ours, first disconnecting containers that are still attached
    (they are not the cluster's: its containers are gone by now). Gone already is success."""
    try:
        network.remove()
        return
    except docker.errors.NotFound:
        return
    except docker.errors.APIError as exc:
        if "active endpoints" not in str(exc.explanation):
            raise
    network.reload()
    containers: Mapping[str, Any] = network.attrs.get("Containers") or {}
    for container_id in containers:
        log.warning("disconnecting %s from %s before removing it", container_id, network.name)
        with contextlib.suppress(docker.errors.NotFound):
            network.disconnect(container_id, force=True)
    with contextlib.suppress(docker.errors.NotFound):
        network.remove()
