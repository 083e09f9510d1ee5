"""API latency with 1,000 and 10,000 clusters, on SQLite and PostgreSQL.

For each backend a throwaway database is created (a temporary SQLite file, or a PostgreSQL
database ``cove_bench_<random>`` dropped at the end), filled with bulk SQLAlchemy Core inserts
(one image, one template, clusters with their two default node groups, a quota row), and
served by a real ``cove api`` (uvicorn) subprocess. A sequential httpx client measures:

* ``list?limit=50`` and ``list`` (the default page: 1000 items, what the clients fetch),
* show by uuid and show by name,
* create (POST /v1/clusters),
* and, as the floor every request pays, GET /healthz (no database).

In the same run, a baseline reads (or writes) the same data with SQLAlchemy Core on a plain
engine and ``json.dumps`` equivalent dicts, without HTTP, FastAPI, pydantic or the ORM; the
ratio API/baseline is the web stack's overhead. Finally, an in-process app counts the SQL
statements of one list request for 10 and for 1000 items (they must be equal: no N+1).

    .venv/bin/python bench/api_latency.py [--sizes 1000,10000] [--backends sqlite,postgresql]
                                          [--requests N] [--output FILE]

Prints a markdown table and writes bench/results/api_latency.md; exits 1 when the statement
counts differ, 0 when every check passes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import queue
import random
import re
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, event, func, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect

from cove.db import migrate, models
from cove.db.session import make_engine
from cove.pki import ca as pki
from cove.services.clusters import SUMMARY_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "api_latency.md"
PG_ADMIN_URL = os.environ.get(
    "COVE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PROJECT = "bench"
USER = "bench-user"
HEADERS = {
    "OpenStack-API-Version": "container-infra latest",
    "X-Project-Id": PROJECT,
    "X-User-Id": USER,
    "X-Roles": "member,reader",
}
TEMPLATE_UUID = "7d3f0a52-5b7a-4d0e-9a51-0c1f2e3d4b5a"
TEMPLATE_LABELS = {"kube_tag": "v1.30.4", "min_node_count": "0", "auto_scaling_enabled": "false"}
TEMPLATE_BODY = {
    "image_id": "bench-image", "coe": "kubernetes", "external_network_id": "public",
    "flavor_id": "m1.small", "master_flavor_id": "m1.small",
}  # fmt: skip
CLUSTER_LABELS = {"kube_tag": "v1.30.4", "min_node_count": "0", "boot_volume_size": "20"}
FLOOR = "floor: GET /healthz (no database)"
BATCH = 2000
WARMUP = 5
STARTUP_TIMEOUT = 60.0

# -- databases ---------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    url: str
    version: str


@contextmanager
def sqlite_backend() -> Iterator[Backend]:
    with tempfile.TemporaryDirectory(prefix="cove-bench-") as tmp:
        yield Backend("sqlite", f"sqlite:///{tmp}/bench.db", sqlite3.sqlite_version)


@contextmanager
def postgresql_backend() -> Iterator[Backend]:
    name = f"cove_bench_{secrets.token_hex(5)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        version = str(conn.scalar(text("SHOW server_version")))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield Backend("postgresql", PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", version)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


BACKENDS = {"sqlite": sqlite_backend, "postgresql": postgresql_backend}


def prepare(engine: Engine) -> None:
    """Schema, default flavors and network, then the image, template and quota row."""
    migrate.upgrade(engine)
    now = models.utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(models.Image.__table__),
            [{"uuid": str(uuid.uuid4()), "name": "bench-image", "os_distro": "instant",
              "node_image": None, "properties": {}, "project_id": PROJECT, "public": True,
              "created_at": now}],
        )  # fmt: skip
        conn.execute(
            insert(models.ClusterTemplate.__table__),
            [{"uuid": TEMPLATE_UUID, "name": "bench-tpl", "project_id": PROJECT, "user_id": USER,
              "coe": "kubernetes", "image_id": "bench-image", "cluster_distro": "instant",
              "flavor_id": "m1.small", "master_flavor_id": "m1.small", "keypair_id": None,
              "external_network_id": "public", "network_driver": "flannel",
              "volume_driver": "cinder", "registry_enabled": False, "tls_disabled": False,
              "public": True, "hidden": False, "master_lb_enabled": False,
              "floating_ip_enabled": True, "server_type": "vm", "labels": TEMPLATE_LABELS,
              "driver": None, "created_at": now}],
        )  # fmt: skip
        conn.execute(
            insert(models.Quota.__table__),
            [{"project_id": PROJECT, "resource": "Cluster", "hard_limit": 10_000_000,
              "created_at": now}],
        )  # fmt: skip


def fill(engine: Engine, total: int) -> None:
    """Bulk-insert clusters (two default node groups each) until ``total`` clusters exist."""
    with engine.begin() as conn:
        have = conn.scalar(select(func.count()).select_from(models.Cluster.__table__)) or 0
        next_cluster = (conn.scalar(select(func.max(models.Cluster.id))) or 0) + 1
        next_group = (conn.scalar(select(func.max(models.NodeGroup.id))) or 0) + 1
        now = models.utcnow()
        clusters: list[dict[str, Any]] = []
        groups: list[dict[str, Any]] = []
        for n in range(total - have):
            cid = next_cluster + n
            cuuid = str(uuid.uuid4())
            clusters.append(
                {"id": cid, "uuid": cuuid, "name": f"bench-{cid:06d}", "project_id": PROJECT,
                 "user_id": USER, "cluster_template_id": TEMPLATE_UUID, "keypair": None,
                 "docker_volume_size": None, "labels": CLUSTER_LABELS,
                 "master_flavor_id": "m1.small", "flavor_id": "m1.small", "create_timeout": 60,
                 "status": "CREATE_COMPLETE", "status_reason": None, "health_status": "HEALTHY",
                 "health_status_reason": {}, "discovery_url": None,
                 "api_address": f"https://10.{cid // 65536}.{cid // 256 % 256}.{cid % 256}:6443",
                 "coe_version": "v1.30.4", "container_version": "1.7.20", "fixed_network": None,
                 "fixed_subnet": None, "floating_ip_enabled": True, "master_lb_enabled": False,
                 "merge_labels": False, "created_at": now}
            )  # fmt: skip
            for k, (role, count) in enumerate((("master", 1), ("worker", 3))):
                groups.append(
                    {"id": next_group + 2 * n + k, "uuid": str(uuid.uuid4()),
                     "name": f"default-{role}", "cluster_id": cid, "project_id": PROJECT,
                     "docker_volume_size": None, "labels": CLUSTER_LABELS,
                     "flavor_id": "m1.small", "image_id": "bench-image",
                     "node_addresses": [f"10.{k}.{cid % 250}.{i + 2}" for i in range(count)],
                     "node_count": count, "role": role, "min_node_count": 0,
                     "max_node_count": None, "is_default": True, "stack_id": cuuid,
                     "status": "CREATE_COMPLETE", "status_reason": None, "version": None,
                     "merge_labels": False, "node_labels": {}, "node_taints": [],
                     "created_at": now}
                )  # fmt: skip
            if len(clusters) >= BATCH:
                _flush(conn, clusters, groups)
        _flush(conn, clusters, groups)
        if engine.dialect.name == "postgresql":
            for table in ("clusters", "nodegroups"):  # explicit ids leave the sequences behind
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
                )  # fmt: skip
    # Fresh statistics and a vacuumed heap, as autovacuum would have by now. Left to
    # autovacuum, the insert-triggered vacuum of a fresh bulk load ran during the timed rows
    # and doubled them at 10,000 clusters on PostgreSQL, the raw baselines too.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def _flush(conn: Any, clusters: list[dict[str, Any]], groups: list[dict[str, Any]]) -> None:
    if clusters:
        conn.execute(insert(models.Cluster.__table__), clusters)
        conn.execute(insert(models.NodeGroup.__table__), groups)
    clusters.clear()
    groups.clear()


def targets(engine: Engine, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(uuid, name) of bulk-filled clusters to show, drawn with replacement."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(models.Cluster.uuid, models.Cluster.name).where(
                models.Cluster.name.like("bench-%")
            )
        ).all()
    return [tuple(rng.choice(rows)) for _ in range(count)]  # type: ignore[misc]


# -- the server under test ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(url: str, state_dir: str, workers: int = 1) -> Iterator[str]:
    """``cove api`` in a subprocess; returns once uvicorn says it is listening (each of
    ``workers`` processes, when several)."""
    port = free_port()
    env = {**os.environ, "COVE_STATE_DIR": state_dir, "COVE_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cove", "api", "--port", str(port), "--db", url,
         "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()
    log: list[str] = []

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        # One process binds once started; several share the socket their parent bound.
        ready = "Uvicorn running on" if workers == 1 else "Application startup complete"
        started = 0
        while started < workers:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise RuntimeError("cove api exited:\n" + "".join(log))
            started += ready in line
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- measurements ------------------------------------------------------------------------------


@dataclass
class Row:
    backend: str
    size: int
    operation: str
    api: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    first: float = float("nan")  # the API's first such request after `cove api` started


def p(samples: Sequence[float], q: float) -> float:
    """Percentile (0 < q < 100) in milliseconds, linear between closest ranks."""
    if len(samples) == 1:
        return samples[0] * 1000
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q) - 1] * 1000


def timed(fn: Callable[[int], None], count: int, first: list[float] | None = None) -> list[float]:
    """``count`` timings after the warm-up requests; the first warm-up's lands in ``first``."""
    for i in range(WARMUP):
        start = time.perf_counter()
        fn(-1 - i)
        if i == 0 and first is not None:
            first.append(time.perf_counter() - start)
    out = []
    for i in range(count):
        start = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - start)
    return out


