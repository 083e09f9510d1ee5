"""Cluster create time against the real engine: cove against raw engine commands, in one run.

cove: ``cove image build`` into a temporary state directory (SQLite there), then a real
``cove serve`` subprocess (API and conductor). A cluster of 1 manager + 2 workers is created
with ``POST /v1/clusters``; the time runs from the call to the first ``GET /v1/clusters/<id>``
that answers CREATE_COMPLETE, polled every 50 ms (the resolution of the measure). Each cluster
is deleted before the next (``DELETE``, then its event log's long poll until 404, as ``cove
cluster delete`` waits) and nothing labelled with it may remain on the engine.

raw baseline, interleaved with cove's repetitions (alternating which goes first): the same
node containers with plain ``docker`` commands. A bridge network like cove's, three
``docker run -d`` in parallel threads with the options cove's provider uses (rendered from
``cove.providers.docker.capabilities.NodeMode``, the mode detected here the way cove detects
it), each inner engine with its own cgroup parent; ``docker exec N docker info`` retried every
50 ms until every engine answers; ``docker swarm init`` on the manager, ``docker swarm join``
on both workers in parallel; ``docker node ls`` on the manager polled every 50 ms until 3
nodes are Ready. No TLS (cove's managers serve the engine API with TLS; that is part of cove's
cost).

The first create after start-up: a raw create warms the engine first (not counted); then
``cove serve`` is started afresh ``--first-rounds`` times (same state directory), and each
start's first create is paired with a raw create.

Also: per added node on scale-out (cove resize 2 -> 3 and 3 -> 5 workers against raw start +
join of one and of two more nodes), and 10 clusters created at once (10 POSTs in parallel
against 10 raw clusters, 30 nodes, formed in parallel).

Where the time goes: a ``docker events`` stream runs through the whole run (it adds no work
to either side's critical path), so both sides' clusters are cut into the same phases from the
engine's own timestamps (network created, containers created and started, engines answering,
swarm init, joins), next to cove's event log.

Every container and network this script makes carries ``cove.bench=<run id>``; cove's own
carry ``cove.cluster=<uuid>``. Both are swept at the end, also after a failure.

    .venv/bin/python bench/cluster_create.py [--repeat N] [--skip-concurrent]

Prints a markdown table and writes bench/results/cluster_create.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cove.pki import ca as pki
from cove.providers.docker.capabilities import NodeMode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "cluster_create.md"
RUN_ID = f"{time.strftime('%H%M%S')}-{secrets.token_hex(3)}"
LABEL = "cove.bench"
LABEL_CLUSTER = "cove.bench.cluster"  # which raw cluster a container or network is part of
COVE_LABEL_CLUSTER = "cove.cluster"  # cove's ownership label (cove.providers.base)
HEADERS = {"OpenStack-API-Version": "container-infra latest"}
POLL = 0.05  # the resolution of every completion measure, both sides
STARTUP_TIMEOUT = 60.0
OP_TIMEOUT = 300.0
LOAD_LIMIT = 1.5
NODE_MEMORY_MIB = {"master": 200, "worker": 40}  # measured: docs/host.md

# -- small helpers -----------------------------------------------------------------------------


def now() -> float:
    """Wall clock: the engine's event timestamps and cove's event times use it too."""
    return time.time()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def docker(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"docker {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}"
        )
    return result


def parallel(func: Callable[..., Any], items: Sequence[Any]) -> list[Any]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(func, items))


def load1() -> float:
    return os.getloadavg()[0]


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def p50(values: Sequence[float]) -> float:
    return statistics.median(values)


def span(values: Sequence[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


# -- the engine's event stream -----------------------------------------------------------------


@dataclass(frozen=True)
class EngineEvent:
    time: float
    type: str  # container | network
    action: str  # create, start, exec_create, exec_die, extract-to-dir, ...
    name: str  # container or network name
    attrs: dict[str, str]
    command: str = ""  # exec_create / exec_start: the command line


class EngineEvents:
    """``docker events`` for containers and networks, collected for the whole run."""

    def __init__(self) -> None:
        self.items: list[EngineEvent] = []
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            ["docker", "events", "--format", "{{json .}}",
             "--filter", "type=container", "--filter", "type=network"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue
            attrs = dict((raw.get("Actor") or {}).get("Attributes") or {})
            action, _, command = str(raw.get("Action", "")).partition(": ")
            event = EngineEvent(
                time=int(raw.get("timeNano", 0)) / 1e9,
                type=str(raw.get("Type", "")),
                action=action,
                name=attrs.get("name", ""),
                attrs=attrs,
                command=command.strip(),
            )
            with self._lock:
                self.items.append(event)

    def select(self, match: Callable[[EngineEvent], bool]) -> list[EngineEvent]:
        with self._lock:
            return [e for e in self.items if match(e)]

    def stop(self) -> None:
        time.sleep(0.5)  # the last events of the run
        self._proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


PHASES = (
    "call → network created",
    "network → first node container created",
    "first created → last started",
    "last started → every engine answers",
    "engines → swarm initialised",
    "initialised → every node joined",
    "joined → completion observed",
)


def phases(
    events: list[EngineEvent], t0: float, t_end: float, is_engine_wait: Callable[[str], bool]
) -> dict[str, float] | None:
    """The phases of one cluster's creation from its engine events up to ``t_end`` (None if
    incomplete)."""
    events = [e for e in events if e.time <= t_end]
    commands: dict[str, str] = {}
    for e in events:
        if e.action == "exec_create":
            commands[e.attrs.get("execID", "")] = e.command
    network = [e.time for e in events if e.type == "network" and e.action == "create"]
    created = [e.time for e in events if e.type == "container" and e.action == "create"]
    started = [e.time for e in events if e.type == "container" and e.action == "start"]
    engine_ready: dict[str, float] = {}
    init: list[float] = []
    joined: list[float] = []
    for e in events:
        if e.action != "exec_die" or e.attrs.get("exitCode") != "0":
            continue
        command = commands.get(e.attrs.get("execID", ""), "")
        if is_engine_wait(command) and e.name not in engine_ready:
            engine_ready[e.name] = e.time
        elif "swarm init" in command:
            init.append(e.time)
        elif "swarm join --token" in command:
            joined.append(e.time)
    if not (network and created and started and engine_ready and init and joined):
        return None
    marks = [t0, network[0], min(created), max(started), max(engine_ready.values()),
             min(init), max(joined), t_end]  # fmt: skip
    return {name: marks[i + 1] - marks[i] for i, name in enumerate(PHASES)}


SCALE_PHASES = (
    "call → first new container created",
    "first created → last started",
    "last started → every new engine answers",
    "engines → every new node joined",
    "joined → completion observed",
)


def scale_phases(
    events: list[EngineEvent], t0: float, t_end: float, is_engine_wait: Callable[[str], bool]
) -> dict[str, float] | None:
    """The phases of one scale-out from its engine events in [t0, t_end]."""
    events = [e for e in events if t0 <= e.time <= t_end]
    commands = {e.attrs.get("execID", ""): e.command for e in events if e.action == "exec_create"}
    created = [e.time for e in events if e.type == "container" and e.action == "create"]
    started = [e.time for e in events if e.type == "container" and e.action == "start"]
    engine_ready: dict[str, float] = {}
    joined: list[float] = []
    for e in events:
        if e.action != "exec_die" or e.attrs.get("exitCode") != "0":
            continue
        command = commands.get(e.attrs.get("execID", ""), "")
        if is_engine_wait(command) and e.name not in engine_ready:
            engine_ready[e.name] = e.time
        elif "swarm join --token" in command:
            joined.append(e.time)
    if not (created and started and engine_ready and joined):
        return None
    marks = [t0, min(created), max(started), max(engine_ready.values()), max(joined), t_end]
    return {name: marks[i + 1] - marks[i] for i, name in enumerate(SCALE_PHASES)}


def cove_engine_wait(command: str) -> bool:
    return command.endswith(" wait-engine")  # cove.drivers.swarm_mode.commands.WAIT_ENGINE


def raw_engine_wait(command: str) -> bool:
    return command.startswith("docker info --format {{.ServerVersion}}")


def command_kind(command: str) -> str:
    """A command run in a node, without its tokens and addresses."""
    if cove_engine_wait(command):
        return "engine wait: cove's `wait-engine` (one exec: the socket, then `docker info`)"
    if raw_engine_wait(command):
        return "engine wait: `docker info` (one exec per try)"
    command = re.sub(r"SWMTKN-\S+", "<token>", command)
    command = re.sub(r"\d+\.\d+\.\d+\.\d+(:\d+)?", "<ip>", command)
    command = re.sub(r"(cove|cb)-[\w-]+-(manager|worker)-\d+", "<node>", command)
    return f"`{command.strip()}`"


@dataclass
class Breakdown:
    """Execs and container starts of one side's counted creates, from the engine's events."""

    execs: dict[str, list[float]] = field(default_factory=dict)  # kind -> durations
    clusters: int = 0
    create_to_start: list[float] = field(default_factory=list)  # per node
    creates_spread: list[float] = field(default_factory=list)  # last create - first, per cluster

    def add(self, events: list[EngineEvent], t_end: float, t_start: float = 0.0) -> None:
        events = [e for e in events if t_start <= e.time <= t_end]
        self.clusters += 1
        begun: dict[str, tuple[str, float]] = {}
        created: dict[str, float] = {}
        for e in events:
            if e.action == "exec_create":
                begun[e.attrs.get("execID", "")] = (command_kind(e.command), e.time)
            elif e.action == "exec_die" and e.attrs.get("execID", "") in begun:
                kind, t = begun.pop(e.attrs["execID"])
                self.execs.setdefault(kind, []).append(e.time - t)
            elif e.type == "container" and e.action == "create":
                created[e.name] = e.time
            elif e.type == "container" and e.action == "start" and e.name in created:
                self.create_to_start.append(e.time - created[e.name])
        if created:
            self.creates_spread.append(max(created.values()) - min(created.values()))


# -- the raw baseline ----------------------------------------------------------------------------


def node_mode() -> NodeMode:
    """Detect the mode as cove's provider does: can a privileged container start here?"""
    result = docker(
        "run", "--rm", "--privileged", "--entrypoint", "true", "--network", "none",
        f"--label={LABEL}={RUN_ID}", IMAGE.ref, check=False, timeout=60,
    )  # fmt: skip
    if result.returncode == 0:
        return NodeMode(privileged=True, reason="--privileged accepted")
    return NodeMode(privileged=False, reason=f"--privileged refused: {result.stderr.strip()}")


