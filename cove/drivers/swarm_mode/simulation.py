"""``SwarmSimulator``: a program for ``MemoryProvider`` that plays the Docker engine in every
node and the swarms they form, so the swarm-mode driver is tested without Docker.

The driver runs each in-node command as ``["sh", "-c", SCRIPT, NAME, *ARGS]``; the simulator
ignores SCRIPT and acts on NAME (``wait-engine``, ``swarm-init``, ``swarm-join``, ...; see
``SwarmSimulator.run``). Its model follows Docker's:

- an engine belongs to a *container* (keyed by container id): a container re-created with the
  same name starts with a fresh engine, in no swarm;
- a swarm's membership outlives its members' containers: a deleted, stopped or departed
  member shows ``Down`` until ``node-rm``; a member is ``Ready`` when its container runs and
  its engine is still in the swarm;
- a swarm has quorum when more than half of its Raft managers are up; ``swarm-nodes``,
  ``wait-ready``, ``drain``, ``demote``, ``node-rm`` and joins need it, as on Docker;
- names are resolved as Docker does (full ID, then hostname, then ID prefix); a hostname
  shared by two members (a re-created node's stale entry) is ambiguous;
- a swarm's state (``objects``: networks, services a test made) lives as long as the swarm.

Thread-safe: one lock, taken before the provider's (never the other way round).
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cove.providers.base import ExecResult
from cove.providers.memory import MemoryContainer, MemoryProvider

ENGINE_VERSION = "20.10.24+dfsg1"
DAEMON = "Error response from daemon: "
NOT_A_MANAGER = (
    DAEMON + "This node is not a swarm manager. Worker nodes can't be used to view or modify "
    "cluster state. Please run this command on a manager node or promote the current node to "
    "a manager."
)
NOT_IN_A_SWARM = (
    DAEMON + 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
    "to connect this node to swarm and try again."
)
NO_LEADER = (
    DAEMON + "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible "
    "that too few managers are online. Make sure more than half of the managers are online."
)
INVALID_TOKEN = (
    DAEMON + "rpc error: code = InvalidArgument desc = A valid join token is necessary to join "
    "this cluster"
)
ALREADY_IN_A_SWARM = (
    DAEMON + 'This node is already part of a swarm. Use "docker swarm leave" to leave this '
    "swarm and join another one."
)
JOIN_TIMEOUT = DAEMON + "Timeout was reached before node joined."


class CommandFailed(Exception):
    """A simulated command exits non-zero with this message."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Member:
    """An entry of a swarm's membership (``docker node ls``); a join makes a new one."""

    id: str
    hostname: str  # the container's name when it joined
    container_id: str
    addr: str  # its advertise address
    role: str  # "manager" or "worker"
    availability: str = "Active"  # or "Drain"
    raft: bool = False  # a voting Raft manager
    tasks: int = 0  # running tasks (only those a test added)


@dataclass(eq=False)
class Swarm:
    id: str
    manager_token: str
    worker_token: str
    members: dict[str, Member] = field(default_factory=dict)  # by member id
    leader_id: str | None = None
    objects: set[str] = field(default_factory=set)  # state that outlives managers
    # While a new leader is elected, `docker node ls` shows the other members Unknown: the
    # next this many reads do (see ``SwarmSimulator.elect``).
    unknown_reads: int = 0


@dataclass
class Engine:
    """The Docker engine of one container: in a swarm as one member, or not."""

    container_id: str
    swarm: Swarm | None = None
    member_id: str | None = None


