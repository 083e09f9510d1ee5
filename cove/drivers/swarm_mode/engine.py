"""The Docker engine inside a node: its daemon.json and TLS material, rendered from the
cluster's template and CA. Every node serves the engine API on TCP (TLS signed by the cluster
CA unless ``tls_disabled``): the managers' is the cluster's API (published on the host), and
cove reaches every node's engine on the cluster network to place containers on it
(``containers``); a worker's port is not published."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cove import errors
from cove.drivers.base import ClusterSpec, NodeGroupSpec
from cove.pki import ca as pki

# A node's engine keeps its storage on tmpfs: these are the drivers that work there.
STORAGE_DRIVERS = ("overlay2", "vfs")
# Magnum's clients and templates name these; a node serves them as overlay2.
STORAGE_DRIVERS_SERVED_AS_OVERLAY2 = ("devicemapper", "overlay")

API_PORT_TLS = 2376
API_PORT_PLAIN = 2375
TLS_DIR = "/etc/cove/tls"


def api_port(cluster: ClusterSpec) -> int:
    return API_PORT_PLAIN if cluster.template.get("tls_disabled") else API_PORT_TLS


def proxy_env(template: Mapping[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for field, names in (
        ("http_proxy", ("HTTP_PROXY", "http_proxy")),
        ("https_proxy", ("HTTPS_PROXY", "https_proxy")),
        ("no_proxy", ("NO_PROXY", "no_proxy")),
    ):
        if template.get(field):
            env.update({name: str(template[field]) for name in names})
    return env


def dns_servers(template: Mapping[str, Any]) -> list[str]:
    value = template.get("dns_nameserver") or ""
    return [item.strip() for item in str(value).split(",") if item.strip()]


def storage_driver(template: Mapping[str, Any]) -> str:
    wanted = template.get("docker_storage_driver")
    return str(wanted) if wanted in STORAGE_DRIVERS else "overlay2"


def check_template(template: Mapping[str, Any]) -> list[str]:
    """What a template asks of the engine in a node: refuse what cannot work there."""
    wanted = template.get("docker_storage_driver")
    if wanted in STORAGE_DRIVERS_SERVED_AS_OVERLAY2:
        return [
            f"docker_storage_driver {wanted} is served as overlay2: nodes keep their "
            "engine's storage on tmpfs"
        ]
    if wanted and wanted not in STORAGE_DRIVERS:
        raise errors.InvalidField(
            "docker_storage_driver",
            wanted,
            "Nodes of the swarm-mode-debian driver keep their engine's storage on tmpfs, "
            "where only these work (devicemapper and overlay are served as overlay2).",
            STORAGE_DRIVERS,
        )
    return []


def daemon_config(cluster: ClusterSpec, group: NodeGroupSpec, name: str) -> dict[str, Any]:
    template = cluster.template
    config: dict[str, Any] = {
        "hosts": ["unix:///var/run/docker.sock"],
        # Each inner engine needs its own cgroup parent: a shared one collides.
        "cgroup-parent": f"/{name}",
        "storage-driver": storage_driver(template),
        "labels": [f"cove.nodegroup={group.name}", f"cove.role={group.role}"],
    }
    dns = dns_servers(template)
    if dns:
        config["dns"] = dns
    if template.get("insecure_registry"):
        config["insecure-registries"] = [template["insecure_registry"]]
    if template.get("tls_disabled"):
        config["hosts"].append(f"tcp://0.0.0.0:{API_PORT_PLAIN}")
        # Said explicitly, or dockerd 20.10 waits 15 s before listening without TLS.
        config["tls"] = False
    else:
        config["hosts"].append(f"tcp://0.0.0.0:{API_PORT_TLS}")
        config.update(
            {
                "tlsverify": True,
                "tlscacert": f"{TLS_DIR}/ca.pem",
                "tlscert": f"{TLS_DIR}/server.pem",
                "tlskey": f"{TLS_DIR}/server-key.pem",
            }
        )
    return config


def node_files(cluster: ClusterSpec, group: NodeGroupSpec, name: str) -> dict[str, bytes]:
    files = {
        "/etc/docker/daemon.json": json.dumps(
            daemon_config(cluster, group, name), indent=2
        ).encode()
    }
    if not cluster.template.get("tls_disabled"):
        files.update(tls_files(cluster, name))
    return files


def tls_files(cluster: ClusterSpec, name: str) -> dict[str, bytes]:
    """A server certificate for a node, valid for the names clients use to reach it."""
    authority = pki.KeyPair(cluster.ca_cert_pem, cluster.ca_key_pem)
    server = pki.issue(authority, name, server_names=[name, "localhost", "127.0.0.1"], client=False)
    return {
        f"{TLS_DIR}/ca.pem": cluster.ca_cert_pem.encode(),
        f"{TLS_DIR}/server.pem": server.cert_pem.encode(),
        f"{TLS_DIR}/server-key.pem": server.key_pem.encode(),
    }