def cli_options(mode: NodeMode) -> list[str]:
    """cove's node container options (``NodeMode``, as the provider passes them to the SDK's
    ``create_host_config``) spelled as ``docker run`` options. Fails on an option it does not
    know, so the baseline cannot silently drift from the provider."""
    out: list[str] = []
    for key, value in mode.host_config_options(None).items():
        if key == "privileged":
            out += ["--privileged"] if value else []
        elif key in ("cap_add", "cap_drop", "security_opt", "device_cgroup_rules"):
            flag = {"cap_add": "--cap-add", "cap_drop": "--cap-drop",
                    "security_opt": "--security-opt",
                    "device_cgroup_rules": "--device-cgroup-rule"}[key]  # fmt: skip
            out += [f"{flag}={item}" for item in value]
        elif key == "binds":
            out += [f"--volume={host}:{b['bind']}:{b['mode']}" for host, b in value.items()]
        elif key == "cgroupns":
            out.append(f"--cgroupns={value}")
        elif key == "tmpfs":
            out += [f"--tmpfs={path}:{o}" if o else f"--tmpfs={path}" for path, o in value.items()]
        elif key == "init":
            out += ["--init"] if value else []
        else:
            raise RuntimeError(f"cove's node options have {key!r}: teach cli_options about it")
    extra = mode.host_config_fields()
    if extra == {"MaskedPaths": [], "ReadonlyPaths": []}:
        out.append("--security-opt=systempaths=unconfined")
    elif extra:
        raise RuntimeError(f"cove's node HostConfig has {extra!r}: teach cli_options about it")
    return out


@dataclass
class RawCluster:
    name: str
    network: str
    manager: str
    workers: list[str]
    ips: dict[str, str] = field(default_factory=dict)
    worker_token: str = ""
    t0: float = 0.0
    t_end: float = 0.0

    @property
    def nodes(self) -> list[str]:
        return [self.manager, *self.workers]


