"""The health monitor's own cost per cycle as clusters grow: 1,000 and 10,000 clusters, on
SQLite and PostgreSQL, with a driver that answers at once (the conductor's cost alone: its
reads, writes and the work per cluster around the driver's check).

The databases are filled as ``api_latency.py`` fills them (its ``prepare`` and ``fill``:
clusters with two node groups, HEALTHY). The driver reports every cluster HEALTHY with the
reason it already has, the steady state of a fleet; a second measure has every tenth
cluster's report change (UNHEALTHY, then back), so that pass writes. Each pass is timed on the
wall clock and in CPU time of this process (the database server's is not counted for
PostgreSQL), and its SQL statements counted, per cluster.

    .venv/bin/python bench/monitor_cost.py [--sizes 1000 10000] [--backends sqlite postgresql]

Prints a markdown table and writes bench/results/monitor_cost.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_latency

from cove.conductor.monitor import HealthMonitor
from cove.db.session import make_engine, make_session_factory
from cove.drivers.base import ClusterSpec, DriverKey, HealthReport
from cove.drivers.registry import DriverRegistry

RESULTS = Path(__file__).resolve().parent / "results" / "monitor_cost.md"


class AnsweringDriver:
    """Every cluster HEALTHY with an empty reason (what ``fill`` stored), except those whose
    id is in ``unhealthy``."""

    name = "bench-answering"
    provides = (DriverKey("vm", "instant", "kubernetes"),)

    def __init__(self) -> None:
        self.unhealthy: set[str] = set()

    def check_health(self, cluster: ClusterSpec) -> HealthReport:
        if cluster.uuid in self.unhealthy:
            return HealthReport("UNHEALTHY", {"api": "down"})
        return HealthReport("HEALTHY", {})


@dataclass
class Row:
    backend: str
    size: int
    measure: str
    wall_ms: float  # per cluster
    cpu_ms: float  # per cluster, this process
    statements: float  # per cluster
    writes: float  # write transactions (BEGIN IMMEDIATE / FOR UPDATE) per cluster


def one_pass(
    monitor: HealthMonitor, seen: list[str], size: int
) -> tuple[float, float, float, float]:
    seen.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    monitor.check_all()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    writes = sum(1 for s in seen if s.startswith("BEGIN IMMEDIATE") or "FOR UPDATE" in s)
    return wall * 1000 / size, cpu * 1000 / size, len(seen) / size, writes / size


def run_backend(name: str, sizes: list[int], rows: list[Row]) -> str:
    with api_latency.BACKENDS[name]() as backend:
        engine = make_engine(backend.url)
        seen: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append(str(a[2])))
        try:
            api_latency.prepare(engine)
            driver = AnsweringDriver()
            monitor = HealthMonitor(make_session_factory(engine), DriverRegistry([driver]))  # type: ignore[list-item]
            for size in sizes:
                api_latency.fill(engine, size)
                one_pass(monitor, seen, size)  # warm: caches, connections
                rows.append(
                    Row(name, size, "steady (nothing changed)", *one_pass(monitor, seen, size))
                )
                with engine.connect() as conn:
                    uuids = [r[0] for r in conn.exec_driver_sql("SELECT uuid FROM clusters")]
                driver.unhealthy = set(uuids[::10])
                rows.append(Row(name, size, "every 10th changed", *one_pass(monitor, seen, size)))
                driver.unhealthy = set()
                one_pass(monitor, seen, size)  # back to HEALTHY
                print(f"[{name}] {size}: {rows[-2]}", file=sys.stderr)
        finally:
            engine.dispose()
        return f"{backend.name} {backend.version}"


def render(rows: list[Row], versions: list[str], args: Any, begun: dt.datetime) -> str:
    lines = [
        "# Health monitor: the conductor's own cost per cycle",
        "",
        f"Run {begun:%Y-%m-%d %H:%M} UTC: `bench/monitor_cost.py --sizes "
        f"{' '.join(map(str, args.sizes))} --backends {' '.join(args.backends)}`. Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {', '.join(versions)}; 1-minute "
        f"load {os.getloadavg()[0]:.2f} at the end. A driver that answers at once; one "
        "`HealthMonitor.check_all()` pass over every cluster, per cluster: wall and CPU time of "
        "the conductor's process, SQL statements, write transactions.",
        "",
        "| backend | clusters | pass | wall ms / cluster | CPU ms / cluster | statements / cluster "
        "| write transactions / cluster | pass s |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.backend} | {r.size:,} | {r.measure} | {r.wall_ms:.2f} | {r.cpu_ms:.2f} "
            f"| {r.statements:.1f} | {r.writes:.2f} | {r.wall_ms * r.size / 1000:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the monitor's events are logged as they are recorded
    begun = dt.datetime.now(dt.UTC)
    rows: list[Row] = []
    versions = [run_backend(name, sorted(args.sizes), rows) for name in args.backends]
    text = render(rows, versions, args, begun)
    print(text)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