def api_calls(
    client: httpx.Client, picks: list[tuple[str, str]], tag: str
) -> dict[str, Callable[[int], None]]:
    def get(path: str) -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        response.json()

    def create(i: int) -> None:
        body = {"cluster_template_id": TEMPLATE_UUID, "name": f"new-{tag}-{i + WARMUP}"}
        response = client.post("/v1/clusters", json=body)
        if response.status_code != 202:
            raise RuntimeError(f"POST /v1/clusters: {response.status_code} {response.text[:300]}")

    def create_template(i: int) -> None:
        body = {**TEMPLATE_BODY, "name": f"tpl-{tag}-{i + WARMUP}"}
        response = client.post("/v1/clustertemplates", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"POST /v1/clustertemplates: {response.status_code} {response.text}")

    return {
        FLOOR: lambda i: get("/healthz"),
        "list ?limit=50": lambda i: get("/v1/clusters?limit=50"),
        "list (default page, 1000)": lambda i: get("/v1/clusters"),
        "show by uuid": lambda i: get(f"/v1/clusters/{picks[i][0]}"),
        "show by name": lambda i: get(f"/v1/clusters/{picks[i][1]}"),
        "create": create,
        "template create": create_template,
    }


class Baseline:
    """The same reads and writes in SQLAlchemy Core plus json.dumps: no HTTP, no framework,
    no validation, no ORM. Same engine settings as the server (cove.db.session.make_engine)."""

    c = models.Cluster.__table__.c
    g = models.NodeGroup.__table__.c

    def __init__(self, engine: Engine, base_url: str) -> None:
        self.engine = engine
        self.base = base_url

    def _reading(self) -> Any:
        """A connection as the API's reads get one: in autocommit on PostgreSQL (no BEGIN or
        ROLLBACK round trip), in a (local) transaction on SQLite."""
        conn = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    def _groups(self, conn: Any, ids: list[int]) -> dict[int, list[Any]]:
        by: dict[int, list[Any]] = {i: [] for i in ids}
        rows = conn.execute(
            select(self.g.cluster_id, self.g.role, self.g.node_count, self.g.node_addresses)
            .where(self.g.cluster_id.in_(ids))
            .order_by(self.g.id)
        )
        for row in rows:
            by[row.cluster_id].append(row)
        return by

    def _summary(self, r: Any) -> dict[str, Any]:
        link = f"clusters/{r['uuid']}"
        return {
            "uuid": r["uuid"], "name": r["name"], "cluster_template_id": r["cluster_template_id"],
            "keypair": r["keypair"], "node_count": r["node_count"],
            "master_count": r["master_count"], "docker_volume_size": r["docker_volume_size"],
            "labels": {k: str(v) for k, v in (r["labels"] or {}).items()},
            "master_flavor_id": r["master_flavor_id"], "flavor_id": r["flavor_id"],
            "create_timeout": r["create_timeout"],
            "links": [{"href": f"{self.base}/v1/{link}", "rel": "self"},
                      {"href": f"{self.base}/{link}", "rel": "bookmark"}],
            "cluster_id": r["uuid"], "status": r["status"], "health_status": r["health_status"],
            "merge_labels": False,
        }  # fmt: skip

    def _item(self, r: Any, groups: list[Any]) -> dict[str, Any]:
        return self._summary(
            {**r._mapping,
             "node_count": sum(g.node_count for g in groups if g.role != "master"),
             "master_count": sum(g.node_count for g in groups if g.role == "master")}
        )  # fmt: skip

    def _full(self, r: Any, groups: list[Any], parent: dict[str, str]) -> dict[str, Any]:
        view = self._item(r, groups)
        own = view["labels"]
        masters = [g for g in groups if g.role == "master"]
        workers = [g for g in groups if g.role != "master"]
        view.update(
            {"status_reason": r.status_reason,
             "health_status_reason": dict(r.health_status_reason or {}),
             "discovery_url": r.discovery_url, "api_address": r.api_address,
             "coe_version": r.coe_version, "container_version": r.container_version,
             "project_id": r.project_id, "user_id": r.user_id,
             "node_addresses": [a for g in workers for a in g.node_addresses],
             "master_addresses": [a for g in masters for a in g.node_addresses],
             "fixed_network": r.fixed_network, "fixed_subnet": r.fixed_subnet,
             "floating_ip_enabled": r.floating_ip_enabled,
             "labels_overridden": {k: parent[k] for k, v in own.items() if parent.get(k, v) != v},
             "labels_added": {k: v for k, v in own.items() if k not in parent},
             "labels_skipped": {k: v for k, v in parent.items() if k not in own},
             "master_lb_enabled": r.master_lb_enabled,
             "created_at": r.created_at.isoformat() if r.created_at else None,
             "updated_at": r.updated_at.isoformat() if r.updated_at else None}
        )  # fmt: skip
        return view

    def list(self, limit: int) -> None:
        """The summary page as the API reads it (its columns, node counts summed by the
        database), each item built from the row's mapping."""
        with self._reading() as conn:
            rows = conn.execute(
                select(self.c.id, self.c.uuid, *SUMMARY_COLUMNS)
                .where(self.c.project_id == PROJECT)
                .order_by(self.c.id)
                .limit(limit)
            ).all()
        json.dumps({"clusters": [self._summary(r._mapping) for r in rows]})

    def show(self, column: Any, value: str) -> None:
        t = models.ClusterTemplate.__table__.c
        with self._reading() as conn:
            rows = conn.execute(
                select(models.Cluster.__table__)
                .where(column == value, self.c.project_id == PROJECT)
                .limit(2)
            ).all()
            assert len(rows) == 1
            groups = self._groups(conn, [rows[0].id])
            labels = conn.scalar(select(t.labels).where(t.uuid == rows[0].cluster_template_id))
        parent = {k: str(v) for k, v in (labels or {}).items()}
        json.dumps(self._full(rows[0], groups[rows[0].id], parent))

    def create(self, name: str) -> None:
        """What POST /v1/clusters writes, with the quota and template reads it needs."""
        with self.engine.connect() as conn:
            conn.execution_options(cove_write=True)  # BEGIN IMMEDIATE on SQLite, as the API
            self._create(conn, name)

    def _create(self, conn: Any, name: str) -> None:
        now = models.utcnow()
        t = models.ClusterTemplate.__table__.c
        q = models.Quota.__table__.c
        u = models.QuotaUsage.__table__.c
        upsert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert
        with conn.begin():
            # The project's usage row (kept by the database's triggers), locked, with the limit.
            limit = select(q.hard_limit).where(q.project_id == PROJECT).scalar_subquery()
            counted = upsert(models.QuotaUsage.__table__).values(
                project_id=PROJECT, resource="Cluster", in_use=0
            )
            used, limit = conn.execute(
                counted.on_conflict_do_update(
                    index_elements=[u.project_id, u.resource], set_={"in_use": u.in_use}
                ).returning(u.in_use, limit)
            ).one()
            assert limit is not None and used < limit
            tpl = conn.execute(
                select(models.ClusterTemplate.__table__).where(t.uuid == TEMPLATE_UUID)
            ).one()
            cuuid = str(uuid.uuid4())
            cid = conn.execute(
                insert(models.Cluster.__table__).returning(self.c.id),
                {"uuid": cuuid, "name": name, "project_id": PROJECT, "user_id": USER,
                 "cluster_template_id": tpl.uuid, "labels": dict(tpl.labels),
                 "master_flavor_id": tpl.master_flavor_id, "flavor_id": tpl.flavor_id,
                 "create_timeout": 60, "status": "CREATE_IN_PROGRESS", "created_at": now},
            ).scalar_one()  # fmt: skip
            conn.execute(
                insert(models.NodeGroup.__table__),
                [{"uuid": str(uuid.uuid4()), "name": f"default-{role}", "cluster_id": cid,
                  "project_id": PROJECT, "role": role, "node_count": 1, "is_default": True,
                  "flavor_id": tpl.flavor_id, "image_id": tpl.image_id, "labels": dict(tpl.labels),
                  "stack_id": cuuid, "status": "CREATE_IN_PROGRESS", "created_at": now}
                 for role in ("master", "worker")],
            )  # fmt: skip
            authority = pki.create_ca(name)
            conn.execute(
                insert(models.ClusterCA.__table__),
                {"cluster_id": cid, "cert_pem": authority.cert_pem,
                 "key_pem": authority.key_pem, "created_at": now},
            )  # fmt: skip
            oid = conn.execute(
                insert(models.Operation.__table__).returning(models.Operation.__table__.c.id),
                {"uuid": str(uuid.uuid4()), "subject_kind": "cluster", "subject_id": cid,
                 "kind": "create",
                 "state": "pending", "params": {}, "progress": {}, "created_at": now},
            ).scalar_one()  # fmt: skip
            conn.execute(
                insert(models.Event.__table__),
                {"subject_kind": "cluster", "subject_id": cid, "operation_id": oid,
                 "message": "Create accepted.",
                 "time": now, "level": "info"},
            )  # fmt: skip
        json.dumps({"uuid": cuuid})

    def create_template(self, name: str) -> None:
        """What POST /v1/clustertemplates reads and writes: the image, the flavor and the
        external network looked up, the row inserted, then its view."""
        i, f, n = (m.__table__.c for m in (models.Image, models.Flavor, models.Network))
        t = models.ClusterTemplate.__table__
        with self.engine.connect() as conn:
            conn.execution_options(cove_write=True)
            with conn.begin():
                image = conn.execute(
                    select(models.Image.__table__).where(
                        i.name == TEMPLATE_BODY["image_id"], i.public | (i.project_id == PROJECT)
                    )
                ).one()
                flavor = TEMPLATE_BODY["flavor_id"]  # the master flavor is the same one
                conn.execute(
                    select(models.Flavor.__table__).where((f.name == flavor) | (f.uuid == flavor))
                ).one()
                conn.execute(
                    select(models.Network.__table__).where(
                        n.name == TEMPLATE_BODY["external_network_id"]
                    )
                ).first()
                values = {
                    **{k: v for k, v in TEMPLATE_BODY.items() if k != "image_id"},
                    "image_id": image.name, "uuid": str(uuid.uuid4()), "name": name,
                    "project_id": PROJECT, "user_id": USER, "cluster_distro": image.os_distro,
                    "network_driver": "flannel", "volume_driver": "cinder", "labels": {},
                    "registry_enabled": False, "tls_disabled": False, "public": False,
                    "hidden": False, "master_lb_enabled": False, "floating_ip_enabled": True,
                    "server_type": "vm", "created_at": models.utcnow(),
                }  # fmt: skip
                row = conn.execute(insert(t).values(values).returning(t)).one()
        json.dumps({**row._mapping, "created_at": row.created_at.isoformat()})

    def calls(self, picks: list[tuple[str, str]], tag: str) -> dict[str, Callable[[int], None]]:
        return {
            "list ?limit=50": lambda i: self.list(50),
            "list (default page, 1000)": lambda i: self.list(1000),
            "show by uuid": lambda i: self.show(self.c.uuid, picks[i][0]),
            "show by name": lambda i: self.show(self.c.name, picks[i][1]),
            "create": lambda i: self.create(f"base-{tag}-{i + WARMUP}"),
            "template create": lambda i: self.create_template(f"base-tpl-{tag}-{i + WARMUP}"),
        }