class Raw:
    def __init__(self, options: list[str]) -> None:
        self.options = options
        self.count = 0
        self._lock = threading.Lock()

    def _next(self) -> str:
        with self._lock:
            self.count += 1
            return f"cb-{RUN_ID}-{self.count}"

    def _run_node(self, cluster: RawCluster, name: str) -> None:
        docker(
            "run", "-d", f"--name={name}", f"--hostname={name}",
            f"--label={LABEL}={RUN_ID}", f"--label={LABEL_CLUSTER}={cluster.name}",
            f"--network={cluster.network}", f"--network-alias={name}",
            *self.options, IMAGE.ref,
            # the node's init passes these to dockerd: its own cgroup parent (a shared one
            # collides) and the storage driver cove's daemon.json names
            f"--cgroup-parent=/{name}", "--storage-driver=overlay2",
        )  # fmt: skip
        template = (
            f"{{{{(index .NetworkSettings.Networks {json.dumps(cluster.network)}).IPAddress}}}}"
        )
        cluster.ips[name] = docker("inspect", "-f", template, name).stdout.strip()
        self._wait_engine(name)

    @staticmethod
    def _wait_engine(name: str, timeout: float = OP_TIMEOUT) -> None:
        deadline = now() + timeout
        while True:
            result = docker(
                "exec", name, "docker", "info", "--format", "{{.ServerVersion}}", check=False
            )
            if result.returncode == 0 and result.stdout.strip():
                return
            if now() > deadline:
                raise RuntimeError(f"the engine in {name} did not answer: {result.stderr}")
            time.sleep(POLL)

    @staticmethod
    def _wait_ready(manager: str, count: int, timeout: float = OP_TIMEOUT) -> None:
        deadline = now() + timeout
        while True:
            out = docker("exec", manager, "docker", "node", "ls", "--format", "{{.Status}}")
            if out.stdout.split().count("Ready") >= count:
                return
            if now() > deadline:
                raise RuntimeError(f"{manager}: {count} nodes not Ready: {out.stdout}")
            time.sleep(POLL)

    def _join(self, cluster: RawCluster, name: str) -> None:
        docker(
            "exec", name, "docker", "swarm", "join", "--token", cluster.worker_token,
            "--advertise-addr", cluster.ips[name], f"{cluster.ips[cluster.manager]}:2377",
        )  # fmt: skip

    def create(self, workers: int = 2) -> RawCluster:
        name = self._next()
        cluster = RawCluster(name, f"{name}-net", f"{name}-manager-0",
                             [f"{name}-worker-{i}" for i in range(workers)])  # fmt: skip
        cluster.t0 = now()
        docker(
            "network", "create", "--driver=bridge", "--attachable",
            f"--label={LABEL}={RUN_ID}", f"--label={LABEL_CLUSTER}={name}", cluster.network,
        )  # fmt: skip
        parallel(lambda n: self._run_node(cluster, n), cluster.nodes)
        manager = cluster.manager
        init = docker(
            "exec", manager, "docker", "swarm", "init",
            "--advertise-addr", cluster.ips[manager],
        )  # fmt: skip
        match = re.search(r"--token (\S+)", init.stdout)
        if match is None:
            raise RuntimeError(f"no join token in the output of swarm init: {init.stdout}")
        cluster.worker_token = match.group(1)
        parallel(lambda n: self._join(cluster, n), cluster.workers)
        self._wait_ready(manager, len(cluster.nodes))
        cluster.t_end = now()
        return cluster

    def add_workers(self, cluster: RawCluster, count: int) -> float:
        """Start ``count`` more nodes in parallel, join them; seconds until all are Ready."""
        first = len(cluster.workers)
        names = [f"{cluster.name}-worker-{first + i}" for i in range(count)]
        started = now()

        def one(name: str) -> None:
            self._run_node(cluster, name)
            self._join(cluster, name)

        parallel(one, names)
        cluster.workers += names
        self._wait_ready(cluster.manager, len(cluster.nodes))
        return now() - started

    @staticmethod
    def remove(cluster: RawCluster) -> None:
        docker("rm", "-f", "-v", *cluster.nodes, check=False)
        docker("network", "rm", cluster.network, check=False)

    @staticmethod
    def events_of(cluster: RawCluster) -> Callable[[EngineEvent], bool]:
        return lambda e: (
            e.attrs.get(LABEL_CLUSTER) == cluster.name
            or (e.type == "network" and e.name == cluster.network)
        )


# -- cove --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    ref: str
    line: str  # what `cove image build` said


