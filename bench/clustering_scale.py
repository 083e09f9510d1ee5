"""Container cluster scale-out against plain ``docker run`` on the same nodes, in one run.

A real ``cove serve`` (as cluster_create.py starts it, whose helpers this reuses) makes a
swarm-mode cluster of 1 manager + 3 workers. A container cluster of the busybox test image
(tests/e2e/conftest.py ``busybox_image``; ``httpd -f -p 80``, port 80 published on a port the
engine picks, restart policy "no") starts empty. Then, interleaved (alternating which side
goes first), ``--repeat`` rounds of:

* cove: ``POST /clustering/v1/clusters/<id>/actions {"scale_out": {"count": N}}``; the action
  is polled with ``GET /clustering/v1/actions/<id>`` every 50 ms until SUCCEEDED (the time
  of "every new member ACTIVE"); then one ``docker ps`` per host node (in parallel, through
  ``docker exec <node>``) confirms the N new containers running (the time of "running").
  Untimed: ``scale_in`` of N, and a check that none of the cluster's containers remain.
* raw: the same N containers (same image, already on every node; same command, port, restart
  policy and number of labels) started by N parallel ``docker exec <node> docker run -d …``,
  spread over the nodes exactly as cove's previous round placed its members; "ACTIVE" is
  when every ``docker run -d`` has returned (it returns once the container started), then
  the same ``docker ps`` confirmation. Untimed: ``docker rm -f``.

Containers placed per second = N / the time to running. The ratio is cove / raw (p50).

    .venv/bin/python bench/clustering_scale.py [--count 8] [--repeat 5] [--profile]

Prints a markdown report and writes bench/results/clustering_scale.md. ``--profile`` runs
py-spy (if installed) against ``cove serve`` during the cove rounds and adds its top
functions to the report.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cluster_create import (  # the shared helpers of bench/ (run as bench/clustering_scale.py)
    COVE_LABEL_CLUSTER,
    LABEL,
    RUN_ID,
    Cove,
    Serve,
    build_image,
    docker,
    leftovers,
    load1,
    log,
    now,
    parallel,
    sweep,
    wait_for_quiet,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "clustering_scale.md"
SENLIN = {"OpenStack-API-Version": "clustering 1.14"}
OWNER = "cove.clustering.cluster"  # cove.drivers.containerhost.OWNER_LABEL
POLL = 0.05
TIMEOUT = 300.0
COMMAND = ["httpd", "-f", "-p", "80"]


def busybox_image() -> str:
    """The e2e suite's busybox image (tests/e2e/conftest.py), newest tag."""
    out = docker("images", "cove-e2e/busybox", "--format", "{{.Repository}}:{{.Tag}}").stdout
    tags = out.split()
    if not tags:
        raise SystemExit(
            "no cove-e2e/busybox image: run the e2e container-cluster tests once "
            "(pytest tests/e2e/test_container_clusters.py), which build it"
        )
    return tags[0]


@dataclass
class Round:
    side: str
    active: float  # call -> every new member ACTIVE (raw: every docker run -d returned)
    running: float  # call -> the docker ps that saw all N running
    spread: dict[str, int]
    started: float
    post: float = 0.0  # cove: the POST's own time
    created: tuple[float, float] = (0.0, 0.0)  # first, last container created (from the call)
    began: tuple[float, float] = (0.0, 0.0)  # first, last container started (from the call)
    ended: float = 0.0  # cove: the action's end_time (from the call)


@dataclass
class Results:
    rounds: list[Round] = field(default_factory=list)
    warmup: list[Round] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)


