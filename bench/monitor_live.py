"""The health monitor against live clusters: what one pass costs with N real swarm-mode
clusters (default 20, each 1 manager + 1 worker, docker-in-docker nodes on this engine).

A ``cove serve`` subprocess (SQLite in a temporary state directory, its own monitor held off
with ``COVE_HEALTH_INTERVAL=3600``) creates the clusters. Then this process runs the
conductor's ``HealthMonitor`` on the same database with the real drivers and provider, one
pass after another, and measures per pass: wall time, this process's CPU time (the
conductor's share), the Docker engine API calls it made (counted at the HTTP session, by
kind: the host engine's and the node engines'), the host engine's CPU time (``dockerd``'s
/proc stat) and the whole machine's busy CPU time (/proc/stat: the node engines answering
included). It does so with the checks in series (``parallel=1``) and at the conductor's
default (two per core).

    .venv/bin/python bench/monitor_live.py [--clusters 20] [--passes 5]

Prints a markdown table and writes bench/results/monitor_live.md. Everything made is deleted
through the API at the end, and anything left labelled with its clusters swept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster_create as cc

from cove.conductor.monitor import HealthMonitor
from cove.conductor.service import default_workers
from cove.db.session import make_engine, make_session_factory
from cove.drivers.registry import build_registry
from cove.pki import keystore
from cove.providers.registry import ProviderSet
from cove.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "monitor_live.md"
TICK = os.sysconf("SC_CLK_TCK")
# An id or name after the collection (not the collection's own verbs: /containers/json).
NAMED = re.compile(r"^/(containers|exec|networks|volumes)/(?!json$|create$)[^/]+(?=/|$)")


class EngineCalls:
    """Counts every HTTP request this process sends (the docker client's, through requests),
    by method and path with ids folded to ``{id}``."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        original: Callable[..., Any] = requests.Session.send

        def send(session: requests.Session, request: Any, **kw: Any) -> Any:
            path = re.sub(r"^/v[0-9.]+", "", request.path_url.split("?")[0])
            path = NAMED.sub(r"/\1/{id}", path)
            self.calls[f"{request.method} {path}"] += 1
            return original(session, request, **kw)

        requests.Session.send = send  # type: ignore[method-assign,assignment]

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        before = Counter(self.calls)
        counted: Counter[str] = Counter()
        yield counted
        counted.update(self.calls - before)


def dockerd_cpu() -> float:
    """CPU seconds of the host's dockerd so far."""
    pid = subprocess.run(["pidof", "-s", "dockerd"], capture_output=True, text=True).stdout
    if not pid.strip():
        return float("nan")
    fields = Path(f"/proc/{pid.strip()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine so far (every core; idle and iowait excluded)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICK


@dataclass
class Pass:
    wall: float
    cpu: float
    dockerd: float
    machine: float
    calls: Counter[str]
    idle_machine: float = 0.0  # the machine's busy CPU over as long a time with no pass


@dataclass
class Measure:
    parallel: int
    passes: list[Pass] = field(default_factory=list)


def one_pass(monitor: HealthMonitor, engine_calls: EngineCalls) -> Pass:
    with engine_calls.counting() as calls:
        wall, cpu = time.perf_counter(), time.process_time()
        daemon, machine = dockerd_cpu(), machine_busy()
        started = monitor.check_all()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        daemon, machine = dockerd_cpu() - daemon, machine_busy() - machine
    if started:
        raise RuntimeError(f"the pass started {started} heal operations: a cluster is unhealthy")
    # The live nodes' own background (swarm heartbeats, engines' housekeeping) over a time as
    # long: what the machine spends with no pass, to subtract.
    idle = machine_busy()
    time.sleep(wall)
    return Pass(wall, cpu, daemon, machine, calls, machine_busy() - idle)


def create_clusters(cove: cc.Cove, count: int) -> list[str]:
    uuids = [cove.post(f"live-{n}", workers=1)[0] for n in range(count)]
    for uuid in uuids:
        cove.wait(uuid, "CREATE_IN_PROGRESS", "CREATE_COMPLETE")
    return uuids


def measure(state_dir: Path, count: int, passes: int, parallels: list[int]) -> list[Measure]:
    settings = Settings(state_dir=state_dir)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine, keystore.load(settings))
    registry = build_registry(
        settings.extra_drivers,
        ProviderSet(settings.docker_host, publish_address=settings.publish_address),
    )
    engine_calls = EngineCalls()
    results = []
    try:
        for parallel in parallels:
            monitor = HealthMonitor(factory, registry, parallel=parallel)
            one_pass(monitor, engine_calls)  # warm: connections, the driver's caches
            found = Measure(parallel)
            for _ in range(passes):
                found.passes.append(one_pass(monitor, engine_calls))
            cc.log(
                f"parallel={parallel}: pass p50 "
                f"{statistics.median(p.wall for p in found.passes):.2f}s"
            )
            results.append(found)
    finally:
        engine.dispose()
    return results


def render(results: list[Measure], count: int, meta: dict[str, Any], begun: dt.datetime) -> str:
    def p50(values: list[float]) -> float:
        return statistics.median(values)

    lines = [
        "# Health monitor: one pass over live clusters",
        "",
        f"Run {begun:%Y-%m-%d %H:%M} UTC at commit `{meta['commit']}`: `bench/monitor_live.py "
        f"--clusters {count} --passes {meta['passes']}`. Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, Docker engine {meta['engine']}; {count} swarm-mode clusters "
        "of 1 manager + 1 worker (docker-in-docker), all HEALTHY; 1-minute load "
        f"{meta['load_start']:.2f} before the passes (after waiting {meta['waited']:.0f} s for "
        f"it to settle), {meta['load_end']:.2f} after. Each row: the median of "
        f"{meta['passes']} passes after a warm one; per cluster unless said. Machine CPU: "
        "every core's busy time during the pass, and during as long a time right after it "
        "with no pass (the live nodes' own background).",
        "",
        "| checks at once | pass wall s (min-max) | conductor CPU ms | engine API calls | "
        "of which exec | host dockerd CPU ms | machine CPU ms | same time idle ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        walls = [p.wall for p in m.passes]
        calls = [sum(p.calls.values()) / count for p in m.passes]
        execs = [
            sum(n for k, n in p.calls.items() if k.startswith("POST /containers/{id}/exec")) / count
            for p in m.passes
        ]
        lines.append(
            f"| {m.parallel} | {p50(walls):.2f} ({min(walls):.2f}-{max(walls):.2f}) "
            f"| {p50([p.cpu for p in m.passes]) * 1000 / count:.1f} "
            f"| {p50(calls):.1f} | {p50(execs):.1f} "
            f"| {p50([p.dockerd for p in m.passes]) * 1000 / count:.1f} "
            f"| {p50([p.machine for p in m.passes]) * 1000 / count:.1f} "
            f"| {p50([p.idle_machine for p in m.passes]) * 1000 / count:.1f} |"
        )
    kinds = Counter[str]()
    for p in results[0].passes:
        kinds.update(p.calls)
    lines += [
        "",
        "Engine API calls of one cluster's check, by kind (the mean over the first row's passes):",
        "",
        "| call | per cluster |",
        "|---|---:|",
    ]
    runs = len(results[0].passes) * count
    for kind, n in kinds.most_common():
        lines.append(f"| `{kind}` | {n / runs:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--load-limit", type=float, default=2.0)
    parser.add_argument("--max-wait", type=float, default=300)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    begun = dt.datetime.now(dt.UTC)
    meta: dict[str, Any] = {
        "passes": args.passes,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "engine": cc.docker("version", "--format", "{{.Server.Version}}").stdout.strip(),
    }
    state_dir = Path(tempfile.mkdtemp(prefix="cove-bench-"))
    os.environ["COVE_HEALTH_INTERVAL"] = "3600"  # the serve's own monitor stays out of the way
    serve: cc.Serve | None = None
    cove: cc.Cove | None = None
    try:
        cc.build_image(state_dir)
        serve = cc.Serve(state_dir)
        cove = cc.Cove(serve.url)
        cove.make_template()
        started = time.perf_counter()
        uuids = create_clusters(cove, args.clusters)
        cc.log(f"{args.clusters} clusters created in {time.perf_counter() - started:.0f}s")
        # The new nodes' engines boot for a while after CREATE_COMPLETE: measure once the
        # machine has settled.
        meta["load_start"], meta["waited"] = cc.wait_for_quiet(args.load_limit, args.max_wait)
        results = measure(state_dir, args.clusters, args.passes, [1, default_workers()])
        meta["load_end"] = os.getloadavg()[0]
        listed = cove.http.get("/v1/clusters/detail", params={"limit": args.clusters}).json()
        health = {c["uuid"]: c["health_status"] for c in listed["clusters"]}
        unhealthy = {u: h for u, h in health.items() if h != "HEALTHY"}
        if unhealthy:
            raise RuntimeError(f"clusters not HEALTHY after the passes: {unhealthy}")
        cove.delete(uuids)
    finally:
        if serve is not None:
            serve.stop()
        labels = [f"{cc.COVE_LABEL_CLUSTER}={u}" for u in (cove.uuids if cove else [])]
        if cove is not None:
            cove.http.close()
        swept = cc.sweep(labels)
        if swept:
            cc.log(f"swept {swept} leftovers")
        shutil.rmtree(state_dir, ignore_errors=True)
    text = render(results, args.clusters, meta, begun)
    print(text)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
