"""``DockerProvider``: cove's nodes as docker-in-docker containers on one Docker engine.

It holds the SDK client (made on first use, so constructing a provider never touches the
engine) and the node mode detected once per instance (see ``capabilities``). The work is done
by the modules beside it; each public method documents what it raises, and every SDK error
leaves as one of cove's provider errors (see ``errors``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import docker
import docker.errors

from cove.providers import engine_address
from cove.providers.base import (
    DEFAULT_PUBLISH_ADDRESS,
    LABEL_CLUSTER,
    ExecResult,
    NetworkSpec,
    NodeRecord,
    NodeSpec,
    NodeStats,
    ServiceRecord,
    ServiceSpec,
)
from cove.providers.docker import execs, networks, nodes, services, stats
from cove.providers.docker.capabilities import ModeDetector, NodeMode
from cove.providers.docker.errors import map_docker_errors

log = logging.getLogger(__name__)


class DockerProvider:
    """Nodes, networks and volumes on a Docker engine.

    Args:
        client: an SDK client to use (tests, or a caller that configured TLS itself).
        base_url: the engine's address, ``Settings.docker_host``
            (``unix:///var/run/docker.sock``, ``tcp://host:2375``); when neither is given, the
            address the service set at start-up (``engine_address.use_by_default``), else the
            local socket. Never ``DOCKER_HOST``: see ``cove.providers.engine_address``.
    """

    name = "docker"
    reaches_nodes = True  # the cluster networks are bridges of this machine

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        base_url: str | None = None,
        publish_address: str = DEFAULT_PUBLISH_ADDRESS,
    ) -> None:
        if client is not None and base_url is not None:
            raise ValueError("give a client or a base_url, not both")
        self._client = client
        self._base_url = base_url or engine_address.DEFAULT_DOCKER_HOST
        self._client_lock = threading.Lock()
        self._detector = ModeDetector()
        self._stats = stats.StatsReader()
        # Every node and service port is published on this host address only.
        self.publish_address = publish_address

    @property
    def client(self) -> docker.DockerClient:
        """The SDK client, made on first use.

        Raises:
            ProviderUnavailable: the engine could not be reached (to negotiate its version).
        """
        with self._client_lock:
            if self._client is None:
                with map_docker_errors():
                    # Not docker.from_env(): the caller's DOCKER_HOST may be a cluster's.
                    self._client = docker.DockerClient(base_url=self._base_url)
            return self._client

    @property
    def node_mode(self) -> NodeMode | None:
        """How node containers run, once the first ``ensure_node`` that created one detected
        it (``None`` before)."""
        return self._detector.mode

    def prepare(self, image: str) -> None:
        """Detect the node mode now with ``image`` (a conductor's start), so that the first
        create does not wait for the probe; nothing when the image is not on the engine (the
        first create probes with its own).

        Raises:
            ProviderUnavailable: the engine could not be reached.
        """
        with map_docker_errors():
            try:
                self.client.images.get(image)
            except docker.errors.ImageNotFound:
                return
        self._detector.detect(self.client, image, None)

    def close(self) -> None:
        """Close the SDK client's connections."""
        if self._client is not None:
            self._client.close()

    def ensure_network(self, spec: NetworkSpec) -> str:
        """Find the cluster's network by label or make it; its name. ``spec.existing`` is
        checked and returned as it is (and never deleted).

        Raises:
            ProviderError: ``spec.existing`` does not exist, or the engine refused.
            ProviderConflict: the name is taken by a network that is not the cluster's.
            ProviderUnavailable: the engine could not be reached.
        """
        return networks.ensure_network(self.client, spec)

    def ensure_node(self, spec: NodeSpec) -> NodeRecord:
        """Adopt the node by name if its labels say it is the cluster's (starting it if
        stopped), or create it, write ``spec.files`` before its first start, and start it.

        Raises:
            ProviderConflict: the name is taken by a container that is not the cluster's.
            ProviderUnavailable: the engine could not be reached or failed (5xx).
            ProviderError: anything else the engine refused (e.g. the image is missing).
        """
        return nodes.ensure_node(self.client, spec, self._detector, self.publish_address)

    def find_nodes(self, cluster_uuid: str) -> list[NodeRecord]:
        """Every node labelled with the cluster, running or not, sorted by name.

        Raises:
            ProviderUnavailable: the engine could not be reached.
        """
        return nodes.find_nodes(self.client, cluster_uuid)

    def start_node(self, name: str) -> NodeRecord:
        """Start the node if it is stopped; its record.

        Raises:
            NodeNotFound: there is no such node.
            ProviderUnavailable: the engine could not be reached or failed (5xx).
        """
        return nodes.start_node(self.client, name)

    def delete_node(self, name: str) -> None:
        """Remove the node and its volumes; succeeds when it is already gone.

        Raises:
            ProviderConflict: a container of that name exists but cove did not make it.
            ProviderUnavailable: the engine could not be reached or failed (5xx).
        """
        nodes.delete_node(self.client, name)

    def ensure_service(self, spec: ServiceSpec) -> ServiceRecord:
        """Adopt the service container by name if it is the cluster's (starting it if
        stopped), or create it with its volumes, write ``spec.files``, and start it.

        Raises:
            ProviderConflict: the name is taken by a container that is not the cluster's.
            ProviderUnavailable: the engine could not be reached or failed (5xx).
            ProviderError: anything else the engine refused (e.g. the image is missing).
        """
        return services.ensure_service(self.client, spec, self.publish_address)

    def find_services(self, cluster_uuid: str) -> list[ServiceRecord]:
        """Every service container labelled with the cluster, running or not, by name.

        Raises:
            ProviderUnavailable: the engine could not be reached.
        """
        return services.find_services(self.client, cluster_uuid)

    def delete_service(self, name: str) -> None:
        """Remove the service container; succeeds when it is already gone.

        Raises:
            ProviderConflict: a container of that name exists but is not a cove service's.
            ProviderUnavailable: the engine could not be reached or failed (5xx).
        """
        services.delete_service(self.client, name)

    def delete_cluster(self, cluster_uuid: str) -> None:
        """Remove every container, then network, then volume labelled with the cluster.
        Found by server-side label filters; what is already gone is success; a network cove
        did not make (a template's ``fixed_network``) carries no label and is never touched.

        Raises:
            ProviderUnavailable: the engine could not be reached or failed (5xx).
            ProviderError: the engine refused a removal.
        """
        client = self.client
        selector = {"label": f"{LABEL_CLUSTER}={cluster_uuid}"}
        with map_docker_errors(), ThreadPoolExecutor(max_workers=8) as pool:
            # The networks and volumes are listed while the containers go.
            listed = pool.submit(networks.find_cluster_networks, client, cluster_uuid)
            volumes = pool.submit(client.volumes.list, filters=selector)
            found = client.containers.list(all=True, filters=selector, sparse=True)
            # In parallel, as `docker rm -f a b c` does: each engine stops inside its node
            # on its own, and one at a time the cluster's delete took their sum.
            list(pool.map(lambda c: nodes.remove_container(client, c.id), found))
            for network in listed.result():
                networks.remove_network(network)
            for volume in volumes.result():
                with contextlib.suppress(docker.errors.NotFound):
                    volume.remove(force=True)
        log.info("deleted everything labelled with cluster %s", cluster_uuid)

    def cluster_uuids(self) -> set[str]:
        """Every cluster uuid that labels a container, network or volume (``cove.cluster``),
        found by server-side label filters.

        Raises:
            ProviderUnavailable: the engine could not be reached or failed (5xx).
        """
        client = self.client
        selector: dict[str, str | list[str] | bool] = {"label": LABEL_CLUSTER}
        with map_docker_errors():
            found = [
                *client.containers.list(all=True, filters=selector, sparse=True),
                *client.networks.list(filters=selector),
                *client.volumes.list(filters=selector),
            ]
        # Sparse containers, listed networks and volumes all carry "Labels" at the top.
        owners = ((item.attrs.get("Labels") or {}).get(LABEL_CLUSTER) for item in found)
        return {owner for owner in owners if owner}

    def exec(self, name: str, argv: Sequence[str], *, stdin: bytes | None = None) -> ExecResult:
        """Run a command inside the node; its exit code and merged output.

        Raises:
            NodeNotFound: there is no such node.
            NodeNotRunning: the node is not running.
            ProviderUnavailable: the engine could not be reached or failed (5xx).
            ProviderError: stdin given over a TLS or SSH engine connection, or a refusal.
        """
        return execs.run(self.client, name, argv, stdin)

    def put_files(self, name: str, files: Mapping[str, bytes], *, mode: int = 0o600) -> None:
        """Write files (absolute paths) into the node, creating parent directories.

        Raises:
            NodeNotFound: there is no such node.
            ProviderUnavailable: the engine could not be reached or failed (5xx).
            ProviderError: the engine refused the archive.
            ValueError: a path is not absolute.
        """
        nodes.put_files(self.client, name, files, mode)

    def node_stats(self, names: Sequence[str]) -> dict[str, NodeStats]:
        """One-shot stats of each running node of ``names``, asked in parallel; absent or
        stopped nodes are left out.

        Raises:
            ProviderUnavailable: the engine could not be reached.
        """
        return self._stats.sample(self.client, names)

    def image_archive(self, ref: str) -> Iterator[bytes] | None:
        """``docker save ref`` from this engine as a stream, or ``None`` if it lacks it.

        Raises:
            ProviderUnavailable: the engine could not be reached (also while streaming).
        """
        return stats.image_archive(self.client, ref)
