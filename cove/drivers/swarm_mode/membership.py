"""Swarm membership of a cluster's nodes: which manager the swarm is reached through, forming
it (init once, join what is not a member), removing members (drain, demote, leave, rm), and
pruning entries whose node is gone. Every command observes before it acts, so any of these
can be repeated after a crash.

Given the cluster's ``NodeEngines``, reads (the members, a node's swarm state, the join
tokens) ask the nodes' engine APIs over TLS: no process is spawned in a node. Whatever does
not answer that way (an engine restarting, a node still on the CA a rotation replaces, a
provider whose nodes cove cannot reach) is read with ``exec``. The wait until every member is
Ready follows the manager's node events over its API too. Changes (init, join, drain, demote,
leave, rm) and the other waits run inside the nodes, as the commands module says."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import docker

from cove.drivers.base import ClusterSpec, StepFailed
from cove.drivers.fleet import order, parallel
from cove.drivers.swarm_mode import commands
from cove.drivers.swarm_mode.commands import CommandFailed
from cove.drivers.swarm_mode.nodeengines import NodeEngines, describe
from cove.providers.base import NodeRecord, Provider

log = logging.getLogger(__name__)
SWARM_PORT = 2377
READY_WAIT = 60.0  # seconds the members have to be Ready, as the wait-ready command gives
T = TypeVar("T")


class Swarm:
    def __init__(
        self, provider: Provider, cluster: ClusterSpec, engines: NodeEngines | None = None
    ) -> None:
        self.provider = provider
        self.cluster = cluster
        self.engines = engines

    def run(self, node: str, command: str, *args: str) -> str:
        return commands.run(self.provider, node, command, *args)

    def _ask(self, node: NodeRecord, call: Callable[[docker.APIClient], T]) -> T | None:
        """``call`` on the node's engine API; None when there is none or it does not answer
        (the caller then execs the command, which says why when it fails too)."""
        if self.engines is None:
            return None
        try:
            return call(self.engines.client(node))
        except Exception as exc:  # any failure: the exec is the reference
            log.debug("node %s: engine API: %s; asking by exec", node.name, describe(exc))
            return None

    # -- reading ---------------------------------------------------------------------------

    def state(self, node: NodeRecord) -> str:
        """The node's LocalNodeState; "" when it cannot be read."""
        state = self._ask(node, lambda api: str(api.info()["Swarm"]["LocalNodeState"]))
        if state is not None:
            return state
        try:
            return self.run(node.name, "swarm-state").strip()
        except Exception:  # a stopped or unreachable node is in no swarm we can use
            return ""

    def primary(self, nodes: Iterable[NodeRecord]) -> NodeRecord:
        """The manager the swarm is reached through: the first active one in order (states
        read in parallel), else the first running manager (the swarm is to be made)."""
        managers = sorted((n for n in nodes if n.role == "master"), key=order)
        if not managers:
            raise StepFailed("The cluster has no manager node left.")
        running = [m for m in managers if m.running]
        if len(running) == 1:
            return running[0]  # nothing to choose: init and join check its state themselves
        states = parallel(self.state, running)
        for manager, state in zip(running, states, strict=True):
            if state == "active":
                return manager
        return running[0] if running else managers[0]

    def members(self, primary: NodeRecord) -> list[dict[str, Any]]:
        """``docker node ls`` on ``primary``, one dict per member. A listing without the
        manager itself lost its output (the engine drops a short exec's output now and then
        under load): a temporary failure, not a swarm without members."""
        listed = self._ask(primary, lambda api: [listing(node) for node in api.nodes()])
        if listed is not None:
            members = listed
        else:
            out = self.run(primary.name, "swarm-nodes")
            members = [json.loads(line) for line in commands.json_lines(out)]
        if not any(m.get("Hostname") == primary.name for m in members):
            raise CommandFailed(primary.name, "swarm-nodes", "the manager is not in its listing")
        return members

    def quorum_lost(self, nodes: Iterable[NodeRecord]) -> bool:
        """Whether at most half of the swarm's managers run: no leader can be elected until
        the swarm is re-formed. (With a majority running, a missing leader is an election
        in progress.) The managers counted are the manager groups' desired count, or the
        manager containers present if more."""
        managers = [n for n in nodes if n.role == "master"]
        wanted = sum(g.node_count for g in self.cluster.nodegroups if g.role == "master")
        running = sum(m.running for m in managers)
        return running * 2 <= max(wanted, len(managers))

    def members_anywhere(self, nodes: Iterable[NodeRecord]) -> list[dict[str, Any]]:
        """``docker node ls`` from the first running manager that answers."""
        last: Exception | None = None
        for manager in sorted((n for n in nodes if n.role == "master" and n.running), key=order):
            try:
                return self.members(manager)
            except Exception as exc:  # try the next manager
                last = exc
        raise CommandFailed("cluster", "swarm-nodes", f"no manager answers ({last})")

    # -- forming ---------------------------------------------------------------------------

    def form(
        self,
        nodes: Sequence[NodeRecord],
        joining: Iterable[NodeRecord] = (),
        *,
        primary: NodeRecord | None = None,
        ready: set[str] | None = None,
        tokens: Sequence[str] | None = None,
    ) -> NodeRecord:
        """Init the swarm on the primary manager unless it is active, then join every node of
        ``nodes`` that is not a Ready member (``ready``: the names the swarm lists Ready, if
        the caller read them already), and every node of ``joining`` (just made: a Ready
        entry of its name may be its predecessor's). Managers join one at a time (Raft),
        workers in parallel; ``tokens`` (manager, worker) read from the active primary just
        before spare the init. Returns the primary."""
        primary = primary or self.primary(nodes)
        if tokens is None:
            self.run(primary.name, "swarm-init", _addr(primary))
            tokens = self.tokens(primary)
        token = {"master": tokens[-2], "worker": tokens[-1]}
        fresh = {n.name for n in joining}
        others = {n.name for n in nodes} - {primary.name}
        # Nodes just made join whatever the swarm lists; the others only if not Ready in it.
        if ready is None:
            ready = set()
            if not others <= fresh:
                ready = {
                    str(m.get("Hostname"))
                    for m in self.members(primary)
                    if m.get("Status") == "Ready"
                }
        wanted = [
            n
            for n in nodes
            if n.running and n.name != primary.name and (n.name in fresh or n.name not in ready)
        ]
        remote = f"{_addr(primary)}:{SWARM_PORT}"

        def join(node: NodeRecord) -> None:
            role = "master" if node.role == "master" else "worker"
            self.join(node, token[role], remote)

        workers = [n for n in wanted if n.role != "master"]
        managers = sorted((n for n in wanted if n.role == "master"), key=order)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, min(16, len(workers)))) as pool:
            pending = [pool.submit(join, n) for n in workers]
            for manager in managers:
                join(manager)
            for future in pending:
                future.result()
        return primary

    def join(self, node: NodeRecord, token: str, remote: str) -> None:
        """Make ``node`` a member of the swarm managed at ``remote`` (addr:port): nothing if
        it is one, leaving another swarm first. Its state is read over its engine API, so
        the exec runs only the join; without the API the join script reads it itself."""
        state = self._ask(node, lambda api: api.info()["Swarm"])
        if state is None:
            self.run(node.name, "swarm-join", token, _addr(node), remote)
            return
        if remote in {m.get("Addr") for m in state.get("RemoteManagers") or ()}:
            return
        if state.get("LocalNodeState") == "active":
            self.run(node.name, "leave")
        self.run(node.name, "swarm-join-inactive", token, _addr(node), remote)

    def tokens(self, manager: NodeRecord) -> list[str]:
        """The join tokens (manager, worker) of the swarm ``manager`` manages."""
        asked = self._ask(manager, _tokens)
        tokens = asked if asked and all(asked) else self.run(manager.name, "swarm-tokens").split()
        if len(tokens) < 2:
            raise CommandFailed(manager.name, "swarm-tokens", "printed no join tokens")
        return tokens

    def wait_ready(self, primary: NodeRecord) -> str:
        """Until every member is Ready; the engine's version. Over ``primary``'s engine API,
        woken by its node events; else one exec (which polls inside the node)."""
        version = self._ask(primary, partial(_wait_ready, primary.name))
        if version is not None:
            return version
        return _last_line(self.run(primary.name, "wait-ready"))

    def version(self, node: NodeRecord) -> str:
        return self.run(node.name, "engine-version").strip()

    # -- removing --------------------------------------------------------------------------

    def task_counts(self, primary: NodeRecord, names: Sequence[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in self.run(primary.name, "task-nodes", *names).splitlines():
            if line.strip():
                counts[line.strip()] = counts.get(line.strip(), 0) + 1
        return counts

    def remove(self, primary: NodeRecord, node: NodeRecord | None, name: str) -> None:
        """Take ``name`` out of the swarm: drain it and let it leave when it runs, else only
        forget it (a dead node cannot leave); demote and rm through ``primary``."""
        if node is not None and node.running:
            self.run(primary.name, "drain", name)
        self.run(primary.name, "demote", name)
        if node is not None and node.running:
            self.run(name, "leave")
        self.run(primary.name, "node-rm", name)

    def view(self, primary: NodeRecord) -> tuple[list[dict[str, Any]], list[str]] | None:
        """The members as ``primary`` lists them and the join tokens (manager, worker), read
        in one exec (or two engine API calls); None when it cannot (no swarm yet, or its
        output was lost)."""
        asked = self._ask(primary, _view)
        if asked is not None:
            members, tokens = asked
        else:
            try:
                out = self.run(primary.name, "swarm-view")
            except CommandFailed:
                return None
            lines = commands.json_lines(out)
            members = [json.loads(line) for line in lines if line.startswith("{")]
            tokens = [line.strip() for line in lines if not line.startswith("{")]
        if len(tokens) != 2 or not any(m.get("Hostname") == primary.name for m in members):
            return None
        return members, tokens

    def prune(self, primary: NodeRecord, nodes: Iterable[NodeRecord]) -> list[str]:
        """Remove member entries whose node is gone, and stale entries of a name that has
        a Ready one (a node replaced under the same name). Returns the names pruned."""
        present = {n.name for n in nodes}
        members = self.members(primary)
        ready = {m.get("Hostname") for m in members if m.get("Status") == "Ready"}
        pruned = []
        for member in members:
            host, status = member.get("Hostname"), member.get("Status")
            if host in present and (status == "Ready" or host not in ready):
                continue
            if status == "Ready" and host not in present:
                continue  # still answering: not ours to judge (a node being replaced)
            self.run(primary.name, "demote", str(member.get("ID")))
            self.run(primary.name, "node-rm", str(member.get("ID")))
            pruned.append(str(host))
        return pruned


def _view(api: docker.APIClient) -> tuple[list[dict[str, Any]], list[str]]:
    """The members and the join tokens (manager, worker) from a manager's engine API."""
    return [listing(node) for node in api.nodes()], _tokens(api)


def _wait_ready(name: str, api: docker.APIClient) -> str:
    """Every member Ready, as manager ``name`` lists them; ``name``'s engine version. The
    node events are subscribed to before the first listing, so a member turning Ready in
    between wakes the next one. Raises once READY_WAIT has passed (or the engine's read
    timeout without an event): the exec then waits and says which members are not Ready."""
    deadline = time.monotonic() + READY_WAIT
    events = api.events(filters={"type": "node"}, decode=True)
    try:
        while True:
            members = [listing(node) for node in api.nodes()]
            if all(m["Status"] == "Ready" for m in members):
                own = [m["EngineVersion"] for m in members if m["Hostname"] == name]
                return str(own[0]) if own else str(api.version()["Version"])
            if time.monotonic() > deadline:
                raise TimeoutError("members not Ready")
            next(events)  # the next change of a member
    finally:
        events.close()


def _tokens(api: docker.APIClient) -> list[str]:
    tokens = api.inspect_swarm().get("JoinTokens") or {}
    return [str(tokens.get("Manager", "")), str(tokens.get("Worker", ""))]


def listing(node: Mapping[str, Any]) -> dict[str, Any]:
    """An engine API node object as ``docker node ls --format '{{json .}}'`` prints it (the
    fields cove reads: ID, Hostname, Status, Availability, ManagerStatus, EngineVersion)."""
    description = node.get("Description") or {}
    manager = node.get("ManagerStatus") or {}
    reachability = "Leader" if manager.get("Leader") else _pretty(manager.get("Reachability"))
    return {
        "ID": node.get("ID", ""),
        "Hostname": description.get("Hostname", ""),
        "Status": _pretty((node.get("Status") or {}).get("State")),
        "Availability": _pretty((node.get("Spec") or {}).get("Availability")),
        "ManagerStatus": reachability,
        "EngineVersion": (description.get("Engine") or {}).get("EngineVersion", ""),
    }


def _pretty(value: object) -> str:
    """The CLI's capitalised form of an API enum ("ready" -> "Ready")."""
    text = str(value or "")
    return text[:1].upper() + text[1:]


def _last_line(output: str) -> str:
    lines = output.strip().splitlines()
    return lines[-1].strip() if lines else ""


def _addr(node: NodeRecord) -> str:
    if not node.address:
        raise CommandFailed(node.name, "address", "no address on the cluster network yet")
    return node.address
