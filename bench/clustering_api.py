"""Clustering API latency with 1,000 and 10,000 container nodes, on SQLite and PostgreSQL.

For each backend a throwaway database (as in api_latency.py, whose helpers this reuses) is
migrated and filled with bulk SQLAlchemy Core inserts shaped as the API and the conductor
write them: one container profile, container clusters of ``--per-cluster`` ACTIVE nodes
(default 100), each node with its placement and container id. A real ``cove api`` subprocess
serves it; a sequential httpx client measures, under ``/clustering/v1``:

* ``GET /nodes`` (the default page: 1000, Senlin's max and what the clients fetch) and
  ``GET /nodes?limit=50``, ``GET /nodes/<id>``,
* ``GET /clusters`` (default page) and ``GET /clusters/<id>`` (the show lists its node ids),
* and, as the floor every request pays, ``GET /healthz`` (no database), with each row's
  ratio to it.

A baseline in the same run does the same database work with SQLAlchemy Core on an engine
from ``cove.db.session.make_engine`` plus ``json.dumps`` of equivalent dicts (no HTTP,
FastAPI, pydantic or ORM). An in-process app counts the SQL statements of one list request
at two page sizes: the count must not grow with the page.

    .venv/bin/python bench/clustering_api.py [--sizes 1000,10000] [--backends sqlite,postgresql]
                                             [--requests N] [--per-cluster N] [--output FILE]

Prints a markdown table and writes bench/results/clustering_api.md; exits 1 when a statement
count grows with the page size, 0 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from api_latency import (  # the shared helpers of bench/ (run as bench/clustering_api.py)
    BACKENDS,
    FLOOR,
    WARMUP,
    Row,
    _summary,
    p,
    server,
    timed,
)
from sqlalchemy import Engine, event, func, insert, select, text

from cove.db import clustering as cdb
from cove.db import migrate, models
from cove.db.session import make_engine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "clustering_api.md"
PROJECT = "bench"
USER = "bench-user"
HEADERS = {
    "OpenStack-API-Version": "clustering 1.14",
    "X-Project-Id": PROJECT,
    "X-User-Id": USER,
    "X-Roles": "member,reader",
}
PREFIX = "/clustering/v1"
PROFILE_UUID = "0b8f6f0e-3c1d-4f7e-9a3b-6d5e4c3b2a10"
HOST_CLUSTER = "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"  # the cove cluster the profile places on
SPEC = {
    "type": "container.dockerinc.docker",
    "version": "1.0",
    "properties": {
        "image": "cove-e2e/busybox:bench",
        "command": "sh -c 'sleep 1d'",
        "host_cluster": HOST_CLUSTER,
        "ports": [{"container_port": 80}],
        "restart_policy": "no",
    },
}
BATCH = 2000
MAX_PAGE = 1000  # cove.services.clustering.paging.MAX_LIMIT

# -- filling -----------------------------------------------------------------------------------


def prepare(engine: Engine) -> None:
    """Schema, then the profile every cluster and node uses."""
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(cdb.Profile.__table__),
            [{"id": 1, "uuid": PROFILE_UUID, "name": "web",
              "type": "container.dockerinc.docker-1.0", "spec": SPEC, "meta": {},
              "project_id": PROJECT, "user_id": USER,
              "domain_id": None, "created_at": models.utcnow()}],
        )  # fmt: skip


def fill(engine: Engine, total: int, per_cluster: int) -> None:
    """Bulk-insert container clusters of ``per_cluster`` ACTIVE nodes until ``total`` nodes
    exist (the last cluster may be smaller)."""
    cc, nc = cdb.ContainerCluster.__table__, cdb.ContainerNode.__table__
    with engine.begin() as conn:
        have = conn.scalar(select(func.count()).select_from(nc)) or 0
        next_cluster = (conn.scalar(select(func.max(cc.c.id))) or 0) + 1
        next_node = (conn.scalar(select(func.max(nc.c.id))) or 0) + 1
        base = dt.datetime(2025, 1, 1)
        clusters: list[dict[str, Any]] = []
        nodes: list[dict[str, Any]] = []
        left = total - have
        cid = next_cluster
        while left > 0:
            size = min(per_cluster, left)
            born = base + dt.timedelta(seconds=cid)
            clusters.append(
                {"id": cid, "uuid": str(uuid.uuid4()), "name": f"web-{cid:05d}",
                 "profile_id": 1, "desired_capacity": size, "min_size": 0, "max_size": -1,
                 "next_index": size + 1, "timeout": 3600, "status": "ACTIVE",
                 "status_reason": "Cluster scaling succeeded.", "meta": {}, "config": {},
                 "data": {}, "dependents": {}, "init_at": born, "created_at": born,
                 "project_id": PROJECT, "user_id": USER, "domain_id": None}
            )  # fmt: skip
            for i in range(size):
                nid = next_node + (total - have - left) + i
                nuuid = str(uuid.uuid4())
                made = born + dt.timedelta(milliseconds=nid)
                nodes.append(
                    {"id": nid, "uuid": nuuid, "name": f"node-{nuuid[:8]}",
                     "physical_id": uuid.uuid4().hex + uuid.uuid4().hex, "cluster_id": cid,
                     "profile_id": 1, "index": i + 1, "role": "", "status": "ACTIVE",
                     "status_reason": "Creation succeeded", "meta": {},
                     "data": {"placement": {"host_cluster": HOST_CLUSTER,
                                            "host_node": f"cove-5f1e2d3c-worker-{nid % 3}",
                                            "container": f"web-{nuuid[:8]}"},
                              "created_by": cid},
                     "dependents": {}, "tainted": False, "init_at": made, "created_at": made,
                     "updated_at": made, "project_id": PROJECT, "user_id": USER,
                     "domain_id": None}
                )  # fmt: skip
            left -= size
            cid += 1
            if len(nodes) >= BATCH:
                _flush(conn, clusters, nodes)
        _flush(conn, clusters, nodes)
        if engine.dialect.name == "postgresql":
            for table in ("clustering_profiles", "clustering_clusters", "clustering_nodes"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
                )  # fmt: skip
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def _flush(conn: Any, clusters: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> None:
    if clusters:
        conn.execute(insert(cdb.ContainerCluster.__table__), clusters)
    if nodes:
        conn.execute(insert(cdb.ContainerNode.__table__), nodes)
    clusters.clear()
    nodes.clear()


def picks(engine: Engine, count: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Node uuids and cluster uuids to show, drawn with replacement."""
    with engine.connect() as conn:
        nodes = list(conn.scalars(select(cdb.ContainerNode.uuid)))
        clusters = list(conn.scalars(select(cdb.ContainerCluster.uuid)))
    return [rng.choice(nodes) for _ in range(count)], [rng.choice(clusters) for _ in range(count)]


