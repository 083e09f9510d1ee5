"""The commands the swarm-mode driver runs inside its nodes, each a named shell script run as
``sh -c SCRIPT NAME ARGS…`` (``$0`` is the name, so a simulated node can tell them apart: see
``simulation``). Waits happen inside the node, in one exec, at a 50-100 ms grain, bounded.

Errors name the command, never its arguments or the tool's whole output: a join token is an
argument, and must not reach an event, a log line or a status_reason."""

from __future__ import annotations

from collections.abc import Sequence

from cove.failures import Temporary
from cove.providers.base import Provider
from cove.redact import redact

# Until the node's engine answers (60 s at most). dockerd makes its socket early and serves it
# once the daemon is up, so a client connected meanwhile waits for that moment: no docker CLI
# is spawned before the socket exists (each spawn cost the engines starting beside it ~20 ms
# of CPU, 20 times a second per node), and then one usually suffices.
WAIT_ENGINE = (
    "i=0; until [ -S /var/run/docker.sock ] && timeout 30 docker info >/dev/null 2>&1; "
    'do i=$((i+1)); [ $i -ge 1200 ] && { echo "engine did not answer within 60 s"; exit 1; }; '
    "sleep 0.05; done"
)
_STATE = "docker info --format '{{.Swarm.LocalNodeState}}'"
# $1: advertise address. Init unless active. Init first: it refuses a node already in a
# swarm, and only then is the state read (a new swarm, every create's, spares that docker CLI
# run). The join tokens are read after, over the engine API (``SWARM_TOKENS`` without one).
SWARM_INIT = (
    'out=$(docker swarm init --advertise-addr "$1" 2>&1) || '
    f'[ "$({_STATE})" = active ] || {{ echo "$out"; exit 1; }}'
)
# The manager then the worker join token.
SWARM_TOKENS = "docker swarm join-token -q manager && docker swarm join-token -q worker"
# $1 token, $2 advertise address, $3 remote manager (addr:2377). A member of that swarm is
# done; a node stranded on another swarm (its managers are gone) leaves it first.
SWARM_JOIN = (
    "state=$(docker info --format "
    "'{{.Swarm.LocalNodeState}} {{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}'); "
    'case " $state " in *" $3 "*) exit 0 ;; esac; '
    '[ "${state%% *}" = active ] && docker swarm leave --force >/dev/null; '
    'exec docker swarm join --token "$1" --advertise-addr "$2" "$3"'
)
# $1 token, $2 advertise address, $3 remote manager: a node read (over its engine API) to be
# in no swarm joins at once.
SWARM_JOIN_INACTIVE = 'exec docker swarm join --token "$1" --advertise-addr "$2" "$3"'
SWARM_STATE = _STATE
SWARM_NODES = "docker node ls --format '{{json .}}'"
# The members, then the manager and the worker join token: what a change to a running swarm
# reads first, in one exec (a node that is no manager fails it).
SWARM_VIEW = f"{SWARM_NODES} && {SWARM_TOKENS}"
# Until every member is Ready (60 s at most); then this engine's version, from the same
# listing (one docker CLI run per look).
WAIT_READY = (
    "i=0; until s=$(docker node ls --format '{{.Self}} {{.Hostname}} {{.Status}} "
    "{{.EngineVersion}}') && ! echo \"$s\" | grep -qv '^[a-z]* [^ ]* Ready '; do i=$((i+1)); "
    '[ $i -ge 600 ] && { echo "members not Ready: $(echo "$s" | grep -v "^[a-z]* [^ ]* Ready " | '
    "cut -d' ' -f2 | tr '\\n' ' ')\"; exit 1; }; sleep 0.1; done; "
    "echo \"$s\" | sed -n 's/^true [^ ]* Ready //p'"
)
ENGINE_VERSION = "docker version --format '{{.Server.Version}}'"
# One line with the node's name per running task on the nodes given.
TASK_NODES = 'docker node ps "$@" --filter desired-state=running --format "{{.Node}}"'
# $1: a member. Drain it and wait (60 s at most) until its tasks moved away; an unknown
# member is already gone.
DRAIN = (
    'docker node inspect "$1" >/dev/null 2>&1 || exit 0; '
    'docker node update --availability drain "$1" >/dev/null || exit 1; '
    'i=0; while [ -n "$(docker node ps "$1" --filter desired-state=running -q)" ]; '
    'do i=$((i+1)); [ $i -ge 600 ] && { echo "tasks did not move away"; exit 1; }; sleep 0.1; done'
)
# $1: a member; a worker or an unknown member needs nothing, and neither does a manager that
# is out of Raft already (the old managers after --force-new-cluster: `node rm` takes them).
DEMOTE = (
    'role=$(docker node inspect "$1" --format "{{.Spec.Role}}" 2>/dev/null) || exit 0; '
    '[ "$role" = manager ] || exit 0; out=$(docker node demote "$1" 2>&1) && exit 0; '
    'case "$out" in *"can\'t find manager in raft memberlist"*) exit 0 ;; esac; '
    'echo "$out"; exit 1'
)
# $1: a member's name or id; an unknown one is already removed.
NODE_RM = (
    'docker node inspect "$1" >/dev/null 2>&1 || exit 0; docker node rm --force "$1" >/dev/null'
)
LEAVE = f'[ "$({_STATE})" = inactive ] && exit 0; docker swarm leave --force >/dev/null'
# The node's init restarts dockerd in place (new TLS files); its state and the swarm's stay.
RESTART_ENGINE = (
    "old=$(pidof dockerd) || exit 0; kill $old; i=0; "
    "while kill -0 $old 2>/dev/null; do i=$((i+1)); [ $i -ge 1200 ] && exit 1; sleep 0.05; done"
)
# $1: advertise address. Re-form a swarm that lost quorum from this manager, keeping its state.
FORCE_NEW_CLUSTER = 'docker swarm init --force-new-cluster --advertise-addr "$1" >/dev/null'

