"""Health of a swarm-mode cluster as Magnum reports it: every node the node groups should
have must exist, run, and be a Ready member of the swarm; every service container the
cluster asks for must run.

What the managers say is not taken at its word: while a new leader is elected it lists the
other members ``Unknown`` (and ``Down`` until their next heartbeat), so a member listed so
whose container runs is asked itself; one whose engine answers as an active swarm member is
not failed. Only nodes whose containers are gone or stopped, or whose engines are not in the
swarm, are failed: those are what healing replaces. A swarm with no leader has lost quorum,
and says so.

With the cluster's node engines at hand, the managers and doubtful nodes are asked over
their engine APIs (``membership``): a check then spawns no process in any node."""

from __future__ import annotations

from cove.drivers.base import ClusterSpec, HealthReport
from cove.drivers.fleet import Fleet, parallel
from cove.drivers.swarm_mode import services
from cove.drivers.swarm_mode.commands import CommandFailed
from cove.drivers.swarm_mode.membership import Swarm
from cove.drivers.swarm_mode.nodeengines import NodeEngines
from cove.providers.base import NodeRecord, Provider


def check(
    provider: Provider, cluster: ClusterSpec, engines: NodeEngines | None = None
) -> HealthReport:
    fleet = Fleet(provider, cluster)
    present = fleet.nodes()
    nodes = {n.name: n for n in present}
    expected = [name for _, name in fleet.expected(present)]
    swarm = Swarm(provider, cluster, engines)
    dead = tuple(n for n in expected if n not in nodes or not nodes[n].running)
    try:
        members = {m.get("Hostname"): m for m in swarm.members_anywhere(present)}
    except CommandFailed as exc:
        return _unreachable(cluster, swarm, present, dead, exc)
    reason = {"api": "ok"}
    failed = _failed_services(provider, cluster, reason)
    listed = {name: str((members.get(name) or {}).get("Status", "absent")) for name in expected}
    # Members the managers do not list Ready, whose containers run: ask their engines.
    doubtful = [nodes[n] for n in expected if n not in dead and listed[n] != "Ready"]
    active = set(_active(swarm, doubtful))
    unknown = False
    for name in expected:
        if name in dead:
            reason[f"{name}.Ready"] = "False"
            missing = name not in nodes
            reason[f"{name}.reason"] = (
                "node container is missing" if missing else "node container is not running"
            )
            failed.append(name)
        elif listed[name] == "Ready":
            reason[f"{name}.Ready"] = "True"
        elif name in active:
            # Alive by its own account: the managers' view is behind (an election).
            reason[f"{name}.Ready"] = "Unknown"
            reason[f"{name}.reason"] = f"swarm reports {listed[name]}; its engine is active"
            unknown = True
        else:
            reason[f"{name}.Ready"] = "False"
            state = listed[name] if name in members else "not in the swarm"
            reason[f"{name}.reason"] = f"swarm reports {state}"
            failed.append(name)
    if failed:
        return HealthReport("UNHEALTHY", reason, tuple(failed))
    return HealthReport("UNKNOWN" if unknown else "HEALTHY", reason)


def _unreachable(
    cluster: ClusterSpec,
    swarm: Swarm,
    present: list[NodeRecord],
    dead: tuple[str, ...],
    exc: CommandFailed,
) -> HealthReport:
    """No manager answers: quorum lost (say so), or the managers are not reachable (during
    an election, or the engines restarting). Dead nodes are failed all the same, so that
    healing can start."""
    running = sum(n.running for n in present if n.role == "master")
    wanted = sum(g.node_count for g in cluster.nodegroups if g.role == "master")
    if swarm.quorum_lost(present):
        api = (
            f"The swarm of {cluster.name} lost quorum: {running} of {wanted} manager(s) "
            "running; healing re-forms it from a surviving manager."
        )
    elif "does not have a leader" in str(exc):
        api = f"The swarm of {cluster.name} has no leader yet (an election is in progress)."
    else:
        api = f"The cluster {cluster.name} is not accessible."
    reason = {"api": api}
    if not dead:
        return HealthReport("UNKNOWN", reason)
    reason.update({f"{n}.Ready": "False" for n in dead})
    return HealthReport("UNHEALTHY", reason, dead)


def _active(swarm: Swarm, nodes: list[NodeRecord]) -> list[str]:
    """Names of ``nodes`` whose own engine says it is an active swarm member."""
    states = parallel(swarm.state, nodes)
    return [n.name for n, state in zip(nodes, states, strict=True) if state == "active"]


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