@dataclass
class Statements:
    backend: str
    size: int
    path: str
    by_limit: dict[int, list[str]]

    @property
    def equal(self) -> bool:
        counts = {len(v) for v in self.by_limit.values()}
        return len(counts) == 1


def _summary(statement: str, parameters: Any) -> str:
    """``SELECT nodegroups (500 params)``: enough to see what repeats."""
    words = statement.split()
    verb = words[0].upper() if words else "?"
    outer = statement
    while "(" in outer:  # the statement's own FROM, not a subquery's
        outer, n = re.subn(r"\([^()]*\)", "", outer)
        if not n:
            break
    match = re.search(r"\bFROM\s+(\w+)", outer, re.IGNORECASE)
    where = f" {match.group(1)}" if match and verb == "SELECT" else ""
    count = len(parameters) if isinstance(parameters, (list, tuple, dict)) else 0
    return f"{verb}{where} ({count} params)" if count else f"{verb}{where}"


def statement_counts(url: str, backend: str, size: int) -> list[Statements]:
    """SQL statements of one list request for 10 and for 1000 items, counted in process."""
    from fastapi.testclient import TestClient

    from cove.api.app import create_app
    from cove.settings import Settings

    app = create_app(Settings(db=url), migrate_db=False)
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append(_summary(statement, parameters))

    event.listen(app.state.engine, "before_cursor_execute", on_execute)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with TestClient(app, headers=HEADERS) as client:
            for path in ("/v1/clusters", "/v1/clusters/detail"):
                by_limit: dict[int, list[str]] = {}
                for limit in (10, 1000):
                    client.get(f"{path}?limit={limit}")  # warm: connection, pragmas
                    seen.clear()
                    response = client.get(f"{path}?limit={limit}")
                    assert response.status_code == 200, response.text
                    assert len(response.json()["clusters"]) == limit
                    by_limit[limit] = list(seen)
                out.append(Statements(backend, size, path, by_limit))
    app.state.engine.dispose()
    return out