SCRIPTS = {
    "wait-engine": WAIT_ENGINE,
    "swarm-init": SWARM_INIT,
    "swarm-tokens": SWARM_TOKENS,
    "swarm-join": SWARM_JOIN,
    "swarm-join-inactive": SWARM_JOIN_INACTIVE,
    "swarm-state": SWARM_STATE,
    "swarm-nodes": SWARM_NODES,
    "swarm-view": SWARM_VIEW,
    "wait-ready": WAIT_READY,
    "engine-version": ENGINE_VERSION,
    "task-nodes": TASK_NODES,
    "drain": DRAIN,
    "demote": DEMOTE,
    "node-rm": NODE_RM,
    "leave": LEAVE,
    "restart-engine": RESTART_ENGINE,
    "force-new-cluster": FORCE_NEW_CLUSTER,
}


class CommandFailed(Temporary):
    """A command inside a node failed: temporary (engines restart, members come and go)."""

    def __init__(self, node: str, command: str, reason: str) -> None:
        super().__init__(f"{node}: {command} failed: {reason}")
        self.node = node
        self.command = command


def argv(name: str, *args: str) -> list[str]:
    return ["sh", "-c", SCRIPTS[name], name, *args]


def run(provider: Provider, node: str, name: str, *args: str) -> str:
    """Run the named command in ``node``; its output. Raises ``CommandFailed`` naming the
    command and the last line it printed (redacted), never its arguments."""
    result = provider.exec(node, argv(name, *args))
    if result.exit_code != 0:
        lines = [line for line in result.output.strip().splitlines() if line.strip()]
        last = redact(lines[-1][-300:]) if lines else f"exit status {result.exit_code}"
        raise CommandFailed(node, name, last)
    return result.output


def json_lines(output: str) -> Sequence[str]:
    return [line for line in output.splitlines() if line.strip()]
