"""API throughput against concurrency: ``cove api`` with one worker and with one per core,
at 1, 8 and 32 connections, on SQLite and PostgreSQL with 1,000 clusters.

The database is filled as in api_latency.py (whose helpers this reuses). The load comes from
wrk (Debian's ``wrk``: C, one thread, keep-alive connections), so the client takes little of
the machine's CPU: ``GET /v1/clusters/<uuid>`` over random clusters, the default list page
(``GET /v1/clusters``, 1,000 items), ``GET /healthz`` (no database) as the floor, and the
writes: ``POST /v1/clusters`` and ``POST /v1/clustertemplates``, each with a name unique to
the request (every create adds a cluster and its CA to the database). Each
row: requests per second, wrk's latency p50 and p99, and the count of errors and non-2xx
answers (any is a failure of the run).

    .venv/bin/python bench/api_workers.py [--backends sqlite,postgresql] [--seconds 5]

Needs wrk (``apt-get install wrk``). Writes bench/results/api_workers.md; exits 1 when a
request failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from api_latency import (
    BACKENDS,
    HEADERS,
    TEMPLATE_BODY,
    TEMPLATE_UUID,
    fill,
    prepare,
    server,
    targets,
)

from cove.db.session import make_engine

RESULTS = Path(__file__).resolve().parent / "results" / "api_workers.md"
CLUSTERS = 1000
CONNECTIONS = (1, 8, 32)
LUA = """
local paths = {%s}
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""
# A POST of ``body`` (JSON, ``NAME`` replaced by a name unique to the run) to ``path``.
POST_LUA = """
local n = 0
local tag = string.format("%%d-%%d", os.time(), math.random(1000000))
wrk.headers["Content-Type"] = "application/json"  -- beside the -H ones (a table replaces them)
request = function()
  n = n + 1
  local body = string.gsub('%s', "NAME", "wrk-" .. tag .. "-" .. n)
  return wrk.format("POST", "%s", nil, body)
end
"""
# Writes: every connection count in turn, so each row adds its own rows to the database.
WRITES = {
    "create": ("/v1/clusters", {"cluster_template_id": TEMPLATE_UUID, "name": "NAME"}),
    "template create": ("/v1/clustertemplates", {**TEMPLATE_BODY, "name": "NAME"}),
}


@dataclass
class Load:
    backend: str
    workers: int
    operation: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk(
    url: str,
    paths: list[str] | tuple[str, dict[str, str]],
    connections: int,
    seconds: float,
    workdir: Path,
) -> Load:
    """GETs of ``paths`` at random, or POSTs of ``(path, body)``."""
    script = workdir / "paths.lua"
    if isinstance(paths, tuple):
        path, body = paths
        script.write_text(POST_LUA % (json.dumps(body), path))
    else:
        script.write_text(LUA % ", ".join(f'"{p}"' for p in paths))
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s", "--latency"]
    argv += ["-s", str(script)]
    for key, value in HEADERS.items():
        argv += ["-H", f"{key}: {value}"]
    proc = subprocess.run([*argv, url], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    out = proc.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    if (match := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) is not None:
        errors += int(match.group(1))
    return Load("", 0, "", connections, rps, _ms(out, "50%"), _ms(out, "99%"), errors)


def _ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_backend(name: str, seconds: float, worker_counts: list[int]) -> tuple[str, list[Load]]:
    loads: list[Load] = []
    with BACKENDS[name]() as backend, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(backend.url)
        try:
            prepare(engine)
            fill(engine, CLUSTERS)
            picks = targets(engine, 200, random.Random(name))
        finally:
            engine.dispose()
        shows = [f"/v1/clusters/{uuid}" for uuid, _ in picks]
        operations: dict[str, list[str] | tuple[str, dict[str, str]]] = {
            "floor: GET /healthz": ["/healthz"],
            "show by uuid": shows,
            "list (default page, 1000)": ["/v1/clusters"],
            **WRITES,
        }
        for workers in worker_counts:
            with server(backend.url, tmp, workers=workers) as url:
                for operation, paths in operations.items():
                    wrk(url, paths, 8, 1, Path(tmp))  # warm every worker's caches
                    for connections in CONNECTIONS:
                        load = wrk(url, paths, connections, seconds, Path(tmp))
                        load.backend, load.workers, load.operation = name, workers, operation
                        loads.append(load)
                        print(
                            f"[{name}] workers={workers} {operation} c={connections}: "
                            f"{load.rps:.0f} req/s, p99 {load.p99_ms:.1f} ms",
                            file=sys.stderr,
                        )
        return f"{name} {backend.version}", loads


def render(loads: list[Load], versions: list[str], args: argparse.Namespace, load: str) -> str:
    lines = [
        "# cove API throughput with workers",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: `bench/api_workers.py --seconds "
        f"{args.seconds}`. Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{', '.join(versions)}; {CLUSTERS:,} clusters. Load: wrk, one thread, on the same "
        f"machine; 1-minute load average {load}.",
        "",
        "| backend | workers | operation | connections | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for x in loads:
        lines.append(
            f"| {x.backend} | {x.workers} | {x.operation} | {x.connections} | {x.rps:.0f} "
            f"| {x.p50_ms:.2f} | {x.p99_ms:.2f} | {x.errors} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    worker_counts = sorted({1, os.cpu_count() or 1})
    before = os.getloadavg()[0]
    versions, loads = [], []
    for name in args.backends.split(","):
        version, rows = run_backend(name, args.seconds, worker_counts)
        versions.append(version)
        loads.extend(rows)
    text = render(loads, versions, args, f"{before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(text)
    args.output.write_text(text)
    return 1 if any(x.errors for x in loads) else 0


if __name__ == "__main__":
    sys.exit(main())
