"""Connections to the Docker engines of a cluster's nodes, at their addresses on the cluster
network (which the host reaches on a Linux bridge), over the cluster's TLS with a client
certificate cove issues itself from the cluster CA, or plain TCP with ``tls_disabled``.

The client key never touches a file that outlives the call that loads it: it is written into
a private temporary directory, loaded into an ``ssl.SSLContext`` and removed at once. A node's
server certificate names the node (``engine.tls_files``), so the connection checks that name,
not the address. Errors leave as ``cove.failures``: transport failures and 5xx answers
Temporary, refusals Permanent; messages name the node, never key material.

``NodeEngines`` keeps one client per node and address, and streams an image a node lacks
from the provider's engine (``docker save`` there, ``load`` in the node), once per node and
image however many callers need it at once; nothing is pulled. The container host and the
app host of a cluster share one.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.adapters
import requests.exceptions

from cove.drivers.base import ClusterSpec
from cove.drivers.swarm_mode import engine
from cove.failures import Permanent, Temporary
from cove.pki import ca as pki
from cove.providers.base import NodeRecord, Provider

log = logging.getLogger(__name__)

API_VERSION = "1.41"  # Engine 20.10, the node image's; fixed, so no negotiation round trip
TIMEOUT = 30.0
CLIENT_NAME = "cove-clustering"


class EngineUnavailable(Temporary):
    """A node's engine did not answer, timed out or failed (5xx)."""


class EngineRefused(Permanent):
    """A node's engine, or cove on its behalf, refused; the message says why."""


def client_context(cluster: ClusterSpec) -> ssl.SSLContext:
    """Trusts only the cluster CA; presents a fresh client certificate signed by it."""
    context = ssl.create_default_context(cadata=cluster.ca_cert_pem)
    client = pki.issue(pki.KeyPair(cluster.ca_cert_pem, cluster.ca_key_pem), CLIENT_NAME)
    with tempfile.TemporaryDirectory(prefix="cove-tls-") as tmp:  # 0700, removed on exit
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        for path, text in ((cert, client.cert_pem), (key, client.key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
        context.load_cert_chain(cert, key)
    return context


class NodeTLSAdapter(requests.adapters.HTTPAdapter):
    """HTTPS with a given context, checking the node's name in its certificate; requests'
    own CA bundle and client-certificate files are never consulted."""

    def __init__(self, context: ssl.SSLContext, server_name: str) -> None:
        self._context = context
        self._server_name = server_name
        super().__init__(pool_connections=1, pool_maxsize=8)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(ssl_context=self._context, server_hostname=self._server_name)
        super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        return None  # the context decides

    def get_connection_with_tls_context(
        self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        return self.poolmanager.connection_from_url(request.url)


def connect(
    cluster: ClusterSpec,
    name: str,
    address: str,
    context: ssl.SSLContext | None,
    timeout: float = TIMEOUT,
) -> docker.APIClient:
    """A client of node ``name``'s engine at ``address`` (no call is made)."""
    port = engine.api_port(cluster)
    scheme = "http" if context is None else "https"
    client = docker.APIClient(
        base_url=f"{scheme}://{address}:{port}", version=API_VERSION, timeout=timeout
    )
    client.trust_env = False  # a proxy in the environment must not see the cluster network
    if context is not None:
        client.mount("https://", NodeTLSAdapter(context, name))
    return client


def describe(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return str(exc.explanation)
    return type(exc).__name__


@contextmanager
def engine_errors(node: str, doing: str) -> Iterator[None]:
    """Re-raise what a node's engine call raised as cove's failures, naming the node and
    what was being done. 404 and 409 are left to the caller when it catches them first."""
    try:
        yield
    except docker.errors.APIError as exc:
        if exc.is_server_error():
            raise EngineUnavailable(f"node {node}: {doing}: {describe(exc)}") from exc
        raise EngineRefused(f"node {node}: {doing}: {describe(exc)}") from exc
    except (requests.exceptions.RequestException, ConnectionError, TimeoutError) as exc:
        raise EngineUnavailable(
            f"node {node}: {doing}: its engine does not answer ({describe(exc)})"
        ) from exc
    except docker.errors.DockerException as exc:
        raise EngineRefused(f"node {node}: {doing}: {describe(exc)}") from exc


class NodeEngines:
    """Clients of one cluster's node engines (per node and address) and the images streamed
    to them. The cluster's CA and TLS setting must not change for the object's life (the
    driver keeps one per cluster and CA)."""

    def __init__(
        self,
        provider: Provider,
        cluster: ClusterSpec,
        timeout: float = TIMEOUT,
        context: ssl.SSLContext | None = None,
    ) -> None:
        """``context``: a ``client_context`` of this cluster's CA made before (else made
        at the first connection)."""
        self.provider = provider
        self.cluster = cluster
        self.timeout = timeout
        self._lock = threading.Lock()
        self._context = context
        self._clients: dict[tuple[str, str], docker.APIClient] = {}
        self._image_locks: dict[tuple[str, str], threading.Lock] = {}

    def client(self, record: NodeRecord) -> docker.APIClient:
        """A client of the node's engine (no call is made); Temporary when it is not running."""
        if not (record.running and record.address):
            raise EngineUnavailable(f"node {record.name} is not running")
        key = (record.name, record.address)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                if self._context is None and not self.cluster.template.get("tls_disabled"):
                    self._context = client_context(self.cluster)
                client = connect(
                    self.cluster, record.name, record.address, self._context, self.timeout
                )
                self._clients[key] = client
            return client

    def ensure_image(self, api: docker.APIClient, node: str, image: str) -> None:
        """``image`` on the node's engine: streamed from the provider's engine when missing,
        one transfer per node and image (concurrent callers wait for it)."""
        if self.has_image(api, node, image):
            return
        with self._lock:
            lock = self._image_locks.setdefault((node, image), threading.Lock())
        with lock:
            if self.has_image(api, node, image):
                return
            archive = self.provider.image_archive(image)
            if archive is None:
                raise EngineRefused(
                    f"image {image} is not available on node {node} nor on the host engine"
                )
            with engine_errors(node, f"loading image {image}"):
                for message in api.load_image(archive):
                    if isinstance(message, dict) and message.get("error"):
                        raise EngineRefused(
                            f"node {node}: loading image {image}: {message['error']}"
                        )
            if not self.has_image(api, node, image):
                raise EngineRefused(f"node {node}: image {image} was loaded but is not there")
            log.info("image %s streamed from the host engine to %s", image, node)

    @staticmethod
    def has_image(api: docker.APIClient, node: str, image: str) -> bool:
        with engine_errors(node, f"looking up image {image}"):
            try:
                api.inspect_image(image)
                return True
            except docker.errors.ImageNotFound:
                return False

    def close(self) -> None:
        """Close the clients (a later call connects again)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