def order_cost(engine: Engine, runs: int = 300) -> tuple[float, float]:
    """p50 ms of the node list's first-page query alone (ids of 50 rows, no JSON), in the
    list's default order (``init_at``, ``id``) and in ``id`` order: what the sort costs."""
    n = cdb.ContainerNode.__table__.c
    out = []
    for order in ((n.init_at, n.id), (n.id,)):
        stmt = select(n.id).where(n.project_id == PROJECT).order_by(*order).limit(50)
        with engine.connect() as conn:
            for _ in range(WARMUP):
                conn.execute(stmt).all()
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                conn.execute(stmt).all()
                samples.append(time.perf_counter() - started)
        out.append(p(samples, 50))
    return out[0], out[1]


# -- the baseline ------------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


class Baseline:
    """The same reads in SQLAlchemy Core plus json.dumps of the same views: no HTTP, no
    framework, no validation, no ORM. Same engine settings as the server."""

    n = cdb.ContainerNode.__table__.c
    c = cdb.ContainerCluster.__table__.c
    pr = cdb.Profile.__table__.c
    b = cdb.PolicyBinding.__table__.c
    po = cdb.Policy.__table__.c

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _profiles(self, conn: Any, ids: set[int]) -> dict[int, tuple[str, str]]:
        rows = conn.execute(
            select(self.pr.id, self.pr.name, self.pr.uuid).where(self.pr.id.in_(ids))
        )
        return {r.id: (r.name, r.uuid) for r in rows}

    def _node(self, r: Any, cluster: str | None, profile: tuple[str, str]) -> dict[str, Any]:
        return {
            "id": r.uuid, "name": r.name, "physical_id": r.physical_id,
            "cluster_id": cluster or "", "profile_id": profile[1], "profile_name": profile[0],
            "user": r.user_id, "project": r.project_id, "domain": r.domain_id,
            "index": r.index, "role": r.role or "", "init_at": _iso(r.init_at),
            "created_at": _iso(r.created_at), "updated_at": _iso(r.updated_at),
            "status": r.status, "status_reason": r.status_reason, "data": r.data or {},
            "metadata": r.meta or {}, "dependents": r.dependents or {}, "tainted": r.tainted,
        }  # fmt: skip

    def _nodes(self, conn: Any, rows: Sequence[Any]) -> list[dict[str, Any]]:
        clusters = dict(
            conn.execute(
                select(self.c.id, self.c.uuid).where(
                    self.c.id.in_({r.cluster_id for r in rows if r.cluster_id is not None})
                )
            ).all()
        )
        profiles = self._profiles(conn, {r.profile_id for r in rows})
        return [self._node(r, clusters.get(r.cluster_id), profiles[r.profile_id]) for r in rows]

    def list_nodes(self, limit: int) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cdb.ContainerNode.__table__)
                .where(self.n.project_id == PROJECT)
                .order_by(self.n.init_at, self.n.id)
                .limit(limit)
            ).all()
            views = self._nodes(conn, rows)
        json.dumps({"nodes": views})

    def show_node(self, ident: str) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cdb.ContainerNode.__table__).where(
                    self.n.uuid == ident, self.n.project_id == PROJECT
                )
            ).all()
            views = self._nodes(conn, rows)
        json.dumps({"node": views[0]})

    def _clusters(self, conn: Any, rows: Sequence[Any]) -> list[dict[str, Any]]:
        ids = [r.id for r in rows]
        members: dict[int, list[str]] = {i: [] for i in ids}
        for cid, nuuid in conn.execute(
            select(self.n.cluster_id, self.n.uuid)
            .where(self.n.cluster_id.in_(ids))
            .order_by(self.n.index)
        ):
            members[cid].append(nuuid)
        policies: dict[int, list[str]] = {i: [] for i in ids}
        for cid, puuid in conn.execute(
            select(self.b.cluster_id, self.po.uuid)
            .join(cdb.Policy.__table__, self.po.id == self.b.policy_id)
            .where(self.b.cluster_id.in_(ids))
        ):
            policies[cid].append(puuid)
        profiles = self._profiles(conn, {r.profile_id for r in rows})
        return [
            {"id": r.uuid, "name": r.name, "profile_id": profiles[r.profile_id][1],
             "profile_name": profiles[r.profile_id][0], "user": r.user_id,
             "project": r.project_id, "domain": r.domain_id, "init_at": _iso(r.init_at),
             "created_at": _iso(r.created_at), "updated_at": _iso(r.updated_at),
             "min_size": r.min_size, "max_size": r.max_size,
             "desired_capacity": r.desired_capacity, "timeout": r.timeout, "status": r.status,
             "status_reason": r.status_reason, "metadata": r.meta or {}, "data": r.data or {},
             "config": r.config or {}, "dependents": r.dependents or {},
             "nodes": members[r.id], "policies": policies[r.id]}
            for r in rows
        ]  # fmt: skip

    def list_clusters(self, limit: int) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cdb.ContainerCluster.__table__)
                .where(self.c.project_id == PROJECT)
                .order_by(self.c.init_at, self.c.id)
                .limit(limit)
            ).all()
            views = self._clusters(conn, rows)
        json.dumps({"clusters": views})

    def show_cluster(self, ident: str) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cdb.ContainerCluster.__table__).where(
                    self.c.uuid == ident, self.c.project_id == PROJECT
                )
            ).all()
            views = self._clusters(conn, rows)
        json.dumps({"cluster": views[0]})