class Senlin:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=f"{url}/clustering/v1", headers=SENLIN, timeout=60)

    def ok(self, method: str, path: str, status: int, **kw: Any) -> httpx.Response:
        response = self.http.request(method, path, **kw)
        if response.status_code != status:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:400]}")
        return response

    def start(self, method: str, path: str, **kw: Any) -> str:
        response = self.ok(method, path, 202, **kw)
        return response.headers["Location"].rsplit("/", 1)[1]

    def finished(self, action: str) -> dict[str, Any]:
        """GET every 50 ms until the action ends; it must have SUCCEEDED."""
        deadline = now() + TIMEOUT
        while True:
            body = self.ok("GET", f"/actions/{action}", 200).json()["action"]
            if body["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                if body["status"] != "SUCCEEDED":
                    raise RuntimeError(f"action {action}: {body['status']} {body['status_reason']}")
                return dict(body)
            if now() > deadline:
                raise RuntimeError(f"action {action} not done after {TIMEOUT:.0f}s")
            time.sleep(POLL)

    def members(self, cluster: str) -> list[dict[str, Any]]:
        nodes = self.ok("GET", f"/nodes?cluster_id={cluster}", 200).json()["nodes"]
        return list(nodes)


def running(nodes: Sequence[str], label: str) -> dict[str, list[str]]:
    """Running containers carrying ``label``, per host node, from each node's engine."""

    def ps(node: str) -> list[str]:
        out = docker("exec", node, "docker", "ps", "--filter", f"label={label}",
                     "--format", "{{.Names}}", check=False)  # fmt: skip
        return out.stdout.split()

    return dict(zip(nodes, parallel(ps, list(nodes)), strict=True))


def engine_times(nodes: Sequence[str], label: str, t0: float) -> dict[str, tuple[float, float]]:
    """The engines' own record of the containers carrying ``label``: (first, last) Created
    and StartedAt, in seconds from ``t0`` (the nodes share the host's clock)."""

    def times(node: str) -> list[tuple[float, float]]:
        ids = docker("exec", node, "docker", "ps", "-q", "--filter", f"label={label}").stdout
        if not ids.split():
            return []
        out = docker("exec", node, "docker", "inspect", "--format",
                     "{{.Created}} {{.State.StartedAt}}", *ids.split()).stdout  # fmt: skip
        return [(stamp(a) - t0, stamp(b) - t0) for a, b in (line.split() for line in
                                                            out.splitlines())]  # fmt: skip

    found = [t for batch in parallel(times, list(nodes)) for t in batch]
    created = [c for c, _ in found]
    started = [s for _, s in found]
    return {"created": (min(created), max(created)), "began": (min(started), max(started))}


def stamp(value: str) -> float:
    """RFC 3339 with nanoseconds (the engine's) as a POSIX time."""
    match = re.fullmatch(r"(.+?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", value)
    if match is None:
        raise ValueError(value)
    base, frac, zone = match.groups()
    parsed = dt.datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return parsed.timestamp() + float(f"0.{frac or 0}")


class Spy:
    """py-spy attached to ``cove serve`` around each measured scale-out only (not the
    verification, the scale-in or the raw side); the stacks of every window, collected."""

    def __init__(self, binary: str, pid: int, folder: Path) -> None:
        self.binary, self.pid, self.folder = binary, pid, folder
        self.stacks: list[str] = []
        self.seconds = 0.0
        self._proc: subprocess.Popen[str] | None = None
        self._out = folder / "spy.txt"
        self._began = 0.0

    def __enter__(self) -> Spy:
        self._proc = subprocess.Popen(
            [self.binary, "record", "--pid", str(self.pid), "--format", "raw", "--threads",
             "--idle", "--rate", str(PROFILE_RATE), "--output", str(self._out)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self._proc.stdout is not None
        for line in self._proc.stdout:  # sampling starts once it says so (on stdout)
            if "Sampling process" in line:
                break
        self._began = now()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        self.seconds += now() - self._began
        self._proc.send_signal(signal.SIGINT)
        self._proc.communicate(timeout=60)
        if self._out.exists():
            self.stacks += self._out.read_text().splitlines()
            self._out.unlink()
        self._proc = None


def cove_round(
    api: Senlin, cluster: str, nodes: Sequence[str], count: int, spy: Spy | None = None
) -> Round:
    before = {m["id"] for m in api.members(cluster)}
    with spy if spy is not None else contextlib.nullcontext():
        t0 = now()
        action = api.start(
            "POST", f"/clusters/{cluster}/actions", json={"scale_out": {"count": count}}
        )
        post = now() - t0
        done = api.finished(action)
        active = now() - t0
    seen = running(nodes, f"{OWNER}={cluster}")
    ran = now() - t0
    members = [m for m in api.members(cluster) if m["id"] not in before]
    if len(members) != count or any(m["status"] != "ACTIVE" for m in members):
        raise RuntimeError(f"scale_out: {[(m['name'], m['status']) for m in members]}")
    if sum(len(v) for v in seen.values()) != len(before) + count:
        raise RuntimeError(f"scale_out: running containers {seen}")
    spread = collections.Counter(str(m["data"]["placement"]["host_node"]) for m in members)
    phases = engine_times(nodes, f"{OWNER}={cluster}", t0)
    # reset, untimed
    api.finished(
        api.start("POST", f"/clusters/{cluster}/actions", json={"scale_in": {"count": count}})
    )
    left = running(nodes, f"{OWNER}={cluster}")
    if any(left.values()):
        raise RuntimeError(f"scale_in left {left}")
    ended = float(done["end_time"]) - t0
    return Round(
        "cove", active, ran, dict(spread), t0, post, phases["created"], phases["began"], ended
    )


def raw_round(image: str, nodes: Sequence[str], spread: dict[str, int], index: int) -> Round:
    label = f"{LABEL}.raw={RUN_ID}-{index}"
    nodes_in_order = [node for node, n in sorted(spread.items()) for _ in range(n)]
    plan = [(node, f"raw-{index}-{k}") for k, node in enumerate(nodes_in_order)]

    def run(item: tuple[str, str]) -> None:
        node, name = item
        docker("exec", node, "docker", "run", "-d", "--name", name, "--restart", "no",
               "-p", "80/tcp", "--label", label, "--label", f"{LABEL}.node={name}",
               "--label", f"{LABEL}.profile=raw", image, *COMMAND)  # fmt: skip

    t0 = now()
    parallel(run, plan)
    active = now() - t0
    seen = running(nodes, label)
    ran = now() - t0
    if sum(len(v) for v in seen.values()) != len(plan):
        raise RuntimeError(f"raw: running containers {seen}")
    phases = engine_times(nodes, label, t0)

    def remove(node: str) -> None:
        if seen[node]:
            docker("exec", node, "docker", "rm", "-f", *seen[node])

    parallel(remove, list(nodes))
    return Round("raw", active, ran, dict(spread), t0, 0.0, phases["created"], phases["began"])


def stats_probe(nodes: Sequence[str], times: int = 5) -> list[float]:
    """Seconds of one-shot stats of a node container from the host engine, the call cove's
    placement makes for every node (``cove.providers.docker.stats.StatsReader.sample``)."""
    import docker as docker_sdk

    api = docker_sdk.APIClient(version="auto")
    out = []
    try:
        for i in range(times):
            started = time.perf_counter()
            api.stats(nodes[i % len(nodes)], stream=False, one_shot=True)
            out.append(time.perf_counter() - started)
    finally:
        api.close()
    return out


def py_spy() -> str | None:
    """``COVE_BENCH_PY_SPY``, else py-spy on PATH, else beside the interpreter."""
    found = (
        os.environ.get("COVE_BENCH_PY_SPY")
        or shutil.which("py-spy")
        or str(Path(sys.executable).parent / "py-spy")
    )
    return found if Path(found).exists() else None


def run(args: argparse.Namespace, res: Results, meta: dict[str, Any]) -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="cove-bench-"))
    serve: Serve | None = None
    cove: Cove | None = None
    try:
        image = busybox_image()
        meta["image"] = image
        meta["node_image"] = build_image(state_dir).line
        meta["engine"] = docker("version", "--format", "{{.Server.Version}}").stdout.strip()
        serve = Serve(state_dir)
        cove = Cove(serve.url)
        cove.make_template()
        uuid, _ = cove.post(f"host-{RUN_ID}", workers=3)
        cove.wait(uuid, "CREATE_IN_PROGRESS", "CREATE_COMPLETE")
        nodes = sorted(
            docker("ps", "--filter", f"label={COVE_LABEL_CLUSTER}={uuid}",
                   "--format", "{{.Names}}").stdout.split()
        )  # fmt: skip
        meta["nodes"] = nodes
        log(f"host cluster {uuid}: {nodes}")
        api = Senlin(serve.url)
        spec = {
            "type": "container.dockerinc.docker",
            "version": "1.0",
            "properties": {
                "image": image,
                "command": " ".join(COMMAND),
                "host_cluster": uuid,
                "ports": [{"container_port": 80}],
                "restart_policy": "no",
            },
        }
        api.ok("POST", "/profiles", 201, json={"profile": {"name": "web", "spec": spec}})
        cluster_body = {"cluster": {"name": "web", "profile_id": "web", "desired_capacity": 0}}
        response = api.ok("POST", "/clusters", 202, json=cluster_body)
        cluster = response.json()["cluster"]["id"]
        api.finished(response.headers["Location"].rsplit("/", 1)[1])

        # Warm-up, not counted: streams the image to the nodes (cove's first placement on a
        # node loads it from the host engine), opens cove's engine clients, warms both sides.
        res.warmup.append(cove_round(api, cluster, nodes, args.count))
        have = {n for n, imgs in images_on(nodes, image).items() if imgs}
        missing = sorted(set(nodes) - have)
        if missing:  # the raw side needs the image on every node it uses
            res.notes.append(f"image absent after the warm-up on {missing}; loaded by hand")
            for node in missing:
                load = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
                subprocess.run(["docker", "exec", "-i", node, "docker", "load"],
                               stdin=load.stdout, capture_output=True, check=True)  # fmt: skip
                load.wait()
        spread = res.warmup[-1].spread
        res.warmup.append(raw_round(image, nodes, spread, 0))

        meta["load_start"], meta["waited"] = wait_for_quiet(args.load_limit, args.max_wait)
        meta["started"] = dt.datetime.now(dt.UTC)
        meta["uptime_start"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout
        spy: Spy | None = None
        if args.profile:
            binary = py_spy()
            if binary is None:
                res.notes.append("--profile: py-spy is not installed; no profile")
            else:
                spy = Spy(binary, serve.proc.pid, state_dir)
        loads: list[float] = []
        for i in range(1, args.repeat + 1):
            for side in ("cove", "raw") if i % 2 else ("raw", "cove"):
                loads.append(load1())
                if side == "cove":
                    got = cove_round(api, cluster, nodes, args.count, spy)
                    spread = got.spread
                else:
                    got = raw_round(image, nodes, spread, i)
                res.rounds.append(got)
                log(f"round {i} {side}: active {got.active:.2f}s running {got.running:.2f}s "
                    f"{got.spread}")  # fmt: skip
        meta["loads"] = loads
        meta["stats_probe"] = stats_probe(nodes)
        meta["finished"] = dt.datetime.now(dt.UTC)
        meta["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout
        if spy is not None:
            res.profile = spy.stacks
            meta["profiled"] = spy.seconds
        response = api.ok("DELETE", f"/clusters/{cluster}?force=true", 202)
        api.finished(response.headers["Location"].rsplit("/", 1)[1])
        meta["cluster_left"] = leftovers(f"{OWNER}={cluster}")
    finally:
        if serve is not None:
            serve.stop()
            meta["serve_errors"] = serve.grep(r" (ERROR|CRITICAL) ")
        if cove is not None:
            cove.http.close()
        labels = [f"{LABEL}={RUN_ID}"]
        labels += [f"{COVE_LABEL_CLUSTER}={u}" for u in (cove.uuids if cove else [])]
        meta["swept"] = sweep(labels)
        meta["left"] = sum(len(leftovers(label)) for label in labels)
        shutil.rmtree(state_dir, ignore_errors=True)


def images_on(nodes: Sequence[str], image: str) -> dict[str, list[str]]:
    def has(node: str) -> list[str]:
        out = docker("exec", node, "docker", "images", "-q", image, check=False)
        return out.stdout.split()

    return dict(zip(nodes, parallel(has, list(nodes)), strict=True))


# -- the report --------------------------------------------------------------------------------


def p50(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


PROFILE_RATE = 200


def cove_inclusive(raw: Sequence[str], limit: int = 30) -> list[tuple[str, float]]:
    """Seconds of wall time (samples / rate) spent in or under each of cove's functions,
    summed over the threads that were in it: py-spy's raw (collapsed) stacks, idle threads
    included, so a function waiting on the engine counts as long as it waits."""
    inclusive: collections.Counter[str] = collections.Counter()
    for line in raw:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        mine = set()
        for frame in stack.split(";"):
            match = re.match(r"(.+?) \((?:.*/)?(cove/[^:]+)(?::\d+)?\)$", frame)
            if match:
                mine.add(f"{match.group(2)}:{match.group(1)}")
        for name in mine:
            inclusive[name] += int(count)
    return [(f, n / PROFILE_RATE) for f, n in inclusive.most_common(limit)]


BREAKDOWN = (
    "Actions._plan",
    "SwarmContainerHost.loads",
    "Actions._make",
    "SwarmContainerHost.ensure_container",
    "SwarmContainerHost._node",
)


def children(raw: Sequence[str], parent: str) -> list[tuple[str, float]]:
    """Wall seconds (summed over threads) of what ``parent`` (``Class.function``) calls
    directly, from py-spy's collapsed stacks."""
    out: collections.Counter[str] = collections.Counter()
    for line in raw:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        at = next((i for i, f in enumerate(frames) if f.startswith(f"{parent} (")), None)
        if at is None:
            continue
        child = frames[at + 1] if at + 1 < len(frames) else "(itself)"
        match = re.match(r"(.+?) \((?:.*/)?([^/:]+)(?::\d+)?\)$", child)
        out[f"{match.group(2)}:{match.group(1)}" if match else child] += int(count)
    return [(f, n / PROFILE_RATE) for f, n in out.most_common(8)]


def render(res: Results, meta: dict[str, Any], args: argparse.Namespace) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    cove = [r for r in res.rounds if r.side == "cove"]
    raw = [r for r in res.rounds if r.side == "raw"]
    n = args.count
    out = [
        "# cove container cluster scale-out against plain docker run",
        "",
        f"Run {meta.get('started', dt.datetime.now(dt.UTC)):%Y-%m-%d %H:%M} UTC at commit "
        f"`{commit or '?'}`: `bench/clustering_scale.py --count {n} --repeat {args.repeat}"
        f"{' --profile' if args.profile else ''}`. Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, engine {meta.get('engine', '?')}. Host cluster: 1 manager + "
        f"3 workers ({meta.get('node_image', '?')}); image `{meta.get('image', '?')}`, "
        f"`{' '.join(COMMAND)}`, port 80 published, restart no.",
        f"Machine: `{(meta.get('uptime_start') or '').strip()}` at the start, "
        f"`{(meta.get('uptime_end') or '').strip()}` at the end; 1-minute load before each "
        f"round {min(meta.get('loads') or [0]):.2f}-{max(meta.get('loads') or [0]):.2f}.",
        "",
        f"Polling: cove's action every {POLL * 1000:.0f} ms, so cove's ACTIVE time is late by "
        f"0-{POLL * 1000:.0f} ms plus one GET; the raw side needs no polling (`docker run -d` "
        "returns once started). 'Running' adds one parallel `docker ps` per node on both sides.",
        "",
        f"| measure ({n} containers) | cove p50 s | raw p50 s | ratio p50 | cove range s "
        "| raw range s |",
        "|---|---:|---:|---:|---|---|",
    ]

    def rng(values: Sequence[float]) -> str:
        return f"{min(values):.2f}-{max(values):.2f}" if values else "-"

    for title, key in (("call -> all ACTIVE (action SUCCEEDED)", "active"),
                       ("call -> all running (docker ps)", "running")):  # fmt: skip
        c = [getattr(r, key) for r in cove]
        w = [getattr(r, key) for r in raw]
        out.append(f"| {title} | {p50(c):.2f} | {p50(w):.2f} | {p50(c) / p50(w):.2f}x "
                   f"| {rng(c)} | {rng(w)} |")  # fmt: skip
    for title, key, k in (("call -> first container created (engine)", "created", 0),
                          ("call -> last container created (engine)", "created", 1),
                          ("call -> last container started (engine)", "began", 1)):  # fmt: skip
        c = [getattr(r, key)[k] for r in cove]
        w = [getattr(r, key)[k] for r in raw]
        out.append(f"| {title} | {p50(c):.2f} | {p50(w):.2f} | {p50(c) / p50(w):.2f}x "
                   f"| {rng(c)} | {rng(w)} |")  # fmt: skip
    c = [r.ended for r in cove]
    out.append(f"| call -> action end_time (cove's record) | {p50(c):.2f} | - | - | {rng(c)} | - |")
    probe = meta.get("stats_probe") or []
    if probe:
        out.append(f"| host engine: one-shot stats of one node container (5 calls) "
                   f"| {p50(probe):.2f} | - | - | {rng(probe)} | - |")  # fmt: skip
    c_rate = [n / r.running for r in cove]
    w_rate = [n / r.running for r in raw]
    out.append(
        f"| containers placed per second (to running) | {p50(c_rate):.1f}/s | "
        f"{p50(w_rate):.1f}/s | {p50(w_rate) / p50(c_rate):.2f}x slower | - | - |"
    )
    pairs = [
        (a.running / b.running)
        for a, b in zip(
            [r for r in res.rounds if r.side == "cove"],
            [r for r in res.rounds if r.side == "raw"],
            strict=False,
        )
    ]
    out += [
        "",
        f"Paired ratios (running, per round): {', '.join(f'{x:.2f}' for x in pairs)}. "
        f"cove's POST took {rng([r.post for r in cove])} s. Spread of the new members: "
        + "; ".join(str(r.spread) for r in cove),
        "",
        "| round | side | first created s | last created s | last started s | active s "
        "| running s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(res.rounds):
        out.append(f"| {i // 2 + 1} | {r.side} | {r.created[0]:.2f} | {r.created[1]:.2f} "
                   f"| {r.began[1]:.2f} | {r.active:.2f} | {r.running:.2f} |")  # fmt: skip
    out += ["", "Warm-up (not counted): "
            + "; ".join(f"{r.side} {r.running:.2f} s" for r in res.warmup)]  # fmt: skip
    if res.profile:
        out += ["", f"py-spy (`record --idle --threads`, {PROFILE_RATE} Hz) of `cove serve` "
                f"during the measured scale-outs only ({meta.get('profiled', 0):.1f} s "
                "sampled over the cove rounds; py-spy slows the server it samples, so these "
                "rounds' times are not the committed ones): "
                "wall seconds in or under each of cove's functions, summed over threads "
                "(parallel threads add up; waits count):", "",
                "| s | function |", "|---:|---|"]  # fmt: skip
        for frame, seconds in cove_inclusive(res.profile):
            out.append(f"| {seconds:.2f} | `{frame}` |")
        out += ["", "What the busiest of them call directly (wall seconds summed over threads):",
                "", "| caller | callee | s |", "|---|---|---:|"]  # fmt: skip
        for parent in BREAKDOWN:
            for callee, seconds in children(res.profile, parent):
                out.append(f"| `{parent}` | `{callee}` | {seconds:.2f} |")
    out += [
        "",
        f"Cleanup: swept {meta.get('swept', '?')} objects, {meta.get('left', '?')} left; "
        f"containers of the container cluster left: {len(meta.get('cluster_left') or [])}.",
    ]
    out += [f"- {note}" for note in res.notes]
    if meta.get("serve_errors"):
        out += ["", "Errors in cove serve's log:", ""] + [
            f"    {e}" for e in meta["serve_errors"][:10]
        ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=8, help="containers per scale-out")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per side (default 5)")
    parser.add_argument("--profile", action="store_true", help="py-spy cove serve meanwhile")
    parser.add_argument("--stacks", type=Path, help="with --profile: keep py-spy's stacks here")
    parser.add_argument("--load-limit", type=float, default=1.5)
    parser.add_argument("--max-wait", type=float, default=120)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    res = Results()
    meta: dict[str, Any] = {}
    started = now()
    run(args, res, meta)
    if args.stacks and res.profile:
        args.stacks.write_text("\n".join(res.profile) + "\n")
    report = render(res, meta, args)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    log(f"done in {now() - started:.0f}s (run id {RUN_ID})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
