"""Instructions per request: cove's API in process against the raw baseline, counted by
callgrind.

Wall-clock latency on these shared machines swings by 2-3x within minutes (the floor alone
took 1.9 to 4.3 ms in four runs of ``api_latency.py`` in one quarter of an hour), so a change
of 10 % cannot be seen in it. ``valgrind --tool=callgrind`` counts the instructions a process
executes instead: the same count for the same code and inputs, whatever else the machine
does. It counts CPU work only, not waiting for the database (PostgreSQL's own work is in
another process).

For each backend a database is prepared as ``api_latency.py`` prepares it (200 clusters).
Then, for each request kind and side, a child process runs under callgrind with counting
off, makes the app (or the baseline's engine), sends 20 requests to warm up, switches
counting on (``callgrind_control -i on``) for ``--requests`` requests and off again; the
total over those requests, divided by their number, is the row. The API side calls the ASGI
app of ``create_app`` directly (no HTTP server, no client: the floor row, ``/healthz``, is
what the app stack costs without a route); the baseline is ``api_latency.Baseline``, the same
read or write in SQLAlchemy Core plus ``json.dumps``.

    .venv/bin/python bench/api_instructions.py [--backends sqlite,postgresql]
                                               [--requests 200] [--output FILE]

Writes bench/results/api_instructions.md. Needs valgrind (every machine here has it).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_latency as al

from cove.db.session import make_engine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "api_instructions.md"
CLUSTERS = 200
WARMUP = 20
KINDS = ("floor", "show by uuid", "create", "template create")


# -- the child: one kind, one side, counted -------------------------------------------------


async def _asgi(app: Any, method: str, path: str, body: dict[str, Any] | None) -> int:
    raw = json.dumps(body).encode() if body is not None else b""
    headers = [(k.lower().encode(), v.encode()) for k, v in al.HEADERS.items()]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(),
        "query_string": b"", "headers": headers, "http_version": "1.1", "scheme": "http",
        "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": "", "state": {},
    }  # fmt: skip
    received = False
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # the app asks again only to learn of a disconnect
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


def _api_request(kind: str, i: int, picks: list[tuple[str, str]]) -> tuple[str, str, Any, int]:
    if kind == "floor":
        return "GET", "/healthz", None, 200
    if kind == "show by uuid":
        return "GET", f"/v1/clusters/{picks[i][0]}", None, 200
    if kind == "create":
        body = {"cluster_template_id": al.TEMPLATE_UUID, "name": f"ir-{os.getpid()}-{i}"}
        return "POST", "/v1/clusters", body, 202
    body = {**al.TEMPLATE_BODY, "name": f"ir-tpl-{os.getpid()}-{i}"}
    return "POST", "/v1/clustertemplates", body, 201


def _counting(on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        check=True, capture_output=True,
    )  # fmt: skip


def child(kind: str, side: str, url: str, requests: int) -> None:
    engine = make_engine(url)
    picks = al.targets(engine, requests + WARMUP, random.Random(kind))
    if side == "baseline":
        calls = al.Baseline(engine, "http://127.0.0.1").calls(picks, f"ir{os.getpid()}")
        for i in range(WARMUP):
            calls[kind](i)
        _counting(True)
        for i in range(WARMUP, WARMUP + requests):
            calls[kind](i)
        _counting(False)
        engine.dispose()
        return
    engine.dispose()
    from cove.api.app import create_app
    from cove.settings import Settings

    async def run() -> None:
        app = create_app(Settings(db=url), migrate_db=False)
        async with app.router.lifespan_context(app):
            for phase in (range(WARMUP), range(WARMUP, WARMUP + requests)):
                if phase.start == WARMUP:
                    _counting(True)
                for i in phase:
                    method, path, body, expected = _api_request(kind, i, picks)
                    status = await _asgi(app, method, path, body)
                    if status != expected:
                        raise RuntimeError(f"{method} {path}: {status}")
            _counting(False)

    asyncio.run(run())


# -- the parent ------------------------------------------------------------------------------


def count(kind: str, side: str, url: str, requests: int) -> float:
    """Millions of instructions per request."""
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
        sys.executable, __file__, "--child", kind, side, url, str(requests),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{kind} ({side}) failed:\n{done.stderr[-3000:]}")
    return int(found.group(1)) / requests / 1e6


def run_backend(name: str, requests: int) -> tuple[str, dict[tuple[str, str], float]]:
    with al.BACKENDS[name]() as backend:
        engine = make_engine(backend.url)
        al.prepare(engine)
        al.fill(engine, CLUSTERS)
        engine.dispose()
        sides = ("api", "baseline")
        jobs = [(k, s) for k in KINDS for s in sides if (k, s) != ("floor", "baseline")]
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # counts do not depend on load
            counts = pool.map(lambda job: count(job[0], job[1], backend.url, requests), jobs)
            found = dict(zip(jobs, counts, strict=True))
        for (kind, side), value in found.items():
            print(f"[{name}] {kind} ({side}): {value:.3f} M/request", file=sys.stderr)
        return f"{backend.name} {backend.version}", found


def render(results: dict[str, tuple[str, dict[tuple[str, str], float]]], requests: int) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    lines = [
        "# API instructions per request (callgrind)",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit `{commit}`, Python "
        f"{platform.python_version()}, {CLUSTERS} clusters, {requests} requests counted per "
        "row after 20 to warm up. Millions of instructions per request, cove's whole process "
        "(the database server's work is not counted). Method: bench/api_instructions.py.",
        "",
        "| backend | request | cove API | raw baseline | API / baseline | API - floor - baseline |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for version, found in results.values():
        floor = found[("floor", "api")]
        for kind in KINDS:
            api = found[(kind, "api")]
            base = found.get((kind, "baseline"))
            ratio = f"{api / base:.1f}x" if base else "-"
            extra = f"{api - floor - base:.2f}" if base else "-"
            base_text = f"{base:.2f}" if base else "-"
            lines.append(f"| {version} | {kind} | {api:.2f} | {base_text} | {ratio} | {extra} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=4, metavar=("KIND", "SIDE", "URL", "N"))
    args = parser.parse_args(argv)
    if args.child:
        kind, side, url, n = args.child
        child(kind, side, url, int(n))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is needed: apt-get install valgrind", file=sys.stderr)
        return 2
    results = {name: run_backend(name, args.requests) for name in args.backends.split(",")}
    text = render(results, args.requests)
    print(text)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
