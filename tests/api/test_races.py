"""Writes that race, for real: the app served by uvicorn on a socket, each request sent from
its own thread over its own HTTP connection, all released together by a barrier, so they
overlap at the database (SQLite and PostgreSQL). Whichever request wins, a cluster runs one
operation at a time and a project stays within its cluster quota."""

from __future__ import annotations

import socket
import threading
import uuid as uuidlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError

from cove import errors
from cove.conductor import monitor as monitor_module
from cove.conductor.monitor import HealthMonitor
from cove.db import migrate, models
from cove.db.session import make_engine, transaction
from cove.domain.statuses import Operation
from cove.drivers.base import HealthReport
from cove.services import operations
from tests.conftest import PG_ADMIN_URL, Api, template_body

RACERS = 8
RESIZE_ROUNDS = 5
CREATORS = 6
QUOTA = 2
QUOTA_TRIALS = 3
ACTIVE = ("pending", "running")
QUOTA_MESSAGE = (
    f"You have reached the maximum clusters per project, {QUOTA}. "
    "You may delete a cluster to make room for a new one."
)


@contextmanager
def _served(api: Api) -> Iterator[str]:
    """The test's app behind a real HTTP server on a socket bound before the server starts
    (connections made before it accepts wait in the backlog: no polling for readiness)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(api.client.app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive(), "the server did not stop"


def _race(
    url: str, headers: dict[str, str], requests: list[tuple[str, str, dict[str, Any] | None]]
) -> list[httpx.Response]:
    """Send the requests at once: every client connects first, then a barrier releases all."""
    barrier = threading.Barrier(len(requests), timeout=60)

    def one(request: tuple[str, str, dict[str, Any] | None]) -> httpx.Response:
        method, path, body = request
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            assert client.get("/").status_code == 200  # the connection is open and warm
            barrier.wait()
            return client.request(method, path, json=body)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(one, requests, timeout=120))


def _error(response: httpx.Response) -> dict[str, Any]:
    """The error body as users read it (without the per-request id)."""
    body = response.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1, body
    return {k: v for k, v in body["errors"][0].items() if k != "request_id"}


def _expected_error(status: int, detail: str) -> dict[str, Any]:
    return {
        "code": "client",
        "status": status,
        "title": detail.rstrip("."),
        "detail": detail,
        "links": [],
    }


def _template(api: Api) -> None:
    body = template_body(keypair_id=None)  # public: every project's members may use it
    created = api.post("/v1/clustertemplates", json=body)
    assert created.status_code == 201, created.text


def _active(api: Api, cluster: str) -> list[dict[str, Any]]:
    listed = api.get(f"/v1/clusters/{cluster}/operations", params={"limit": 200})
    assert listed.status_code == 200, listed.text
    return [op for op in listed.json()["operations"] if op["state"] in ACTIVE]


def _cluster_id(api: Api, name: str) -> int:
    with transaction(api.runner.factory, write=False) as session:
        return session.scalars(select(models.Cluster.id).where(models.Cluster.name == name)).one()


def test_racing_resizes_start_exactly_one_operation(api: Api, catalog: dict[str, Any]) -> None:
    _template(api)
    created = api.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    assert created.status_code == 202, created.text
    api.settle()
    uuid = created.json()["uuid"]
    path = f"/v1/clusters/{uuid}/actions/resize"
    outcomes = []
    with _served(api) as url:
        for round_ in range(RESIZE_ROUNDS):
            counts = [2 + (round_ + i) % RACERS for i in range(RACERS)]  # all different
            responses = _race(url, api.headers, [("POST", path, {"node_count": n}) for n in counts])
            statuses = Counter(r.status_code for r in responses)
            winners = [n for n, r in zip(counts, responses, strict=True) if r.status_code == 202]
            active = _active(api, uuid)
            shown = api.get(f"/v1/clusters/{uuid}").json()
            outcome: dict[str, Any] = {
                "statuses": dict(sorted(statuses.items())),
                "active operations": len(active),
            }
            if len(winners) == 1 and len(active) == 1:
                busy = (
                    f"Cluster c1 is busy: operation resize {active[0]['uuid']} is in progress "
                    "(status UPDATE_IN_PROGRESS). Wait for it to finish, then retry."
                )
                losers = [r for r in responses if r.status_code != 202]
                outcome["losers told what runs"] = all(
                    _error(r) == _expected_error(409, busy) for r in losers
                )
                outcome["node_count is the winner's"] = shown["node_count"] == winners[0]
                outcome["status"] = shown["status"]
            api.settle()
            settled = api.get(f"/v1/clusters/{uuid}").json()
            outcome["settled"] = (
                settled["status"],
                settled["node_count"] == (winners[0] if len(winners) == 1 else None),
                len(settled["node_addresses"]) == settled["node_count"],
            )
            outcomes.append(outcome)
    won = {
        "statuses": {202: 1, 409: RACERS - 1},
        "active operations": 1,
        "losers told what runs": True,
        "node_count is the winner's": True,
        "status": "UPDATE_IN_PROGRESS",
        "settled": ("UPDATE_COMPLETE", True, True),
    }
    assert outcomes == [won] * RESIZE_ROUNDS, [o["statuses"] for o in outcomes]
    events = api.get(f"/v1/clusters/{uuid}/events", params={"limit": 1000}).json()
    accepted = [e for e in events["events"] if "Resize of node group" in e["message"]]
    assert len(accepted) == RESIZE_ROUNDS


def test_a_delete_racing_resizes_is_accepted_and_supersedes_them(
    api: Api, catalog: dict[str, Any]
) -> None:
    """Delete is never refused, even released together with resizes: a resize that got in
    first is cancelled by it, the others are refused naming it."""
    _template(api)
    uuids = []
    for n in range(3):
        body = {"name": f"d{n}", "cluster_template_id": "swarm-tpl"}
        created = api.post("/v1/clusters", json=body)
        assert created.status_code == 202, created.text
        uuids.append(created.json()["uuid"])
    api.settle()
    outcomes = []
    with _served(api) as url:
        for uuid in uuids:
            resize = ("POST", f"/v1/clusters/{uuid}/actions/resize", {"node_count": 2})
            requests = [("DELETE", f"/v1/clusters/{uuid}", None), *[resize] * (RACERS - 1)]
            responses = _race(url, api.headers, requests)
            resizes = Counter(r.status_code for r in responses[1:])
            ops = api.get(f"/v1/clusters/{uuid}/operations").json()["operations"]
            outcomes.append(
                {
                    "delete": responses[0].status_code,
                    "resizes accepted at most once": resizes[202] <= 1,
                    "other resizes refused": resizes[409] >= RACERS - 2,
                    "active": [o["kind"] for o in ops if o["state"] in ACTIVE],
                    "cancelled": sorted(o["kind"] for o in ops if o["state"] == "cancelled"),
                    "resize accepted iff cancelled": (resizes[202] == 1)
                    == any(o["state"] == "cancelled" for o in ops),
                }
            )
    assert all(
        {k: v for k, v in o.items() if k != "cancelled"}
        == {
            "delete": 204,
            "resizes accepted at most once": True,
            "other resizes refused": True,
            "active": ["delete"],
            "resize accepted iff cancelled": True,
        }
        for o in outcomes
    ), outcomes
    api.settle()
    assert api.get("/v1/clusters").json()["clusters"] == []


def test_racing_creates_stay_within_the_quota(api: Api, catalog: dict[str, Any]) -> None:
    _template(api)
    outcomes = []
    with _served(api) as url:
        for trial in range(QUOTA_TRIALS):
            project = f"quota-race-{trial}"
            quota = {"project_id": project, "resource": "Cluster", "hard_limit": QUOTA}
            set_quota = api.post("/v1/quotas", json=quota)  # as the admin
            assert set_quota.status_code == 201, set_quota.text
            member = api.as_project(project)
            bodies = [{"name": f"c{i}", "cluster_template_id": "swarm-tpl"} for i in range(6)]
            responses = _race(url, member.headers, [("POST", "/v1/clusters", b) for b in bodies])
            statuses = Counter(r.status_code for r in responses)
            accepted = sorted(
                b["name"] for b, r in zip(bodies, responses, strict=True) if r.status_code == 202
            )
            refused = [r for r in responses if r.status_code == 403]
            listed = member.get("/v1/clusters").json()["clusters"]
            outcomes.append(
                {
                    "statuses": dict(sorted(statuses.items())),
                    "refusals are Magnum's quota error": all(
                        _error(r) == _expected_error(403, QUOTA_MESSAGE) for r in refused
                    ),
                    "clusters": len(listed),
                    "listed are the accepted": sorted(c["name"] for c in listed) == accepted,
                }
            )
    assert (
        outcomes
        == [
            {
                "statuses": {202: QUOTA, 403: CREATORS - QUOTA},
                "refusals are Magnum's quota error": True,
                "clusters": QUOTA,
                "listed are the accepted": True,
            }
        ]
        * QUOTA_TRIALS
    ), [o["statuses"] for o in outcomes]


def test_racing_creates_of_one_unique_key_make_one(api: Api, catalog: dict[str, Any]) -> None:
    """Whatever must be unique (a uuid the caller chose for a cluster or a template, a
    flavor's name, a user's key pair name, a project's quota): of racing creates one wins and
    the others get the 409 naming it, and only the winner's object exists."""
    _template(api)
    cluster, template = str(uuidlib.uuid4()), str(uuidlib.uuid4())
    cases = [
        (
            "clusters",
            [{"name": f"c{i}", "cluster_template_id": "swarm-tpl", "uuid": cluster}
             for i in range(CREATORS)],
            f"A cluster with UUID {cluster} already exists.",
            f"/v1/clusters/{cluster}",
            "name",
        ),
        (
            "clustertemplates",
            [template_body(name=f"t{i}", keypair_id=None, uuid=template)
             for i in range(CREATORS)],
            f"A cluster template with UUID {template} already exists.",
            f"/v1/clustertemplates/{template}",
            "name",
        ),
        (
            "flavors",
            [{"name": "f1", "vcpus": i + 1, "ram": 512, "disk": 1} for i in range(CREATORS)],
            "Flavor f1 already exists.",
            "/v1/flavors/f1",
            "vcpus",
        ),
        (
            "keypairs",
            [{"name": "k1"} for _ in range(CREATORS)],
            "Key pair 'k1' already exists.",
            "/v1/keypairs/k1",
            "name",
        ),
        (
            "quotas",
            [{"project_id": "p1", "resource": "Cluster", "hard_limit": i + 1}
             for i in range(CREATORS)],
            "Quota for project p1 already exists for resource Cluster.",
            "/v1/quotas/p1/Cluster",
            "hard_limit",
        ),
    ]  # fmt: skip
    outcomes = {}
    with _served(api) as url:
        for coll, sent, message, path, key in cases:
            responses = _race(url, api.headers, [("POST", f"/v1/{coll}", b) for b in sent])
            won = [b for b, r in zip(sent, responses, strict=True) if r.status_code < 300]
            lost = [_error(r) for r in responses if r.status_code >= 300]
            shown = api.get(path)
            outcomes[coll] = {
                "won": len(won),
                "lost to the 409": lost == [_expected_error(409, message)] * (CREATORS - 1),
                "the winner's is shown": shown.status_code == 200
                and shown.json()[key] == won[0][key],
            }
    expected = {"won": 1, "lost to the 409": True, "the winner's is shown": True}
    assert outcomes == {coll: expected for coll, *_ in cases}, outcomes
    assert len(api.get("/v1/clusters").json()["clusters"]) == 1


def test_the_database_refuses_a_second_active_operation(api: Api, catalog: dict[str, Any]) -> None:
    """A writer that checked before another committed (or forgot to check) still cannot add a
    second active operation: the database refuses it, and the writer answers 409 naming the
    operation that runs, its own transaction still usable."""
    _template(api)
    created = api.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    assert created.status_code == 202, created.text
    (running,) = _active(api, "c1")
    factory = api.runner.factory
    with transaction(factory) as session:
        cluster = session.scalars(
            select(models.Cluster).where(models.Cluster.uuid == created.json()["uuid"])
        ).one()
        with pytest.raises(errors.ClusterBusy) as refused:
            operations.start(session, cluster, Operation.RESIZE, message="Resize accepted.")
        operations.record_event(session, cluster, "still writable")
    assert refused.value.message == (
        f"Cluster c1 is busy: operation create {running['uuid']} is in progress "
        "(status CREATE_IN_PROGRESS). Wait for it to finish, then retry."
    )
    assert _active(api, "c1") == [running]
    messages = [e["message"] for e in api.get("/v1/clusters/c1/events").json()["events"]]
    assert "still writable" in messages and "Resize accepted." not in messages


def test_auto_healing_that_loses_the_race_leaves_the_other_operation(
    api: Api, catalog: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monitor read "idle" just before a resize committed: its heal is refused by the
    database; the health it observed is still recorded and the resize carries on."""
    _template(api)
    body = {
        "name": "c1",
        "cluster_template_id": "swarm-tpl",
        "labels": {"auto_healing_enabled": "true"},
    }
    assert api.post("/v1/clusters", json=body).status_code == 202
    api.settle()
    assert api.post("/v1/clusters/c1/actions/resize", json={"node_count": 2}).status_code == 202
    (resize,) = _active(api, "c1")

    class StaleRead:
        """The monitor's view of the operations module, with a read from before the resize."""

        def __getattr__(self, name: str) -> Any:
            return getattr(operations, name)

        @staticmethod
        def find_active(session: Any, subject: Any) -> None:
            return None

    monkeypatch.setattr(monitor_module, "operations", StaleRead())
    monkeypatch.setattr(monitor_module, "allows", lambda status, kind: True)
    monitor = HealthMonitor(api.runner.factory, api.drivers)
    report = HealthReport(
        status="UNHEALTHY", reason={"worker-0": "down"}, failed_nodes=("worker-0",)
    )
    assert monitor._record(_cluster_id(api, "c1"), report) == 0
    assert _active(api, "c1") == [resize]
    shown = api.get("/v1/clusters/c1").json()
    assert shown["health_status"] == "UNHEALTHY" and shown["status"] == "UPDATE_IN_PROGRESS"
    api.settle()
    assert api.get("/v1/clusters/c1").json()["node_count"] == 2


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database without any schema (the shared test database is already at the newest)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not PG_ADMIN_URL:
        pytest.fail(
            "COVE_TEST_PG is empty, but every database test runs on PostgreSQL too: "
            "unset it (scripts/setup.sh starts PostgreSQL on 127.0.0.1:5432)"
        )
    name = f"cove_test_{uuidlib.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_keeps_the_oldest_of_several_active_operations(empty_db: str) -> None:
    """A database that accepted racing writes before 0003 holds several active operations on
    a subject; the upgrade cancels all but the oldest, then the index holds."""
    engine = make_engine(empty_db)
    config = migrate.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    # The table as 0002 left it (the model has grown columns since).
    table = sa.table(
        "operations",
        *(sa.column(c) for c in ("id", "uuid", "subject_kind", "subject_id", "kind", "state")),
        *(sa.column(c, sa.JSON()) for c in ("params", "progress")),
        sa.column("attempts"),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("finished_at", sa.DateTime(timezone=True)),
    )
    rows = [
        (1, "running"), (1, "pending"), (1, "pending"), (1, "succeeded"),
        (2, "pending"), (3, "failed"), (3, "pending"),
    ]  # fmt: skip
    with engine.begin() as connection:
        for subject_id, state in rows:
            connection.execute(
                table.insert().values(
                    uuid=str(uuidlib.uuid4()), subject_kind="cluster", subject_id=subject_id,
                    kind="resize", state=state, params={}, progress={}, attempts=0,
                    created_at=models.utcnow(),
                )
            )  # fmt: skip
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        after = connection.execute(
            select(table.c.subject_id, table.c.state, table.c.finished_at).order_by(table.c.id)
        ).all()
        assert [(s, state) for s, state, _ in after] == [
            (1, "running"), (1, "cancelled"), (1, "cancelled"), (1, "succeeded"),
            (2, "pending"), (3, "failed"), (3, "pending"),
        ]  # fmt: skip
        assert all((finished is not None) == (state == "cancelled") for _, state, finished in after)
        with pytest.raises(IntegrityError):
            connection.execute(
                table.insert().values(
                    uuid=str(uuidlib.uuid4()), subject_kind="cluster", subject_id=2,
                    kind="heal", state="pending", params={}, progress={}, attempts=0,
                    created_at=models.utcnow(),
                )
            )  # fmt: skip
    engine.dispose()
