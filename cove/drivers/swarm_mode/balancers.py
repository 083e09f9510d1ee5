"""A container cluster's balancer on a swarm-mode host cluster: an haproxy container run from
the node image by the host engine on the host cluster's network (so it reaches every node's
published ports), like the managers' balancer (``services``), through the provider's
``ensure_service``. It carries the host cluster's ownership labels, so deleting the host
cluster removes it, and the spec's labels (its container cluster).

Its listening port is published on the provider's publish address at a port the engine
picks. A changed spec rewrites the configuration and reloads haproxy in place (master-worker
``-W``, SIGUSR2 to the master): new workers take new connections, old ones finish the
connections they carry; the container is never restarted for a change of members. Only a
change of the listening port, which is fixed when the container is made, recreates it.
"""

from __future__ import annotations

import ipaddress
import logging
import threading

from cove.drivers import balancerconfig
from cove.drivers.base import ClusterSpec
from cove.drivers.containerhost import BalancerRecord, BalancerSpec
from cove.drivers.fleet import Fleet
from cove.drivers.swarm_mode.nodeengines import EngineRefused, EngineUnavailable
from cove.providers.base import Provider, ServiceRecord, ServiceSpec

log = logging.getLogger(__name__)

KIND = "balancer"  # its cove.service label
CONFIG = "/etc/cove/balancer.cfg"
_PENDING = CONFIG + ".new"

# Shell run in the balancer container. haproxy's master runs under the container's init, so
# its pid comes from the pidfile; its workers are its children. A worker exists once the
# master has bound the listening port (it binds before forking), so connections queue there
# instead of being reset by the engine's port proxy.
_MASTER = f"""
set -e
n=0
while [ ! -s {balancerconfig.PIDFILE} ]; do
    n=$((n + 1)); [ $n -gt 200 ] && {{ echo "haproxy wrote no pidfile"; exit 4; }}; sleep 0.05
done
master=$(cat {balancerconfig.PIDFILE})
workers() {{
    for stat in /proc/[0-9]*/stat; do
        read -r pid comm state ppid rest < "$stat" 2>/dev/null || continue
        [ "$ppid" = "$master" ] && echo "$pid"
    done
    return 0
}}
"""

# Wait until a worker serves, then print the configuration it was started with.
_SERVING = (
    _MASTER
    + f"""
n=0
until [ -n "$(workers)" ]; do
    n=$((n + 1)); [ $n -gt 200 ] && {{ echo "haproxy started no worker"; exit 5; }}; sleep 0.05
done
cat {CONFIG}
"""
)

# Check the new file, put it in place, signal the master, and wait until it has forked a
# worker that was not there before (the new configuration serves).
_RELOAD = (
    _MASTER
    + f"""
haproxy -c -q -f {_PENDING} || {{ echo "haproxy refused the new configuration"; exit 3; }}
mv {_PENDING} {CONFIG}
before=" $(workers | tr '\\n' ' ') "
kill -USR2 "$master"
n=0
while :; do
    for pid in $(workers); do
        case "$before" in *" $pid "*) ;; *) exit 0 ;; esac
    done
    n=$((n + 1)); [ $n -gt 200 ] && {{ echo "haproxy started no new worker"; exit 5; }}
    sleep 0.05
done
"""
)


class Balancers:
    """The balancers of one host cluster (``ensure``/``remove`` of ``ContainerHost``)."""

    def __init__(self, provider: Provider, cluster: ClusterSpec) -> None:
        self.provider = provider
        self.cluster = cluster
        self._lock = threading.Lock()
        self._names: dict[str, threading.Lock] = {}

    def ensure(self, spec: BalancerSpec) -> BalancerRecord:
        try:
            config = balancerconfig.render(spec)
        except balancerconfig.BalancerSpecError as exc:
            raise EngineRefused(f"balancer {spec.name}: {exc}") from None
        with self._name_lock(spec.name):
            found = self._find(spec.name)
            if found is not None and not _ours(found, spec):
                raise EngineRefused(
                    f"container {spec.name} already exists and is not this balancer; "
                    "not adopting it"
                )
            wanted = self._service_spec(spec, config)
            record = self.provider.ensure_service(wanted)
            if spec.port not in record.host_ports:
                # Made for another listening port: ports are fixed at creation.
                log.info("balancer %s listens on another port; recreating it", spec.name)
                self.provider.delete_service(spec.name)
                record = self.provider.ensure_service(wanted)
            self._converge(spec.name, config)
            port = record.host_ports.get(spec.port)
            if port is None:
                raise EngineUnavailable(f"balancer {spec.name}: its port is not published yet")
            return BalancerRecord(spec.name, self._address(), port)

    def remove(self, name: str) -> None:
        with self._name_lock(name):
            found = self._find(name)
            if found is None:
                return  # absent, or another cluster's: nothing of ours to remove
            if found.kind != KIND:
                raise EngineRefused(f"container {name} is not a balancer; not removing it")
            self.provider.delete_service(name)
            log.info("removed balancer %s", name)

    # -- helpers ---------------------------------------------------------------------------

    def _converge(self, name: str, config: str) -> None:
        """Reload when the running configuration differs; an unchanged one is left alone."""
        current = self.provider.exec(name, ["sh", "-c", _SERVING])
        if current.exit_code == 0 and current.output == config:
            return
        if current.exit_code != 0:
            raise EngineUnavailable(f"balancer {name}: {_last_line(current.output)}")
        self.provider.put_files(name, {_PENDING: config.encode()}, mode=0o644)
        result = self.provider.exec(name, ["sh", "-c", _RELOAD])
        if result.exit_code == 3:
            raise EngineRefused(f"balancer {name}: {_last_line(result.output)}")
        if result.exit_code != 0:
            raise EngineUnavailable(f"balancer {name}: reload: {_last_line(result.output)}")
        log.info("balancer %s reloaded", name)

    def _find(self, name: str) -> ServiceRecord | None:
        return next(
            (s for s in self.provider.find_services(self.cluster.uuid) if s.name == name), None
        )

    def _service_spec(self, spec: BalancerSpec, config: str) -> ServiceSpec:
        image = next(
            (g.node_image for g in self.cluster.nodegroups if g.role == "master" and g.node_image),
            None,
        )
        if image is None:
            raise EngineRefused(f"cluster {self.cluster.name} has no node image to run a balancer")
        return ServiceSpec(
            name=spec.name,
            cluster_uuid=self.cluster.uuid,
            kind=KIND,
            image=image,
            network=Fleet(self.provider, self.cluster).network(),
            command=("haproxy", "-W", "-db", "-f", CONFIG),
            ports={spec.port: 0},
            files={CONFIG: config.encode()},
            labels=dict(spec.labels),
        )

    def _address(self) -> str:
        """Where this machine's clients reach published ports: the publish address, or
        loopback when ports are published on every address."""
        address = self.provider.publish_address
        return "127.0.0.1" if ipaddress.ip_address(address).is_unspecified else address

    def _name_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._names.setdefault(name, threading.Lock())


def _ours(found: ServiceRecord, spec: BalancerSpec) -> bool:
    return found.kind == KIND and all(found.labels.get(k) == v for k, v in spec.labels.items())


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"