IMAGE = Image("", "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cove_env(state_dir: Path) -> dict[str, str]:
    return {**os.environ, "COVE_STATE_DIR": str(state_dir), "COVE_LOG_LEVEL": "INFO"}


def build_image(state_dir: Path) -> Image:
    started = now()
    result = subprocess.run(
        [sys.executable, "-m", "cove", "image", "build"],
        env=cove_env(state_dir), capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"cove image build failed:\n{result.stdout}{result.stderr}")
    match = re.search(r"^(built|found) (\S+) .*$", result.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"unexpected output of cove image build: {result.stdout}")
    log(f"{match.group(0)} ({now() - started:.1f}s)")
    return Image(match.group(2), match.group(0))


class Serve:
    """``cove serve`` (API + conductor, SQLite in the state dir) in a subprocess."""

    def __init__(self, state_dir: Path) -> None:
        self.port = free_port()
        self.log: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cove", "serve", "--port", str(self.port)],
            env=cove_env(state_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self._ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(STARTUP_TIMEOUT) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("cove serve did not start:\n" + "".join(self.log[-30:]))
        self.url = f"http://127.0.0.1:{self.port}"

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            if "Uvicorn running on" in line:
                self._ready.set()
        self._ready.set()

    def grep(self, pattern: str) -> list[str]:
        return [line.strip() for line in self.log if re.search(pattern, line)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Cove:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, headers=HEADERS, timeout=120)
        self.template = ""
        self.uuids: list[str] = []  # every cluster made, for the sweep

    def use(self, url: str) -> None:
        """Talk to a restarted ``cove serve`` (same state directory, same template)."""
        self.http.close()
        self.http = httpx.Client(base_url=url, headers=HEADERS, timeout=120)

    def make_template(self) -> None:
        response = self.http.post(
            "/v1/clustertemplates",
            json={
                "name": f"bench-{RUN_ID}",
                "coe": "swarm-mode",
                "server_type": "vm",
                "image_id": "swarm-mode-debian",
            },
        )
        response.raise_for_status()
        self.template = response.json()["uuid"]

    def post(self, name: str, workers: int = 2) -> tuple[str, float]:
        """POST /v1/clusters; the uuid and the seconds the call took."""
        started = now()
        response = self.http.post(
            "/v1/clusters",
            json={
                "cluster_template_id": self.template,
                "name": name,
                "master_count": 1,
                "node_count": workers,
            },
        )
        if response.status_code != 202:
            raise RuntimeError(f"POST /v1/clusters: {response.status_code} {response.text}")
        uuid = str(response.json()["uuid"])
        self.uuids.append(uuid)
        return uuid, now() - started

    def wait(self, uuid: str, busy: str, want: str) -> dict[str, Any]:
        """GET every 50 ms until the status leaves ``busy``; it must be ``want``."""
        deadline = now() + OP_TIMEOUT
        while True:
            body = self.http.get(f"/v1/clusters/{uuid}").json()
            if body["status"] != busy:
                if body["status"] != want:
                    raise RuntimeError(f"cluster {uuid}: {body['status']} {body['status_reason']}")
                return dict(body)
            if now() > deadline:
                raise RuntimeError(f"cluster {uuid} still {busy} after {OP_TIMEOUT:.0f}s")
            time.sleep(POLL)

    def create(self, name: str) -> tuple[str, float, float, float]:
        """uuid, call time, seconds until CREATE_COMPLETE was seen, seconds of the POST."""
        t0 = now()
        uuid, post = self.post(name)
        self.wait(uuid, "CREATE_IN_PROGRESS", "CREATE_COMPLETE")
        return uuid, t0, now() - t0, post

    def resize(self, uuid: str, workers: int) -> float:
        started = now()
        response = self.http.post(
            f"/v1/clusters/{uuid}/actions/resize", json={"node_count": workers}
        )
        if response.status_code != 202:
            raise RuntimeError(f"resize: {response.status_code} {response.text}")
        self.wait(uuid, "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE")
        return now() - started

    def delete(self, uuids: Sequence[str]) -> float:
        """DELETE each, then follow its event log with the long poll until 404 (as ``cove
        cluster delete`` waits: the answer comes when the row goes, no polling lag); seconds.
        Raises if anything labelled remains."""
        since = {uuid: self.last_event(uuid) for uuid in uuids}
        started = now()
        for uuid in uuids:
            response = self.http.delete(f"/v1/clusters/{uuid}")
            if response.status_code != 204:
                raise RuntimeError(f"DELETE {uuid}: {response.status_code} {response.text}")
        deadline = now() + OP_TIMEOUT
        for uuid in uuids:
            while True:
                response = self.http.get(
                    f"/v1/clusters/{uuid}/events",
                    params={"since": since[uuid], "wait": 30},
                    timeout=40,
                )
                if response.status_code == 404:
                    break
                body = response.json()
                if body.get("status") == "DELETE_FAILED" or now() > deadline:
                    raise RuntimeError(f"delete of {uuid}: {response.text}")
                if body["events"]:
                    since[uuid] = body["events"][-1]["id"]
        elapsed = now() - started
        for uuid in uuids:
            left = leftovers(f"{COVE_LABEL_CLUSTER}={uuid}")
            if left:
                raise RuntimeError(f"cluster {uuid} is gone from the API but left {left}")
        return elapsed

    def last_event(self, uuid: str) -> int:
        events = self.events(uuid)
        return int(events[-1]["id"]) if events else 0

    def events(self, uuid: str) -> list[dict[str, Any]]:
        return list(self.http.get(f"/v1/clusters/{uuid}/events").json()["events"])

    def statuses(self) -> dict[str, str]:
        body = self.http.get("/v1/clusters").json()
        return {c["uuid"]: c["status"] for c in body["clusters"]}

    @staticmethod
    def manager(uuid: str) -> str:
        return f"cove-{uuid[:8]}-manager-0"  # cove.drivers.nodeplan.node_name

    @staticmethod
    def events_of(uuid: str) -> Callable[[EngineEvent], bool]:
        return lambda e: (
            e.attrs.get(COVE_LABEL_CLUSTER) == uuid
            or (e.type == "network" and e.name == f"cove-{uuid[:8]}-net")
        )


def ready_count(manager: str) -> int:
    out = docker("exec", manager, "docker", "node", "ls", "--format", "{{.Status}}", check=False)
    return out.stdout.split().count("Ready")


def leftovers(label: str) -> list[str]:
    containers = docker("ps", "-aq", "--filter", f"label={label}", check=False).stdout.split()
    networks = docker("network", "ls", "-q", "--filter", f"label={label}", check=False)
    return containers + networks.stdout.split()


def sweep(labels: Sequence[str]) -> int:
    """Remove every container, then network, carrying one of ``labels``; how many."""
    removed = 0
    for label in labels:
        containers = docker("ps", "-aq", "--filter", f"label={label}", check=False).stdout.split()
        if containers:
            docker("rm", "-f", "-v", *containers, check=False)
        networks = docker("network", "ls", "-q", "--filter", f"label={label}", check=False)
        for network in networks.stdout.split():
            docker("network", "rm", network, check=False)
        removed += len(containers) + len(networks.stdout.split())
    return removed


# -- the machine while it runs -------------------------------------------------------------------


class Monitor:
    """Load, available memory and other people's running containers, sampled in the
    background (memory every second, the rest every 5 s)."""

    def __init__(self, mine: Callable[[str, str], bool]) -> None:
        self.samples: list[tuple[float, float, float]] = []  # time, load1, MemAvailable MiB
        self.others: list[int] = []
        self.mine = mine
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            self.samples.append((now(), load1(), mem_available_mib()))
            if tick % 5 == 0:
                out = docker(
                    "ps", "--format", '{{.Label "cove.bench"}}|{{.Label "cove.cluster"}}',
                    check=False,
                ).stdout.splitlines()  # fmt: skip
                self.others.append(
                    sum(1 for row in out if not self.mine(*f"{row}|".split("|")[:2]))
                )
            tick += 1
            self._stop.wait(1.0)

    def window(self, start: float, end: float) -> list[tuple[float, float, float]]:
        return [s for s in self.samples if start <= s[0] <= end]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def wait_for_quiet(limit: float, max_wait: float) -> tuple[float, float]:
    """Wait (at most ``max_wait`` s) for the 1-minute load to drop below ``limit``; returns
    the load when measuring starts and the seconds waited."""
    started = now()
    while load1() >= limit and now() - started < max_wait:
        log(f"1-minute load {load1():.2f} >= {limit}: waiting ({now() - started:.0f}s so far)")
        time.sleep(15)
    return load1(), now() - started


# -- the run -------------------------------------------------------------------------------------


@dataclass
class Results:
    create_cove: list[float] = field(default_factory=list)
    create_raw: list[float] = field(default_factory=list)
    pairs: list[tuple[float, float]] = field(default_factory=list)
    post: list[float] = field(default_factory=list)
    ready_at_complete: list[int] = field(default_factory=list)
    # node count -> seconds: DELETE until 404; `docker rm -f -v` of the same containers
    delete: dict[int, list[float]] = field(default_factory=dict)
    delete_raw: dict[int, list[float]] = field(default_factory=dict)
    phases_cove: list[dict[str, float]] = field(default_factory=list)
    phases_raw: list[dict[str, float]] = field(default_factory=list)
    breakdown_cove: Breakdown = field(default_factory=Breakdown)
    breakdown_raw: Breakdown = field(default_factory=Breakdown)
    scale_breakdown: dict[str, tuple[Breakdown, Breakdown]] = field(default_factory=dict)
    scale_phases: dict[str, tuple[list[dict[str, float]], list[dict[str, float]]]] = field(
        default_factory=dict
    )
    cove_events: list[dict[str, float]] = field(default_factory=list)
    scale_cove: dict[str, list[float]] = field(default_factory=dict)
    scale_raw: dict[str, list[float]] = field(default_factory=dict)
    scale_ready: list[int] = field(default_factory=list)
    # First creates after a `cove serve` start: (cove, raw) pairs, and the node-mode probes.
    first: list[tuple[float, float]] = field(default_factory=list)
    probes: list[float] = field(default_factory=list)
    concurrent: dict[str, Any] = field(default_factory=dict)
    crypto: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Pending:
    """Clusters measured but not yet analysed (events are read at the end)."""

    cove: list[tuple[str, float, float]] = field(default_factory=list)  # uuid, t0, t_end
    raw: list[RawCluster] = field(default_factory=list)
    # scale-outs: (label, uuid or raw cluster, start, end)
    cove_scale: list[tuple[str, str, float, float]] = field(default_factory=list)
    raw_scale: list[tuple[str, RawCluster, float, float]] = field(default_factory=list)


def cove_rep(
    cove: Cove, res: Results, pending: Pending, i: int, scale: bool, record: bool = True
) -> float:
    uuid, t0, elapsed, post = cove.create(f"bench-{RUN_ID}-{i}")
    t_end = t0 + elapsed
    ready = ready_count(Cove.manager(uuid))
    if record:
        res.create_cove.append(elapsed)
        res.post.append(post)
        res.ready_at_complete.append(ready)
        pending.cove.append((uuid, t0, t_end))
        marks: dict[str, float] = {}
        for event in cove.events(uuid):
            key = re.sub(r"cove-[0-9a-f]{8}-net", "<net>", event["message"])
            marks[key] = dt.datetime.fromisoformat(event["time"]).timestamp() - t0
        marks["CREATE_COMPLETE seen by GET"] = elapsed
        res.cove_events.append(marks)
    log(f"cove create #{i}: {elapsed:.2f}s (POST {post * 1000:.0f} ms, {ready}/3 Ready)")
    if scale:
        for label, workers, added in (("2 → 3 workers", 3, 1), ("3 → 5 workers", 5, 2)):
            begun = now()
            took = cove.resize(uuid, workers)
            pending.cove_scale.append((label, uuid, begun, begun + took))
            res.scale_cove.setdefault(label, []).append(took / added)
            res.scale_ready.append(ready_count(Cove.manager(uuid)) - (1 + workers))
            log(f"cove resize {label}: {took:.2f}s, {took / added:.2f}s per node")
    took = cove.delete([uuid])
    if record:
        res.delete.setdefault(6 if scale else 3, []).append(took)
    return elapsed


def raw_rep(
    raw: Raw, res: Results, pending: Pending, i: int, scale: bool, record: bool = True
) -> float:
    cluster = raw.create()
    try:
        elapsed = cluster.t_end - cluster.t0
        if record:
            res.create_raw.append(elapsed)
            pending.raw.append(cluster)
        log(f"raw create #{i}: {elapsed:.2f}s")
        if scale:
            for label, added in (("2 → 3 workers", 1), ("3 → 5 workers", 2)):
                begun = now()
                took = raw.add_workers(cluster, added)
                pending.raw_scale.append((label, cluster, begun, begun + took))
                res.scale_raw.setdefault(label, []).append(took / added)
                log(f"raw add {label}: {took:.2f}s, {took / added:.2f}s per node")
    finally:
        begun = now()
        raw.remove(cluster)
        if record:
            res.delete_raw.setdefault(len(cluster.nodes), []).append(now() - begun)
    return elapsed


def max_overlap(spans: Sequence[tuple[float, float]]) -> int:
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    best = level = 0
    for _, step in edges:
        level += step
        best = max(best, level)
    return best


def count_execs(match: Callable[[EngineEvent], bool], start: float, end: float) -> int:
    return len(
        EVENTS.select(lambda e: e.action == "exec_create" and start <= e.time <= end and match(e))
    )


def concurrent_cove(cove: Cove, count: int, monitor: Monitor, res: Results) -> None:
    mem_before = mem_available_mib()
    t0 = now()
    with ThreadPoolExecutor(max_workers=count) as pool:
        posted = list(pool.map(lambda i: cove.post(f"bench-{RUN_ID}-c{i}"), range(count)))
    uuids = [u for u, _ in posted]
    done: dict[str, float] = {}
    deadline = now() + OP_TIMEOUT * 2
    while len(done) < count:
        for uuid, status in cove.statuses().items():
            if uuid in uuids and uuid not in done:
                if status == "CREATE_COMPLETE":
                    done[uuid] = now() - t0
                elif status != "CREATE_IN_PROGRESS":
                    raise RuntimeError(f"concurrent create of {uuid}: {status}")
        if now() > deadline:
            raise RuntimeError(f"only {len(done)} of {count} clusters complete")
        time.sleep(POLL)
    t_end = now()
    ready = [ready_count(Cove.manager(u)) for u in uuids]
    first_node: list[float] = []
    for uuid in uuids:
        created = [e.time for e in EVENTS.select(Cove.events_of(uuid)) if e.action == "create"
                   and e.type == "container"]  # fmt: skip
        if created:
            first_node.append(min(created) - t0)
    samples = monitor.window(t0, t_end)
    # in progress: from the cluster's network (the driver's first step) to its last exec
    # (the completion seen by polling lags the conductor's by up to one poll)
    spans = []
    for uuid in uuids:
        events = [e for e in EVENTS.select(Cove.events_of(uuid)) if e.time <= t0 + done[uuid]]
        network = [e.time for e in events if e.type == "network"]
        execs = [e.time for e in events if e.action == "exec_die"]
        if network and execs:
            spans.append((min(network), max(execs)))
    res.concurrent["cove"] = {
        "at_once": max_overlap(spans),
        "execs": count_execs(
            lambda e: e.attrs.get(COVE_LABEL_CLUSTER) in uuids,
            t0,
            t_end,
        ),
        "all": t_end - t0,
        "each": sorted(done.values()),
        "post": [p for _, p in posted],
        "first_node": sorted(first_node),
        "ready": ready,
        "mem_used": mem_before - min((s[2] for s in samples), default=mem_before),
        "load": [s[1] for s in samples],
    }
    log(f"cove: {count} clusters complete in {t_end - t0:.2f}s")
    res.concurrent["cove_delete"] = cove.delete(uuids)


def concurrent_raw(raw: Raw, count: int, monitor: Monitor, res: Results) -> None:
    mem_before = mem_available_mib()
    t0 = now()
    clusters: list[RawCluster] = []
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            for cluster in pool.map(lambda _: raw.create(), range(count)):
                clusters.append(cluster)
        t_end = now()
        samples = monitor.window(t0, t_end)
        res.concurrent["raw"] = {
            "execs": count_execs(lambda e: e.attrs.get(LABEL) == RUN_ID, t0, t_end),
            "all": t_end - t0,
            "each": sorted(c.t_end - t0 for c in clusters),
            "mem_used": mem_before - min((s[2] for s in samples), default=mem_before),
            "load": [s[1] for s in samples],
        }
        log(f"raw: {count} clusters formed in {t_end - t0:.2f}s")
    finally:
        # clusters whose create raised are swept by label at the end
        parallel(Raw.remove, clusters)


def analyse(pending: Pending, res: Results) -> None:
    for uuid, t0, t_end in pending.cove:
        events = EVENTS.select(Cove.events_of(uuid))
        found = phases(events, t0, t_end, cove_engine_wait)
        if found:
            res.phases_cove.append(found)
            res.breakdown_cove.add(events, t_end)
    for cluster in pending.raw:
        events = EVENTS.select(Raw.events_of(cluster))
        found = phases(events, cluster.t0, cluster.t_end, raw_engine_wait)
        if found:
            res.phases_raw.append(found)
            res.breakdown_raw.add(events, cluster.t_end)
    for label, uuid, start, end in pending.cove_scale:
        events = EVENTS.select(Cove.events_of(uuid))
        res.scale_breakdown.setdefault(label, (Breakdown(), Breakdown()))[0].add(events, end, start)
        found = scale_phases(events, start, end, cove_engine_wait)
        if found:
            res.scale_phases.setdefault(label, ([], []))[0].append(found)
    for label, cluster, start, end in pending.raw_scale:
        events = EVENTS.select(Raw.events_of(cluster))
        res.scale_breakdown.setdefault(label, (Breakdown(), Breakdown()))[1].add(events, end, start)
        found = scale_phases(events, start, end, raw_engine_wait)
        if found:
            res.scale_phases.setdefault(label, ([], []))[1].append(found)


def measure_crypto(res: Results) -> None:
    """What cove's TLS costs in CPU: the CA (made by the API in the POST) and one manager's
    server certificate (made by the conductor before the node starts)."""
    ca_times, issue_times = [], []
    for _ in range(20):
        started = time.perf_counter()
        authority = pki.create_ca("bench")
        ca_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        pki.issue(authority, "node", server_names=["node", "localhost", "127.0.0.1"],
                  client=False)  # fmt: skip
        issue_times.append(time.perf_counter() - started)
    res.crypto = {"ca_ms": p50(ca_times) * 1000, "server_cert_ms": p50(issue_times) * 1000}


EVENTS: EngineEvents


def run(args: argparse.Namespace, res: Results, meta: dict[str, Any]) -> None:
    global IMAGE, EVENTS
    state_dir = Path(tempfile.mkdtemp(prefix="cove-bench-"))
    serve: Serve | None = None
    cove: Cove | None = None
    monitor: Monitor | None = None
    EVENTS = EngineEvents()
    errors: list[str] = []
    try:
        IMAGE = build_image(state_dir)
        meta["image"] = IMAGE.line
        meta["engine"] = docker("version", "--format", "{{.Server.Version}}").stdout.strip()
        mode = node_mode()
        why = re.search(r"unable to [^:]+: [^:]+", mode.reason)
        meta["mode"] = f"{mode.name} ({why.group(0) if why else mode.reason[:120]})"
        raw = Raw(cli_options(mode))
        meta["options"] = " ".join(raw.options)
        serve = Serve(state_dir)
        cove = Cove(serve.url)
        cove.make_template()
        measure_crypto(res)

        meta["load_start"], meta["waited"] = wait_for_quiet(args.load_limit, args.max_wait)
        meta["started"] = dt.datetime.now(dt.UTC)
        log(f"measuring (1-minute load {meta['load_start']:.2f})")
        uuids = cove.uuids
        monitor = Monitor(lambda bench, cluster: bench == RUN_ID or cluster in uuids)
        pending = Pending()

        # Warm-up, not counted: a raw create warms the engine's page cache and image layers,
        # which are not cove's to pay. Then the first create of each freshly started `cove
        # serve` (its conductor detects the node mode, a probe container, when it starts),
        # paired with a raw create.
        raw_rep(raw, res, pending, 0, scale=False, record=False)
        for r in range(args.first_rounds):
            if r:
                errors += serve.grep(r" (ERROR|CRITICAL) ")
                serve.stop()
                serve = None  # a restart that fails leaves nothing for the cleanup to stop
                serve = Serve(state_dir)
                cove.use(serve.url)
            first = cove_rep(cove, res, pending, 0, scale=False, record=False)
            res.first.append((first, raw_rep(raw, res, pending, 0, scale=False, record=False)))
            probe = serve.grep(r"detected in [0-9.]+s")
            if probe:
                seconds = re.search(r"detected in ([0-9.]+)s", probe[0])
                res.probes.append(float(seconds.group(1)) if seconds else float("nan"))
                found = re.search(r"node containers run (\w+)", probe[0])
                meta["cove_mode"] = found.group(1) if found else "?"

        for i in range(1, args.repeat + 1):
            scale = i > args.repeat - args.scale_rounds
            got: dict[str, float] = {}
            for side in ("cove", "raw") if i % 2 else ("raw", "cove"):
                if side == "cove":
                    got[side] = cove_rep(cove, res, pending, i, scale)
                else:
                    got[side] = raw_rep(raw, res, pending, i, scale)
            res.pairs.append((got["cove"], got["raw"]))
        meta["load_creates"] = [s[1] for s in monitor.samples]

        if not args.skip_concurrent:
            need = args.clusters * (NODE_MEMORY_MIB["master"] + 2 * NODE_MEMORY_MIB["worker"])
            meta["mem_before_concurrent"] = mem_available_mib()
            if mem_available_mib() < 2 * need:
                res.notes.append(
                    f"Skipped the concurrent measure: {mem_available_mib():.0f} MiB available, "
                    f"{need} MiB expected per side (twice that required)."
                )
            else:
                concurrent_cove(cove, args.clusters, monitor, res)
                concurrent_raw(raw, args.clusters, monitor, res)
        meta["finished"] = dt.datetime.now(dt.UTC)
        analyse(pending, res)
        meta["loads"] = [s[1] for s in monitor.samples]
        meta["others"] = monitor.others
    finally:
        if monitor is not None:
            monitor.stop()
        if serve is not None:
            serve.stop()  # first, so its conductor makes nothing more
            errors += serve.grep(r" (ERROR|CRITICAL) ")
        meta["serve_errors"] = errors
        if cove is not None:
            cove.http.close()
        EVENTS.stop()
        labels = [f"{LABEL}={RUN_ID}"]
        labels += [f"{COVE_LABEL_CLUSTER}={u}" for u in (cove.uuids if cove else [])]
        meta["swept"] = sweep(labels)
        meta["left"] = sum(len(leftovers(label)) for label in labels)
        shutil.rmtree(state_dir, ignore_errors=True)


# -- the report ----------------------------------------------------------------------------------


def phase_rows(
    names: Sequence[str], cove: list[dict[str, float]], raw: list[dict[str, float]]
) -> list[str]:
    out = []
    for name in names:
        c = [ph[name] for ph in cove]
        r = [ph[name] for ph in raw]
        out.append(
            f"| {name} | {p50(c):.3f} | {span(c)} | {p50(r):.3f} | {span(r)} "
            f"| {p50(c) - p50(r):+.3f} |"
        )
    return out


def exec_table(title: str, cove: Breakdown, raw: Breakdown, per: str) -> list[str]:
    out = [
        "",
        title,
        "",
        f"| command | cove execs | cove p50 s | cove s per {per} | raw execs | raw p50 s "
        f"| raw s per {per} |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in sorted(set(cove.execs) | set(raw.execs)):
        cells = []
        for b in (cove, raw):
            d = b.execs.get(kind, [])
            cells.append(
                f"{len(d) / b.clusters:.1f} | {p50(d):.3f} | {sum(d) / b.clusters:.3f}"
                if d
                else "- | - | -"
            )
        out.append(f"| {kind} | {cells[0]} | {cells[1]} |")
    return out


def render(res: Results, meta: dict[str, Any], args: argparse.Namespace) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    started: dt.datetime = meta["started"]
    finished: dt.datetime = meta.get("finished", started)
    loads: list[float] = meta.get("loads") or [meta["load_start"]]
    others: list[int] = meta.get("others") or [0]
    creates: list[float] = meta.get("load_creates") or loads
    argv = " ".join(sys.argv[1:])
    out: list[str | None] = [
        "# cove cluster create: against raw engine commands",
        "",
        f"Run {started:%Y-%m-%d %H:%M}-{finished:%H:%M} UTC at commit `{commit or '?'}`: "
        f"`bench/cluster_create.py{(' ' + argv) if argv else ''}`. "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{mem_total_gib():.1f} GiB, Docker Engine {meta['engine']}. "
        f"Node image: {meta['image']}. Node containers: {meta['mode']}. "
        f"1-minute load {meta['load_start']:.2f} when measuring began "
        f"(waited {meta['waited']:.0f} s for < {args.load_limit}), "
        f"{min(creates):.2f}-{max(creates):.2f} during the creates and scale-outs, "
        f"{min(loads):.2f}-{max(loads):.2f} over the whole run (sampled every second; the "
        "concurrent measures load the machine themselves); "
        f"other people's running containers: {min(others)}-{max(others)} (every 5 s).",
        "",
        "cove: `cove serve` (API + conductor, SQLite) in a subprocess; completion is the first "
        f"GET answering the final status, polled every {POLL * 1000:.0f} ms. "
        "raw: `docker` CLI, same image and container options, no TLS, done when "
        f"`docker node ls` shows every node Ready (polled every {POLL * 1000:.0f} ms). "
        f"Both sides are measured to a {POLL * 1000:.0f} ms resolution. "
        "Ratio = cove p50 / raw p50.",
        "",
        "| measure | n | cove p50 s | cove min-max s | raw p50 s | raw min-max s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, cove: Sequence[float], raw: Sequence[float]) -> None:
        if not cove or not raw:
            return
        out.append(
            f"| {name} | {len(cove)} | {p50(cove):.2f} | {span(cove)} | {p50(raw):.2f} "
            f"| {span(raw)} | **{p50(cove) / p50(raw):.2f}x** |"
        )

    row("create, 1 manager + 2 workers", res.create_cove, res.create_raw)
    for label in res.scale_cove:
        row(f"scale-out {label}, per added node", res.scale_cove[label],
            res.scale_raw.get(label, []))  # fmt: skip
    for nodes in sorted(res.delete):
        row(f"delete, {nodes} nodes (raw: `docker rm -f -v` of them, `network rm`)",
            res.delete[nodes], res.delete_raw.get(nodes, []))  # fmt: skip
    conc = res.concurrent
    if "cove" in conc and "raw" in conc:
        n = args.clusters
        row(f"{n} clusters at once ({3 * n} nodes): until all complete",
            [conc["cove"]["all"]], [conc["raw"]["all"]])  # fmt: skip
        row(f"{n} clusters at once: each cluster, from the common start",
            conc["cove"]["each"], conc["raw"]["each"])  # fmt: skip
    if res.pairs:
        ratios = [c / r for c, r in res.pairs]
        out += [
            "",
            f"Paired create ratios (cove/raw, run back to back, alternating which went first): "
            f"p50 {p50(ratios):.2f}x, {min(ratios):.2f}-{max(ratios):.2f}x.",
        ]
    if res.first:
        cove_first = [c for c, _ in res.first]
        raw_first = [r for _, r in res.first]
        out += [
            "",
            f"First create after start-up ({len(res.first)} fresh `cove serve` starts, each "
            "paired with a raw create; the engine warmed by a raw create first, not counted): "
            f"cove p50 {p50(cove_first):.2f} s ({span(cove_first)}), raw p50 "
            f"{p50(raw_first):.2f} s ({span(raw_first)}), "
            f"**{p50(cove_first) / p50(raw_first):.2f}x**; paired ratios "
            f"{', '.join(f'{c / r:.2f}x' for c, r in res.first)}. cove's conductor detected "
            f"the node mode at each start in {', '.join(f'{x:.2f}' for x in res.probes)} s "
            f"(it chose {meta.get('cove_mode', '?')}).",
        ]
    if res.phases_cove and res.phases_raw:
        out += [
            "",
            "Where the time goes (1 manager + 2 workers), from the engine's `docker events` "
            "timestamps; p50 per phase over the counted creates (the p50s need not add up to "
            "the p50 total):",
            "",
            "| phase | cove p50 s | cove min-max s | raw p50 s | raw min-max s | cove - raw s |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        out += phase_rows(PHASES, res.phases_cove, res.phases_raw)
    bc, br = res.breakdown_cove, res.breakdown_raw
    if bc.clusters and br.clusters:
        out += exec_table(
            "Commands run inside the nodes during a create (`docker exec`; exec_create to "
            "exec_die, so each includes the engine's exec set-up), per create:",
            bc, br, "create",
        )  # fmt: skip
        out.append("")
        out.append(
            f"Node containers, create to start (p50 per node): cove "
            f"{p50(bc.create_to_start):.3f} s ({span(bc.create_to_start)}), raw "
            f"{p50(br.create_to_start):.3f} s ({span(br.create_to_start)}); first to last "
            f"create of a cluster: cove {p50(bc.creates_spread):.3f} s, raw "
            f"{p50(br.creates_spread):.3f} s."
        )
    for label, (pc, pr) in res.scale_phases.items():
        if pc and pr:
            out += [
                "",
                f"Scale-out {label}: phases from the engine's events (p50, whole operation):",
                "",
                "| phase | cove p50 s | cove min-max s | raw p50 s | raw min-max s "
                "| cove - raw s |",
                "|---|---:|---:|---:|---:|---:|",
                *phase_rows(SCALE_PHASES, pc, pr),
            ]
    for label, (sc, sr) in res.scale_breakdown.items():
        if sc.clusters and sr.clusters:
            out += exec_table(
                f"Commands run inside the nodes during scale-out {label}, per operation:",
                sc, sr, "op",
            )  # fmt: skip
    if res.cove_events:
        out += ["", "cove's own event log, seconds after the POST (p50, min-max):", ""]
        keys = list(res.cove_events[0])
        for key in keys:
            values = [m[key] for m in res.cove_events if key in m]
            out.append(f"- {key}: {p50(values):.3f} ({span(values)})")
    out += [
        "",
        "Details:",
        "",
        f"- POST /v1/clusters took {p50(res.post) * 1000:.0f} ms p50 "
        f"({min(res.post) * 1000:.0f}-{max(res.post) * 1000:.0f}); it makes the cluster's CA "
        f"({res.crypto['ca_ms']:.2f} ms of CPU, measured in-process). Each manager's server "
        f"certificate costs {res.crypto['server_cert_ms']:.2f} ms more, in the conductor."
        if res.post and res.crypto
        else None,
        f"- Nodes Ready when cove reported CREATE_COMPLETE (one `docker node ls`): "
        f"{', '.join(f'{n}/3' for n in res.ready_at_complete)}."
        if res.ready_at_complete
        else None,
        "- Delete: cove's is DELETE, then GET every 50 ms until 404; raw's is the same "
        "containers' `docker rm -f -v` (the CLI removes them in parallel) and the network's "
        "`rm`. Nothing labelled with a deleted cluster remained."
        if res.delete
        else None,
    ]
    if res.scale_ready:
        out.append(
            "- Nodes not Ready right after each resize completed: "
            + ", ".join(str(-n if n < 0 else 0) for n in res.scale_ready)
            + "."
        )
    if "cove" in conc:
        c = conc["cove"]
        line = (
            f"- {args.clusters} at once, cove: POSTs {p50(c['post']) * 1000:.0f} ms p50 "
            f"({min(c['post']) * 1000:.0f}-{max(c['post']) * 1000:.0f}); first node container "
            f"of each cluster created {span(c['first_node'])} s after the start (p50 "
            f"{p50(c['first_node']):.2f}); at most {c['at_once']} clusters in progress at "
            f"once (from their network to completion); {c['execs']} execs; Ready at completion: "
            f"{', '.join(f'{n}/3' for n in c['ready'])}; memory used at the peak "
            f"{c['mem_used']:.0f} MiB; load {min(c['load'], default=0):.2f}-"
            f"{max(c['load'], default=0):.2f}; delete of all {conc.get('cove_delete', 0):.1f} s."
        )
        out.append(line)
    if "raw" in conc:
        r = conc["raw"]
        out.append(
            f"- {args.clusters} at once, raw: {3 * args.clusters} `docker run` in parallel "
            f"threads; {r['execs']} execs; memory used at the peak {r['mem_used']:.0f} MiB; load "
            f"{min(r['load'], default=0):.2f}-{max(r['load'], default=0):.2f}."
        )
    out += [f"- {note}" for note in res.notes]
    out.append(
        f"- Raw node options (from cove's `NodeMode`): `{meta['options']}`, "
        "plus `--cgroup-parent=/<node> --storage-driver=overlay2` for the inner dockerd."
    )
    if meta.get("serve_errors"):
        out.append(f"- cove serve logged {len(meta['serve_errors'])} error line(s).")
    out.append(
        f"- Cleanup: {meta.get('swept', 0)} object(s) left at the end and swept; "
        f"{meta.get('left', 0)} remain."
    )
    return "\n".join(line for line in out if line is not None) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="creates per side (default 5)")
    parser.add_argument(
        "--scale-rounds", type=int, default=2,
        help="of those, how many also scale out 2->3->5 workers (default 2)",
    )  # fmt: skip
    parser.add_argument(
        "--first-rounds", type=int, default=3,
        help="fresh `cove serve` starts whose first create is measured (default 3)",
    )  # fmt: skip
    parser.add_argument("--skip-concurrent", action="store_true",
                        help="skip the 10-clusters-at-once measure")  # fmt: skip
    parser.add_argument("--clusters", type=int, default=10, help="clusters at once (default 10)")
    parser.add_argument(
        "--load-limit", type=float, default=LOAD_LIMIT,
        help="wait for the 1-minute load to drop below this (default 1.5)",
    )  # fmt: skip
    parser.add_argument("--max-wait", type=float, default=240,
                        help="seconds to wait for that at most (default 240)")  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.first_rounds < 1 or not 0 <= args.scale_rounds <= args.repeat:
        parser.error("need --repeat >= 1, --first-rounds >= 1, 0 <= --scale-rounds <= --repeat")
    # SIGTERM, and SIGINT even when started in the background (which ignores it), end the
    # run through run()'s cleanup instead of killing the process with nodes still running.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    res = Results()
    meta: dict[str, Any] = {}
    started = now()
    run(args, res, meta)
    report = render(res, meta, args)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    log(f"done in {now() - started:.0f}s (run id {RUN_ID})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