# -- the run -----------------------------------------------------------------------------------


def run_backend(
    name: str, args: argparse.Namespace, rows: list[Row], statements: list[Statements]
) -> str:
    sizes: list[int] = args.sizes
    requests: int = args.requests
    with BACKENDS[name]() as backend, tempfile.TemporaryDirectory() as state_dir:
        engine = make_engine(backend.url)
        try:
            prepare(engine)
            for size in sizes:
                started = time.perf_counter()
                fill(engine, size)
                print(f"[{name}] {size} clusters filled in {time.perf_counter() - started:.1f}s",
                      file=sys.stderr)  # fmt: skip
                statements.extend(statement_counts(backend.url, name, size))
                rng = random.Random(f"{name}-{size}")
                picks = targets(engine, requests + WARMUP, rng)
                with server(backend.url, state_dir) as base_url:
                    baseline = Baseline(engine, base_url).calls(picks, f"{size}")
                    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=120) as client:
                        api = api_calls(client, picks, f"{size}")
                        for op in api:
                            row = Row(name, size, op)
                            if op in baseline:
                                row.baseline = timed(baseline[op], requests)
                            first: list[float] = []
                            row.api = timed(api[op], requests, first)
                            row.first = first[0] * 1000
                            rows.append(row)
                            print(f"[{name}] {size} {op}: api p50 {p(row.api, 50):.2f} ms",
                                  file=sys.stderr)  # fmt: skip
        finally:
            engine.dispose()
        return f"{backend.name} {backend.version}"