# -- the operations ----------------------------------------------------------------------------


def operations(
    client: httpx.Client, base: Baseline, nodes: list[str], clusters: list[str]
) -> dict[str, tuple[Callable[[int], None], Callable[[int], None] | None]]:
    """Each row: the API call and its baseline (None for the floor)."""

    def get(path: str) -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        response.json()

    return {
        FLOOR: (lambda i: get("/healthz"), None),
        "nodes ?limit=50": (
            lambda i: get(f"{PREFIX}/nodes?limit=50"),
            lambda i: base.list_nodes(50),
        ),
        f"nodes (default page, {MAX_PAGE})": (
            lambda i: get(f"{PREFIX}/nodes"),
            lambda i: base.list_nodes(MAX_PAGE),
        ),
        "node show": (
            lambda i: get(f"{PREFIX}/nodes/{nodes[i]}"),
            lambda i: base.show_node(nodes[i]),
        ),
        "clusters (default page)": (
            lambda i: get(f"{PREFIX}/clusters"),
            lambda i: base.list_clusters(MAX_PAGE),
        ),
        "cluster show (with node ids)": (
            lambda i: get(f"{PREFIX}/clusters/{clusters[i]}"),
            lambda i: base.show_cluster(clusters[i]),
        ),
    }


def interleaved(
    api: Callable[[int], None], base: Callable[[int], None], count: int, row: Row
) -> None:
    """``count`` rounds of one API request and its baseline, alternating which goes first,
    so that both see the same interference from the rest of the machine. Warm-up rounds
    (indexes -1..-WARMUP) are not recorded."""
    for i in range(-WARMUP, count):
        pair = [(api, row.api), (base, row.baseline)]
        for fn, samples in pair if i % 2 else pair[::-1]:
            start = time.perf_counter()
            fn(i)
            elapsed = time.perf_counter() - start
            if i >= 0:
                samples.append(elapsed)


