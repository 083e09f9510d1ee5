"""Health monitoring and auto-healing through the conductor's monitor: the health fields a
user sees, the events, and a heal operation only when the label asks for it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from cove.conductor.monitor import HealthMonitor
from tests.conftest import Api, template_body
from tests.support.drivers import InstantDriver

WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")


def _monitor(api: Api) -> tuple[HealthMonitor, InstantDriver]:
    driver = api.drivers.find_by_name("instant")
    assert isinstance(driver, InstantDriver)
    return HealthMonitor(api.runner.factory, api.drivers), driver


def _cluster(api: Api, **labels: str) -> str:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    body = {"name": "c1", "cluster_template_id": "swarm-tpl", "labels": labels}
    uuid = str(api.post("/v1/clusters", json=body).json()["uuid"])
    api.settle()
    return uuid


def test_failed_node_makes_the_cluster_unhealthy_naming_it(
    api: Api, catalog: dict[str, Any]
) -> None:
    uuid = _cluster(api)
    monitor, driver = _monitor(api)
    monitor.check_all()
    assert api.get(f"/v1/clusters/{uuid}").json()["health_status"] == "HEALTHY"
    driver.failed = ("cove-x-worker-0",)
    assert monitor.check_all() == 0  # no auto-healing label: nothing is started
    shown = api.get(f"/v1/clusters/{uuid}").json()
    assert shown["health_status"] == "UNHEALTHY"
    assert shown["health_status_reason"]["cove-x-worker-0.Ready"] == "False"
    assert shown["status"] == "CREATE_COMPLETE"
    events = [e["message"] for e in api.get(f"/v1/clusters/{uuid}/events").json()["events"]]
    assert any("UNHEALTHY" in m and "cove-x-worker-0" in m for m in events)


def test_auto_healing_replaces_failed_nodes(api: Api, catalog: dict[str, Any]) -> None:
    uuid = _cluster(api, auto_healing_enabled="true")
    monitor, driver = _monitor(api)
    driver.failed = ("cove-x-worker-0",)
    assert monitor.check_all() == 0, "one failed check is within the grace: no heal yet"
    assert api.get(f"/v1/clusters/{uuid}").json()["health_status"] == "UNHEALTHY"
    assert monitor.check_all() == 1, "failed twice in a row: healed"
    assert api.get(f"/v1/clusters/{uuid}").json()["status"] == "UPDATE_IN_PROGRESS"
    assert monitor.check_all() == 0, "a heal is already running: no second one"
    api.settle()
    assert driver.healed == [("cove-x-worker-0",)]
    monitor.check_all()
    shown = api.get(f"/v1/clusters/{uuid}").json()
    assert shown["status"] == "UPDATE_COMPLETE" and shown["health_status"] == "HEALTHY"


def test_a_pass_that_finds_nothing_changed_writes_nothing(
    api: Api, catalog: dict[str, Any]
) -> None:
    """The steady state of a fleet: the recorded health stands, so no write transaction per
    cluster per pass (on SQLite each took the database's one write lock)."""
    uuid = _cluster(api)
    monitor, driver = _monitor(api)
    monitor.check_all()
    before = api.get(f"/v1/clusters/{uuid}").json()
    engine = api.runner.factory.kw["bind"]
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.lstrip().upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        monitor.check_all()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    writes = [s for s in statements if s.startswith(WRITES) or "FOR UPDATE" in s]
    assert statements and not writes
    assert api.get(f"/v1/clusters/{uuid}").json() == before
    driver.failed = ("cove-x-worker-0",)
    monitor.check_all()  # a change is still recorded
    assert api.get(f"/v1/clusters/{uuid}").json()["health_status"] == "UNHEALTHY"


def test_a_pass_reads_a_page_of_clusters_in_as_many_statements_as_one(
    api: Api, catalog: dict[str, Any]
) -> None:
    """The pass reads clusters a page at a time (templates, CAs, flavors and images of the
    page together), so its statements do not grow with the clusters it watches."""
    monitor, _ = _monitor(api)
    engine = api.runner.factory.kw["bind"]

    def steady_pass() -> list[str]:
        monitor.check_all()  # records what changed since the last pass
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            monitor.check_all()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return statements

    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    names = [f"c{n}" for n in range(5)]
    for name in names:
        body = {"name": name, "cluster_template_id": "swarm-tpl"}
        assert api.post("/v1/clusters", json=body).status_code == 202
        api.settle()
        if name == "c0":
            one = steady_pass()
    five = steady_pass()
    assert len(five) == len(one), (one, five)
    healthy = [c["health_status"] for c in api.get("/v1/clusters/detail").json()["clusters"]]
    assert healthy == ["HEALTHY"] * len(names)
