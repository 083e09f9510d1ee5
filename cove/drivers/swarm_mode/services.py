"""A swarm cluster's service containers, run from the node image beside its nodes:

- the master load balancer (``master_lb_enabled``): haproxy passing TCP through to the
  managers' engine API, so TLS stays end to end between client and engine (each manager's
  certificate names 127.0.0.1, the address clients use). It finds the managers by the alias
  they share on the cluster network, through the network's DNS, so managers replaced by an
  upgrade or healing need no reconfiguration and a stopped one drops out within a second;
- the registry (``registry_enabled``): Docker's distribution registry with its storage on a
  volume of the cluster. It is published on the host at 127.0.0.1 for pushing, and every node
  reaches it as ``localhost:5000`` (as in Magnum) through a forwarder its init starts.
"""

from __future__ import annotations

from cove.drivers.base import ClusterSpec
from cove.drivers.swarm_mode import engine
from cove.drivers.swarm_mode.image import REGISTRY_PROXY_CONFIG as REGISTRY_PROXY_CONFIG
from cove.providers.base import ServiceSpec

LB_CONFIG = "/etc/cove/lb.cfg"
REGISTRY_CONFIG = "/etc/cove/registry.yml"
REGISTRY_PORT = 5000
REGISTRY_STORAGE = "/var/lib/docker-registry"
# More than master_count can reach (5) plus the one a surge upgrade adds.
LB_SLOTS = 9

# The network's DNS (Docker's embedded server), asked again every second.
_RESOLVERS = """\
resolvers cluster
    nameserver embedded 127.0.0.11:53
    hold valid 1s
    hold nx 1s
    hold obsolete 1s
    timeout resolve 1s
    timeout retry 1s
"""

_DEFAULTS = """\
defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    retries 3
    option redispatch
"""


def lb_name(cluster: ClusterSpec) -> str:
    return f"cove-{cluster.uuid[:8]}-lb"


def registry_name(cluster: ClusterSpec) -> str:
    return f"cove-{cluster.uuid[:8]}-registry"


def managers_alias(cluster: ClusterSpec) -> str:
    """The name every manager of the cluster answers to on the cluster network."""
    return f"cove-managers-{cluster.uuid}"


def registry_alias(cluster: ClusterSpec) -> str:
    return f"cove-registry-{cluster.uuid}"


def lb_wanted(cluster: ClusterSpec) -> bool:
    return bool(cluster.master_lb_enabled)


def registry_wanted(cluster: ClusterSpec) -> bool:
    return bool(cluster.template.get("registry_enabled"))


def lb_config(cluster: ClusterSpec) -> str:
    port = engine.api_port(cluster)
    return (
        _RESOLVERS
        + _DEFAULTS
        + f"""
frontend engine
    bind :{port}
    default_backend managers

backend managers
    balance roundrobin
    default-server check inter 1s fall 1 rise 1 resolvers cluster resolve-prefer ipv4 init-addr none
    server-template manager {LB_SLOTS} {managers_alias(cluster)}:{port}
"""
    )


def registry_proxy_config(cluster: ClusterSpec) -> str:
    """The forwarder inside each node: localhost:5000 to the cluster's registry."""
    return (
        _RESOLVERS
        + _DEFAULTS
        + f"""
frontend registry
    bind 127.0.0.1:{REGISTRY_PORT}
    default_backend registry

backend registry
    default-server resolvers cluster resolve-prefer ipv4 init-addr last,libc,none
    server registry {registry_alias(cluster)}:{REGISTRY_PORT}
"""
    )


def registry_config() -> str:
    return f"""\
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {REGISTRY_STORAGE}
  delete:
    enabled: true
http:
  addr: :{REGISTRY_PORT}
"""


def lb_spec(cluster: ClusterSpec, image: str, network: str) -> ServiceSpec:
    return ServiceSpec(
        name=lb_name(cluster),
        cluster_uuid=cluster.uuid,
        kind="lb",
        image=image,
        network=network,
        command=("haproxy", "-W", "-db", "-f", LB_CONFIG),
        ports={engine.api_port(cluster): 0},
        files={LB_CONFIG: lb_config(cluster).encode()},
    )


def registry_spec(cluster: ClusterSpec, image: str, network: str) -> ServiceSpec:
    name = registry_name(cluster)
    return ServiceSpec(
        name=name,
        cluster_uuid=cluster.uuid,
        kind="registry",
        image=image,
        network=network,
        command=("docker-registry", "serve", REGISTRY_CONFIG),
        aliases=(registry_alias(cluster),),
        ports={REGISTRY_PORT: 0},
        # Unauthenticated, like Magnum's: pushing is for this machine only.
        host_ip="127.0.0.1",
        files={REGISTRY_CONFIG: registry_config().encode()},
        volumes={f"{name}-data": REGISTRY_STORAGE},
    )


def wanted(cluster: ClusterSpec) -> list[tuple[str, str]]:
    """(container name, what it is) of each service container the cluster should have."""
    found = []
    if lb_wanted(cluster):
        found.append((lb_name(cluster), "load balancer"))
    if registry_wanted(cluster):
        found.append((registry_name(cluster), "registry"))
    return found
