"""Health of a swarm-mode cluster as Magnum reports it: every node the node groups should
have must exist, run, and be a Ready member of the swarm; every service container the
cluster asks for must run."""

from __future__ import annotations

from cove.drivers.base import ClusterSpec, HealthReport
from cove.drivers.fleet import Fleet
from cove.drivers.swarm_mode import services
from cove.drivers.swarm_mode.commands import CommandFailed
from cove.drivers.swarm_mode.membership import Swarm
from cove.providers.base import Provider


def check(provider: Provider, cluster: ClusterSpec) -> HealthReport:
    fleet = Fleet(provider, cluster)
    present = fleet.nodes()
    nodes = {n.name: n for n in present}
    expected = [name for _, name in fleet.expected(present)]
    try:
        swarm = {m.get("Hostname"): m for m in Swarm(provider, cluster).members_anywhere(present)}
    except CommandFailed:
        # No manager answers (e.g. during a leader election): nodes whose containers are
        # gone or stopped are failed all the same, and saying so lets healing start.
        reason = {"api": f"The cluster {cluster.name} is not accessible."}
        dead = tuple(n for n in expected if n not in nodes or not nodes[n].running)
        if not dead:
            return HealthReport("UNKNOWN", reason)
        reason.update({f"{n}.Ready": "False" for n in dead})
        return HealthReport("UNHEALTHY", reason, dead)
    reason = {"api": "ok"}
    failed = _failed_services(provider, cluster, reason)
    for name in expected:
        node, member = nodes.get(name), swarm.get(name)
        ready = node is not None and node.running and member is not None
        ready = ready and member.get("Status") == "Ready"  # type: ignore[union-attr]
        reason[f"{name}.Ready"] = str(ready)
        if not ready:
            failed.append(name)
            if node is None:
                reason[f"{name}.reason"] = "node container is missing"
            elif not node.running:
                reason[f"{name}.reason"] = "node container is not running"
            else:
                state = member.get("Status", "absent") if member else "not in the swarm"
                reason[f"{name}.reason"] = f"swarm reports {state}"
    return HealthReport("UNHEALTHY" if failed else "HEALTHY", reason, tuple(failed))


def _failed_services(provider: Provider, cluster: ClusterSpec, reason: dict[str, str]) -> list[str]:
    """Names of wanted service containers that are missing or stopped, with reasons."""
    present = {s.name: s for s in provider.find_services(cluster.uuid)}
    failed = []
    for name, what in services.wanted(cluster):
        service = present.get(name)
        if service is None or not service.running:
            failed.append(name)
            reason[f"{name}.Ready"] = "False"
            state = "missing" if service is None else "not running"
            reason[f"{name}.reason"] = f"{what} container is {state}"
    return failed