# -- statement counts --------------------------------------------------------------------------


@dataclass
class Statements:
    backend: str
    size: int
    path: str
    by_limit: dict[int, tuple[int, list[str]]]  # limit -> (items returned, statements)

    @property
    def equal(self) -> bool:
        return len({len(v[1]) for v in self.by_limit.values()}) == 1


def statement_counts(url: str, backend: str, size: int, per_cluster: int) -> list[Statements]:
    """SQL statements of one list request at a small and at the full page, in process."""
    from fastapi.testclient import TestClient

    from cove.api.app import create_app
    from cove.settings import Settings

    app = create_app(Settings(db=url), migrate_db=False)
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append(_summary(statement, parameters))

    event.listen(app.state.engine, "before_cursor_execute", on_execute)
    clusters = -(-size // per_cluster)
    plan = (("nodes", (10, MAX_PAGE)), ("clusters", (2, min(clusters, MAX_PAGE))))
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with TestClient(app, headers=HEADERS) as client:
            for kind, limits in plan:
                path = f"{PREFIX}/{kind}"
                by_limit: dict[int, tuple[int, list[str]]] = {}
                for limit in limits:
                    client.get(f"{path}?limit={limit}")  # warm: connection, pragmas
                    seen.clear()
                    response = client.get(f"{path}?limit={limit}")
                    assert response.status_code == 200, response.text
                    by_limit[limit] = (len(response.json()[kind]), list(seen))
                out.append(Statements(backend, size, path, by_limit))
    app.state.engine.dispose()
    return out


# -- the run -----------------------------------------------------------------------------------


def run_backend(
    name: str,
    args: argparse.Namespace,
    rows: list[Row],
    statements: list[Statements],
    orders: list[tuple[str, int, float, float]],
) -> str:
    with BACKENDS[name]() as backend, tempfile.TemporaryDirectory() as state_dir:
        engine = make_engine(backend.url)
        try:
            prepare(engine)
            for size in args.sizes:
                started = time.perf_counter()
                fill(engine, size, args.per_cluster)
                print(f"[{name}] {size} nodes filled in {time.perf_counter() - started:.1f}s",
                      file=sys.stderr)  # fmt: skip
                statements.extend(statement_counts(backend.url, name, size, args.per_cluster))
                orders.append((name, size, *order_cost(engine)))
                node_ids, cluster_ids = picks(
                    engine, args.requests + WARMUP, random.Random(f"{name}-{size}")
                )
                with (
                    server(backend.url, state_dir) as base_url,
                    httpx.Client(base_url=base_url, headers=HEADERS, timeout=120) as client,
                ):
                    # timed() calls warm-ups with -1..-WARMUP: they index from the end.
                    ops = operations(client, Baseline(engine), node_ids, cluster_ids)
                    for op, (api, base) in ops.items():
                        row = Row(name, size, op)
                        if base is None:
                            row.api = timed(api, args.requests)
                        else:
                            interleaved(api, base, args.requests, row)
                        rows.append(row)
                        print(f"[{name}] {size} {op}: api p50 {p(row.api, 50):.2f} ms",
                              file=sys.stderr)  # fmt: skip
        finally:
            engine.dispose()
        return f"{backend.name} {backend.version}"


def render(
    rows: list[Row],
    statements: list[Statements],
    orders: list[tuple[str, int, float, float]],
    versions: list[str],
    args: argparse.Namespace,
) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    out = [
        "# cove clustering API latency",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit `{commit or '?'}`: "
        f"`bench/clustering_api.py --sizes {','.join(map(str, args.sizes))} "
        f"--backends {','.join(args.backends)} --requests {args.requests} "
        f"--per-cluster {args.per_cluster}`.",
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        + ", ".join(versions)
        + f". 1-minute load at the end: {os.getloadavg()[0]:.2f}. "
        "Server: `cove api` (uvicorn, one process) on loopback; client: one sequential httpx "
        f"connection with keep-alive, `OpenStack-API-Version: clustering 1.14`. "
        f"{args.requests} timed rounds per row after {WARMUP} warm-up rounds; a round is one "
        "API request and its baseline, alternating which goes first, so that both see the "
        "same interference (the floor row is timed alone, first). "
        f"Container clusters of {args.per_cluster} ACTIVE nodes each. Baseline: SQLAlchemy "
        "Core + json.dumps of the same views in the client process (see bench/README.md). "
        "Ratio = API p50 / baseline p50; x floor = API p50 / the floor row's p50.",
        "",
        "| backend | nodes | operation | API p50 ms | API p99 ms | baseline p50 ms "
        "| ratio p50 | x floor |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    floor = {(r.backend, r.size): p(r.api, 50) for r in rows if r.operation == FLOOR}
    for r in rows:
        a50, a99, f50 = p(r.api, 50), p(r.api, 99), floor[(r.backend, r.size)]
        base = (
            f"{p(r.baseline, 50):.2f} | {a50 / p(r.baseline, 50):.1f}x" if r.baseline else "- | -"
        )
        out.append(
            f"| {r.backend} | {r.size:,} | {r.operation} | {a50:.2f} | {a99:.2f} | {base} "
            f"| {a50 / f50:.1f}x |"
        )
    out += [
        "",
        "SQL statements per list request (in process, same app and handlers as the server, "
        "`before_cursor_execute`; SQLite's explicit BEGIN included). Items = what the page "
        "returned.",
        "",
        "| backend | nodes | request | small page: items / statements "
        "| full page: items / statements | constant | statements at the full page |",
        "|---|---:|---|---|---|---|---|",
    ]
    for st in statements:
        (small, (n1, s1)), (_, (n2, s2)) = sorted(st.by_limit.items())
        verdict = "yes" if st.equal else "**no**"
        out.append(
            f"| {st.backend} | {st.size:,} | GET {st.path}?limit={small} / full | "
            f"{n1} / {len(s1)} | {n2} / {len(s2)} | {verdict} | {'; '.join(s2)} |"
        )
    if not all(st.equal for st in statements):
        out += ["", "**Statement check failed**: the count grows with the page size."]
    out += [
        "",
        "The node list's first-page query alone (`SELECT id … WHERE project_id = … LIMIT 50`, "
        "no JSON, 300 runs on one connection in the benchmark process), p50 ms: in the list's "
        "default order and by id.",
        "",
        "| backend | nodes | ORDER BY init_at, id | ORDER BY id |",
        "|---|---:|---:|---:|",
    ]
    out += [f"| {b} | {n:,} | {a:.3f} | {i:.3f} |" for b, n, a, i in orders]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000",
                        type=lambda s: sorted(int(x) for x in s.split(",")))  # fmt: skip
    parser.add_argument("--backends", default="sqlite,postgresql",
                        type=lambda s: [x.strip() for x in s.split(",") if x.strip()])  # fmt: skip
    parser.add_argument("--requests", type=int, default=100, help="timed requests per row")
    parser.add_argument("--per-cluster", type=int, default=100,
                        help="nodes per container cluster (default 100; cap 1000)")  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if min(args.sizes) < MAX_PAGE:
        parser.error(f"sizes must be at least {MAX_PAGE}: the default page needs them")
    if not 1 <= args.per_cluster <= MAX_PAGE:
        parser.error("--per-cluster must be between 1 and 1000")
    rows: list[Row] = []
    statements: list[Statements] = []
    orders: list[tuple[str, int, float, float]] = []
    versions = [run_backend(b, args, rows, statements, orders) for b in args.backends]
    report = render(rows, statements, orders, versions, args)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    return 0 if all(st.equal for st in statements) else 1


if __name__ == "__main__":
    sys.exit(main())