def render(
    rows: list[Row], statements: list[Statements], versions: list[str], args: argparse.Namespace
) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    failed = False
    out = [
        "# cove API latency",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit `{commit or '?'}`: "
        f"`bench/api_latency.py --sizes {','.join(map(str, args.sizes))} "
        f"--backends {','.join(args.backends)} --requests {args.requests}`.",
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        + ", ".join(versions)
        + ". Server: `cove api` (uvicorn, one process) on loopback; "
        "client: one sequential httpx connection with keep-alive. "
        f"{args.requests} timed requests per row after {WARMUP} warm-up requests. "
        "Baseline: SQLAlchemy Core + json.dumps of equivalent dicts in the client process "
        "(see bench/README.md). Ratio = API / baseline. API first: the first request of "
        "the row's kind, the first of its warm-up, on a server started for this size "
        "(the rows run in order, so only the floor row is the server's very first request).",
        "",
        "| backend | clusters | operation | API p50 ms | API p99 ms | baseline p50 ms "
        "| baseline p99 ms | ratio p50 | ratio p99 | API first ms |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        a50, a99 = p(r.api, 50), p(r.api, 99)
        if not r.baseline:
            out.append(f"| {r.backend} | {r.size:,} | {r.operation} | {a50:.2f} | {a99:.2f} "
                       f"| - | - | - | - | {r.first:.2f} |")  # fmt: skip
            continue
        b50, b99 = p(r.baseline, 50), p(r.baseline, 99)
        out.append(
            f"| {r.backend} | {r.size:,} | {r.operation} | {a50:.2f} | {a99:.2f} | {b50:.2f} "
            f"| {b99:.2f} | {a50 / b50:.1f}x | {a99 / b99:.1f}x | {r.first:.2f} |"
        )
    out += [
        "",
        "SQL statements per list request (in process, same app and handlers as the server, "
        "`before_cursor_execute`; SQLite's explicit BEGIN included):",
        "",
        "| backend | clusters | request | limit=10 | limit=1000 | equal "
        "| statements at limit=1000 |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for st in statements:
        verdict = "yes" if st.equal else "**no**"
        if not st.equal:
            failed = True
        ten, thousand = st.by_limit[10], st.by_limit[1000]
        out.append(
            f"| {st.backend} | {st.size:,} | GET {st.path} | {len(ten)} | {len(thousand)} "
            f"| {verdict} | {'; '.join(thousand)} |"
        )
    if failed:
        out += ["", "**N+1 check failed**: the statement count grows with the page size "
                "(see the statements column, and bench/README.md)."]  # fmt: skip
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000",
                        type=lambda s: sorted(int(x) for x in s.split(",")))  # fmt: skip
    parser.add_argument("--backends", default="sqlite,postgresql",
                        type=lambda s: [x.strip() for x in s.split(",") if x.strip()])  # fmt: skip
    parser.add_argument("--requests", type=int, default=100, help="timed requests per row")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if min(args.sizes) < 1000:
        parser.error("sizes must be at least 1000: the default page and the N+1 check need them")
    rows: list[Row] = []
    statements: list[Statements] = []
    versions = [run_backend(b, args, rows, statements) for b in args.backends]
    report = render(rows, statements, versions, args)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    unequal = [f"{s.backend}/{s.size} GET {s.path}" for s in statements if not s.equal]
    if unequal:
        print(f"N+1 check failed: statement counts differ for {unequal}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