class SwarmSimulator:
    """Docker engines and swarms behind ``MemoryProvider.exec``.

    Args:
        seed: seeds the ids and tokens it makes (the same run makes the same ones).
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.RLock()
        self._random = random.Random(seed)
        self._provider: MemoryProvider | None = None
        self._engines: dict[str, Engine] = {}  # by container id
        self._swarms: list[Swarm] = []
        # (node, command, args) of every command run, in order.
        self.commands: list[tuple[str, str, tuple[str, ...]]] = []

    def bind(self, provider: MemoryProvider) -> None:
        """Called by ``MemoryProvider(program=...)``: the provider whose containers these are."""
        if self._provider is not None and self._provider is not provider:
            raise ValueError("a SwarmSimulator serves one MemoryProvider")
        self._provider = provider

    @property
    def provider(self) -> MemoryProvider:
        if self._provider is None:
            raise RuntimeError("not bound: make MemoryProvider(program=simulator) first")
        return self._provider

    # -- the program ------------------------------------------------------------------------------

    def run(
        self,
        provider: MemoryProvider,
        node: MemoryContainer,
        argv: Sequence[str],
        stdin: bytes | None,
    ) -> ExecResult:
        """Run ``["sh", "-c", SCRIPT, NAME, *ARGS]`` in ``node`` (a running container)."""
        self.bind(provider)
        if len(argv) < 4 or list(argv[:2]) != ["sh", "-c"]:
            shown = " ".join(argv)
            return ExecResult(127, f"simulator: expected sh -c SCRIPT NAME ARGS..., got {shown}\n")
        command, args = argv[3], tuple(argv[4:])
        with self._lock:
            self.commands.append((node.name, command, args))
            handler = self._handlers().get(command)
            if handler is None:
                return ExecResult(127, f"sh: {command}: not found\n")
            try:
                output = handler(self._engine(node.id), node, args)
            except CommandFailed as failed:
                return ExecResult(failed.exit_code, f"{failed}\n")
            return ExecResult(0, output)

    def _handlers(self) -> dict[str, Callable[[Engine, MemoryContainer, tuple[str, ...]], str]]:
        return {
            "wait-engine": lambda engine, node, args: "",
            "restart-engine": lambda engine, node, args: "",
            "engine-version": lambda engine, node, args: ENGINE_VERSION + "\n",
            "swarm-state": lambda engine, node, args: f"{self._state(engine)}\n",
            "swarm-init": self._init,
            "swarm-tokens": self._tokens,
            "swarm-join": self._join,
            "swarm-join-inactive": self._join_inactive,
            "swarm-nodes": self._nodes,
            "swarm-view": self._view,
            "wait-ready": self._wait_ready,
            "task-nodes": self._task_nodes,
            "drain": self._drain,
            "demote": self._demote,
            "node-rm": self._node_rm,
            "leave": self._leave_command,
            "force-new-cluster": self._force_new_cluster,
        }

    # -- commands -----------------------------------------------------------------------------

    def _init(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        (addr,) = _expect(args, 1, "swarm-init ADDR")
        if engine.swarm is None:
            swarm = Swarm(
                id=self._new_id(),
                manager_token=self._new_token(),
                worker_token="",
            )
            swarm.worker_token = swarm.manager_token.rsplit("-", 1)[0] + "-" + self._hex(25)
            self._swarms.append(swarm)
            member = self._add_member(swarm, engine, node, addr, "manager")
            swarm.leader_id = member.id
        return ""

    def _tokens(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        swarm = self._managed_swarm(engine)  # join-token needs a manager with quorum
        return f"{swarm.manager_token}\n{swarm.worker_token}\n"

    def _join(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        _token, _advertise, remote = _expect(args, 3, "swarm-join TOKEN ADVERTISE_ADDR REMOTE")
        remote_addr = remote.rsplit(":", 1)[0]
        current = engine.swarm
        if current is not None and any(
            m.role == "manager" and m.addr == remote_addr for m in current.members.values()
        ):
            return ""  # already a member of that swarm
        if current is not None:
            self._leave(engine)
        return self._join_inactive(engine, node, args)

    def _join_inactive(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        token, advertise, remote = _expect(args, 3, "swarm-join TOKEN ADVERTISE_ADDR REMOTE")
        if engine.swarm is not None:
            raise CommandFailed(ALREADY_IN_A_SWARM)
        swarm = self._swarm_managed_at(remote.rsplit(":", 1)[0])
        if swarm is None:
            raise CommandFailed(JOIN_TIMEOUT)
        roles = {swarm.manager_token: "manager", swarm.worker_token: "worker"}
        if token not in roles:
            raise CommandFailed(INVALID_TOKEN)
        if not self.has_quorum(swarm):
            raise CommandFailed(NO_LEADER)
        self._add_member(swarm, engine, node, advertise, roles[token])
        return ""

    def _nodes(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        swarm = self._managed_swarm(engine)
        electing = swarm.unknown_reads > 0
        swarm.unknown_reads = max(0, swarm.unknown_reads - 1)
        lines = [
            json.dumps(
                {
                    "ID": member.id,
                    "Hostname": member.hostname,
                    "Status": "Unknown"
                    if electing and member.id != engine.member_id
                    else self.status(member),
                    "Availability": member.availability,
                    "ManagerStatus": self.manager_status(swarm, member),
                }
            )
            for member in self.members(swarm)
        ]
        return "".join(line + "\n" for line in lines)

    def _view(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        return self._nodes(engine, node, args) + self._tokens(engine, node, args)

    def _wait_ready(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        swarm = self._managed_swarm(engine)
        down = [m.hostname for m in self.members(swarm) if self.status(m) != "Ready"]
        if down:
            raise CommandFailed("members not Ready: " + ", ".join(down))
        return ENGINE_VERSION + "\n"

    def _task_nodes(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        swarm = self._managed_swarm(engine)
        lines = []
        for name in args:
            member = self._resolve(swarm, name)
            if member is not None:
                lines += [member.hostname] * member.tasks
        return "".join(line + "\n" for line in lines)

    def _drain(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        (name,) = _expect(args, 1, "drain NAME")
        swarm = self._managed_swarm(engine)
        member = self._resolve(swarm, name)
        if member is None:
            return ""
        member.availability = "Drain"
        others = [
            m
            for m in self.members(swarm)
            if m is not member and m.availability == "Active" and self.status(m) == "Ready"
        ]
        if others and member.tasks:
            min(others, key=lambda m: m.tasks).tasks += member.tasks
        member.tasks = 0  # with nowhere to go, they wait as pending
        return ""

    def _demote(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        (name,) = _expect(args, 1, "demote NAME")
        swarm = self._managed_swarm(engine)
        member = self._resolve(swarm, name)
        if member is None or member.role == "worker":
            return ""
        if not member.raft:
            # Out of Raft already (after --force-new-cluster): Docker refuses the demote
            # ("can't find manager in raft memberlist"), the script lets it pass, and
            # `node-rm` removes it as it is.
            return ""
        if sum(m.raft for m in swarm.members.values()) == 1:
            raise CommandFailed(
                DAEMON + "rpc error: code = FailedPrecondition desc = attempting to demote the "
                "last manager of the swarm"
            )
        member.role, member.raft = "worker", False
        return ""

    def _node_rm(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        (name,) = _expect(args, 1, "node-rm NAME")
        swarm = self._managed_swarm(engine)
        member = self._resolve(swarm, name)
        if member is None:
            return ""
        if member.raft:
            raise CommandFailed(
                DAEMON + f"rpc error: code = FailedPrecondition desc = node {member.id} is a "
                "cluster manager and is a member of the raft cluster. It must be demoted to "
                "worker before removal"
            )
        removed = self._engines.get(member.container_id)
        if removed is not None and removed.member_id == member.id:
            removed.swarm = removed.member_id = None  # a forced removal: its engine is out too
        del swarm.members[member.id]
        return ""

    def _leave_command(self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]) -> str:
        if engine.swarm is not None:
            self._leave(engine)
        return ""

    def _force_new_cluster(
        self, engine: Engine, node: MemoryContainer, args: tuple[str, ...]
    ) -> str:
        (addr,) = _expect(args, 1, "force-new-cluster ADDR")
        swarm, me = engine.swarm, self._member_of(engine)
        if swarm is None or me is None:
            raise CommandFailed(NOT_IN_A_SWARM)
        if me.role != "manager":
            raise CommandFailed(NOT_A_MANAGER)
        for member in swarm.members.values():
            if member is not me and member.raft:
                member.raft = False  # out of the new Raft; listed as Down until removed
                other = self._engines.get(member.container_id)
                if other is not None and other.member_id == member.id:
                    other.swarm = other.member_id = None
        me.raft, me.addr = True, addr
        swarm.leader_id = me.id
        return ""

    # -- helpers for tests ---------------------------------------------------------------------

    def swarms(self) -> list[Swarm]:
        """Every swarm ever made (one whose members all left stays, empty of Ready members)."""
        with self._lock:
            return list(self._swarms)

    def swarm_of(self, node_name: str) -> Swarm | None:
        """The swarm the engine of the container called ``node_name`` is in."""
        with self._lock:
            engine = self._engine_of(node_name)
            return engine.swarm if engine else None

    def member_of(self, node_name: str) -> Member | None:
        """The membership entry of the engine of the container called ``node_name``."""
        with self._lock:
            engine = self._engine_of(node_name)
            return self._member_of(engine) if engine else None

    def members(self, swarm: Swarm) -> list[Member]:
        """The swarm's membership, by hostname then id (``docker node ls``)."""
        with self._lock:
            return sorted(swarm.members.values(), key=lambda m: (m.hostname, m.id))

    def status(self, member: Member) -> str:
        """``Ready`` if the member's container runs and its engine is still that member."""
        with self._lock:
            engine = self._engines.get(member.container_id)
            container = self.provider.container_by_id(member.container_id)
            up = engine is not None and engine.member_id == member.id
            return "Ready" if up and container is not None and container.running else "Down"

    def managers(self, swarm: Swarm) -> list[Member]:
        """The swarm's voting Raft managers."""
        with self._lock:
            return [m for m in self.members(swarm) if m.raft]

    def has_quorum(self, swarm: Swarm) -> bool:
        with self._lock:
            voters = self.managers(swarm)
            up = sum(self.status(m) == "Ready" for m in voters)
            return up * 2 > len(voters)

    def leader(self, swarm: Swarm) -> Member | None:
        """The leader: the last one while it is up, else the first Ready manager by hostname;
        none without quorum."""
        with self._lock:
            if not self.has_quorum(swarm):
                return None
            current = swarm.members.get(swarm.leader_id or "")
            if current is None or not current.raft or self.status(current) != "Ready":
                current = next(m for m in self.managers(swarm) if self.status(m) == "Ready")
                swarm.leader_id = current.id
            return current

    def manager_status(self, swarm: Swarm, member: Member) -> str:
        """``Leader``, ``Reachable`` or ``Unreachable`` for managers; ``""`` for workers."""
        with self._lock:
            if member.role != "manager":
                return ""
            if member is self.leader(swarm):
                return "Leader"
            return "Reachable" if member.raft and self.status(member) == "Ready" else "Unreachable"

    def elect(self, swarm: Swarm, reads: int = 1) -> None:
        """A leader election: the next ``reads`` listings show every other member Unknown,
        as a newly elected leader does until the members' heartbeats reach it."""
        with self._lock:
            swarm.unknown_reads = reads

    def create_object(self, swarm: Swarm, name: str) -> None:
        """Swarm state a test made (a network, a service): kept while the swarm lives."""
        with self._lock:
            swarm.objects.add(name)

    def add_task(self, node_name: str, count: int = 1) -> None:
        """``count`` running tasks on the node (its engine must be in a swarm)."""
        with self._lock:
            member = self.member_of(node_name)
            if member is None:
                raise LookupError(f"{node_name} is not in a swarm")
            member.tasks += count

    def tasks(self, node_name: str) -> int:
        """Running tasks on the node's current membership entry."""
        with self._lock:
            member = self.member_of(node_name)
            return member.tasks if member else 0

    # -- internals (under the lock) -------------------------------------------------------------

    def _engine(self, container_id: str) -> Engine:
        return self._engines.setdefault(container_id, Engine(container_id))

    def _engine_of(self, node_name: str) -> Engine | None:
        container = self.provider.container(node_name)
        return self._engines.get(container.id) if container else None

    def _member_of(self, engine: Engine) -> Member | None:
        if engine.swarm is None or engine.member_id is None:
            return None
        return engine.swarm.members.get(engine.member_id)

    def _state(self, engine: Engine) -> str:
        return "active" if engine.swarm is not None else "inactive"

    def _managed_swarm(self, engine: Engine) -> Swarm:
        """The engine's swarm, if the engine is a manager of it and it has quorum."""
        member = self._member_of(engine)
        if engine.swarm is None or member is None:
            raise CommandFailed(NOT_IN_A_SWARM)
        if member.role != "manager":
            raise CommandFailed(NOT_A_MANAGER)
        if not member.raft or not self.has_quorum(engine.swarm):
            raise CommandFailed(NO_LEADER)
        return engine.swarm

    def _swarm_managed_at(self, addr: str) -> Swarm | None:
        """The swarm with a live manager advertising ``addr``."""
        for swarm in self._swarms:
            for member in swarm.members.values():
                if member.raft and member.addr == addr and self.status(member) == "Ready":
                    return swarm
        return None

    def _resolve(self, swarm: Swarm, name: str) -> Member | None:
        """As Docker resolves a node: full id, then hostname, then id prefix."""
        if name in swarm.members:
            return swarm.members[name]
        found = [m for m in swarm.members.values() if m.hostname == name]
        if not found:
            found = [m for m in swarm.members.values() if m.id.startswith(name)]
        if len(found) > 1:
            raise CommandFailed(DAEMON + f"node {name} is ambiguous ({len(found)} matches found)")
        return found[0] if found else None

    def _add_member(
        self, swarm: Swarm, engine: Engine, node: MemoryContainer, addr: str, role: str
    ) -> Member:
        member = Member(
            id=self._new_id(),
            hostname=node.name,
            container_id=node.id,
            addr=addr,
            role=role,
            raft=role == "manager",
        )
        swarm.members[member.id] = member
        engine.swarm, engine.member_id = swarm, member.id
        return member

    def _leave(self, engine: Engine) -> None:
        """Forced: the engine goes; its entry stays (Down), a manager's in Raft too."""
        engine.swarm = engine.member_id = None

    def _hex(self, size: int) -> str:
        return "".join(self._random.choice("0123456789abcdef") for _ in range(size))

    def _new_id(self) -> str:
        return "".join(
            self._random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(25)
        )

    def _new_token(self) -> str:
        return f"SWMTKN-1-{self._hex(50)}-{self._hex(25)}"


def _expect(args: tuple[str, ...], count: int, usage: str) -> tuple[str, ...]:
    if len(args) != count:
        raise CommandFailed(f"usage: {usage}", exit_code=2)
    return args
