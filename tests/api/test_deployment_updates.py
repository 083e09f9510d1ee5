"""Updating a deployment through the API, run by the conductor on the instant driver's
in-memory orchestrator (the reconciler that drives a real swarm): what differs changes in
dependency order, each element once what it requires converged on its new spec; unchanged
elements are not touched; a service the orchestrator rolls back fails the update naming it
and why, its dependants left on their old spec; bad input is a 400 naming the field and
changes nothing; one write at a time; packages move between versions; a conductor killed
mid-update resumes without redoing what it finished."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from cove.conductor.runner import Runner
from cove.db import models
from cove.db.session import transaction
from cove.drivers.apphost import DEPLOYMENT_LABEL, SPEC_LABEL, ServiceSpec
from cove.drivers.memoryapps import MemoryAppHost
from tests.api.clustering.conftest import host_cluster
from tests.api.test_deployments import apps, shown
from tests.conftest import Api

SECRET = "s3cret-value-0"
DEFINITION = """
name: shop
variables:
  db_password: {secret: true}
  web_token: {secret: true, generate: password}
  greeting: {default: hello}
services:
  db:
    image: cove/app-mariadb
    command: [mariadbd, --user=mysql]
    health_check: {test: [mysqladmin, ping]}
    config_files:
      - {template: db-pass, dest: /etc/db.pass, owner: mysql, perm: "0400", secret: true}
  cache:
    image: cove/app-memcached
    command: [memcached, -u, memcache]
  api:
    image: cove/app-keystone
    command: [kolla_start]
    replicas: 2
    config_files: [{template: greeting, dest: /etc/greeting}]
    requires: [{task: schema}, {service: cache, state: running}]
  web:
    image: cove/app-keystone
    command: [web]
    config_files: [{template: web-token, dest: /etc/web.token, secret: true}]
    requires: [{service: api, state: running}]
tasks:
  schema:
    image: cove/app-mariadb
    command: [make-schema]
    retries: 1
    requires: [{service: db}]
templates:
  db-pass: "{{ db_password }}"
  greeting: "{{ greeting }}"
  web-token: "{{ web_token }}"
"""
# db and api change; schema (a task requiring db) changes too; cache and web do not.
CHANGED = (
    DEFINITION.replace("[mariadbd, --user=mysql]", "[mariadbd, --user=mysql, --skip-name-resolve]")
    .replace("[make-schema]", "[make-schema, --v2]")
    .replace("replicas: 2", "replicas: 3")
)

UNKNOWN_REQUIREMENT = CHANGED.replace("[{service: db}]", "[{service: dbx}]")
FOREIGN_IMAGE = CHANGED.replace("cove/app-memcached", "nginx:alpine")


@pytest.fixture
def cluster(api: Api, catalog: dict[str, Any]) -> str:
    return host_cluster(api, "apps", nodes=2)


def deploy(api: Api, cluster: str, **body: Any) -> dict[str, Any]:
    body = {"name": "shop", "definition": DEFINITION, "values": {"db_password": SECRET}} | body
    r = api.post(f"/v1/clusters/{cluster}/deployments", json=body)
    assert r.status_code == 202, r.text
    api.settle()
    doc = shown(api, cluster, body["name"])
    assert doc["status"] == "CREATE_COMPLETE", doc["status_reason"]
    return doc


def patch(api: Api, cluster: str, body: Any, name: str = "shop") -> Any:
    return api.patch(f"/v1/clusters/{cluster}/deployments/{name}", json=body)


def later(api: Api) -> int:
    """Run what a pause put off (the instant driver's world has no clock to wait on)."""
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    runner = Runner.standalone(
        factory, api.drivers, "later", clock=lambda: models.utcnow() + timedelta(seconds=5)
    )
    count = 0
    while runner.run_one():
        count += 1
    return count


def touched(host: MemoryAppHost, since: int, uuid: str) -> list[tuple[str, str]]:
    """(action, element) of the services and jobs changed after event ``since``."""
    prefix = f"cove-{uuid[:8]}-"
    return [
        (action, name.removeprefix(prefix))
        for action, kind, name in host.events[since:]
        if kind in ("service", "job") and name.startswith(prefix)
    ]


def specs(host: MemoryAppHost, uuid: str) -> dict[str, str]:
    return {
        s.name.removeprefix(f"cove-{uuid[:8]}-"): s.labels[SPEC_LABEL]
        for s in host.services({DEPLOYMENT_LABEL: uuid})
    }


def command(spec: ServiceSpec | None) -> str:
    """The command a service runs (in its config.json, Kolla's way)."""
    assert spec is not None
    [data] = [f.data for f in spec.files if f.target.endswith("/config.json")]
    return str(json.loads(data)["command"])


def test_an_update_changes_in_dependency_order_and_leaves_the_rest_untouched(
    api: Api, cluster: str
) -> None:
    doc = deploy(api, cluster)
    uuid, host = doc["uuid"], apps(api, cluster)
    before, mark = specs(host, uuid), len(host.events)
    host.hold(f"cove-{uuid[:8]}-db")  # db's new version takes its time to be healthy
    r = patch(api, cluster, {"definition": CHANGED})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "UPDATE_IN_PROGRESS"
    assert SECRET not in r.text
    api.settle()
    doc = shown(api, cluster)
    assert doc["status"] == "UPDATE_IN_PROGRESS"
    assert touched(host, mark, uuid) == [("update", "db")]  # nothing that requires db yet
    assert doc["progress"]["db"]["state"] == "updating"
    assert doc["progress"]["schema"] == {"state": "waiting", "detail": "waits for db"}
    assert doc["progress"]["api"] == {"state": "waiting", "detail": "waits for schema"}

    host.release(f"cove-{uuid[:8]}-db")
    later(api)
    doc = shown(api, cluster)
    assert doc["status"] == "UPDATE_COMPLETE", doc["status_reason"]
    # schema re-run (a job is made again) once db converged, then api; web and cache, and
    # the store, unchanged, were not touched at all.
    assert touched(host, mark, uuid) == [
        ("update", "db"), ("remove", "schema"), ("create", "schema"), ("update", "api"),
    ]  # fmt: skip
    after = specs(host, uuid)
    assert {k for k in after if after[k] != before[k]} == {"db", "schema", "api"}
    assert {k: v["state"] for k, v in doc["progress"].items()} == {
        **dict.fromkeys(("cove-store", "db", "cache", "api", "web"), "ready"), "schema": "done",
    }  # fmt: skip
    assert "--skip-name-resolve" in str(doc["definition"]["services"]["db"]["command"])
    # The secret value was not given again: it was kept (db's secret file still holds it).
    db = host.service(f"cove-{uuid[:8]}-db")
    assert db is not None and [f.data for f in db.files if f.secret] == [SECRET.encode()]
    events = api.get(f"/v1/clusters/{cluster}/events").text
    assert SECRET not in events


def test_values_merge_over_the_stored_ones_and_only_what_they_change_changes(
    api: Api, cluster: str
) -> None:
    doc = deploy(api, cluster)
    uuid, host = doc["uuid"], apps(api, cluster)
    mark = len(host.events)
    assert patch(api, cluster, {"values": {"greeting": "hi"}}).status_code == 202
    api.settle()
    doc = shown(api, cluster)
    assert doc["status"] == "UPDATE_COMPLETE", doc["status_reason"]
    assert doc["values"] == {"greeting": "hi"}
    assert doc["secret_values"] == ["db_password", "web_token"]
    # Only api reads greeting; web's generated token was kept (a new one would change it).
    assert touched(host, mark, uuid) == [("update", "api")]
    api_spec = host.service(f"cove-{uuid[:8]}-api")
    assert api_spec is not None and b"hi" in [f.data for f in api_spec.files]


def test_a_rolled_back_service_fails_the_update_and_its_dependants_keep_the_old_spec(
    api: Api, cluster: str
) -> None:
    doc = deploy(api, cluster)
    uuid, host = doc["uuid"], apps(api, cluster)
    db = f"cove-{uuid[:8]}-db"
    before, mark = specs(host, uuid), len(host.events)
    host.fail_next_update(db)
    host.add_log(db, "mariadbd: starting", f"password is {SECRET}", "mariadbd: bad option")
    assert patch(api, cluster, {"definition": CHANGED}).status_code == 202
    api.settle()
    doc = shown(api, cluster)
    assert doc["status"] == "UPDATE_FAILED"
    reason = doc["status_reason"]
    assert "service db was rolled back to its previous version" in reason
    assert "task: non-zero exit (1)" in reason and "mariadbd: bad option" in reason
    assert "api, schema left on the previous version" in reason
    assert SECRET not in reason and "password is <secret>" in reason
    assert touched(host, mark, uuid) == [("update", "db"), ("rollback", "db")]
    assert specs(host, uuid) == before  # db rolled back; nothing after it was changed
    assert doc["progress"]["db"]["state"] == "failed"
    assert doc["progress"]["api"] == {
        "state": "ready", "detail": "not updated: db failed; runs its previous version",
    }  # fmt: skip
    assert SECRET not in api.get(f"/v1/clusters/{cluster}/events").text
    # The same change again is refused at once (it would roll back again); a fixed one goes.
    assert patch(api, cluster, {"definition": CHANGED}).status_code == 202
    api.settle()
    assert "was rolled back" in shown(api, cluster)["status_reason"]
    fixed = CHANGED.replace("--skip-name-resolve", "--skip-grant-tables")
    assert patch(api, cluster, {"definition": fixed}).status_code == 202
    api.settle()
    assert shown(api, cluster)["status"] == "UPDATE_COMPLETE"


def test_a_changed_task_that_fails_fails_the_update_with_its_exit_code(
    api: Api, cluster: str
) -> None:
    doc = deploy(api, cluster)
    uuid, host = doc["uuid"], apps(api, cluster)
    host.set_job_outcome(f"cove-{uuid[:8]}-schema", 4)
    assert patch(api, cluster, {"definition": CHANGED}).status_code == 202
    api.settle()
    doc = shown(api, cluster)
    assert doc["status"] == "UPDATE_FAILED"
    assert "task schema failed (failed 2 time(s) (exit 4)" in doc["status_reason"]
    assert "api left on the previous version" in doc["status_reason"]


def _unchanged(api: Api, cluster: str, doc: dict[str, Any]) -> None:
    now = shown(api, cluster, doc["name"])
    assert (now["definition"], now["values"], now["status"], now["package_version"]) == (
        doc["definition"], doc["values"], doc["status"], doc["package_version"],
    )  # fmt: skip
    assert api.settle() == 0


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "give at least one of definition, values, options, package_version"),
        ({"definition": None}, "definition: give a value or leave the field out"),
        ({"color": "red"}, "color"),
        ({"definition": UNKNOWN_REQUIREMENT}, "tasks.schema.requires[0]"),
        ({"definition": FOREIGN_IMAGE}, "services.cache.image"),
        ({"values": {"nope": 1}}, "values.nope: no such variable"),
        ({"values": {"greeting": {"a": 1}}}, "values.greeting"),
        ({"options": {"x": 1}}, "options: deployment shop takes no options"),
        ({"package_version": "1.0.0"}, "package_version: deployment shop takes no package_version"),
    ],
)  # fmt: skip
def test_a_bad_update_is_refused_naming_the_field_and_changes_nothing(
    api: Api, cluster: str, body: dict[str, Any], needle: str
) -> None:
    doc = deploy(api, cluster)
    r = patch(api, cluster, body)
    assert r.status_code == 400, r.text
    assert needle in r.json()["errors"][0]["detail"]
    _unchanged(api, cluster, doc)


def test_one_write_at_a_time(api: Api, cluster: str) -> None:
    r = api.post(
        f"/v1/clusters/{cluster}/deployments",
        json={"name": "shop", "definition": DEFINITION, "values": {"db_password": SECRET}},
    )
    assert r.status_code == 202
    busy = patch(api, cluster, {"values": {"greeting": "hi"}})  # the deploy still runs
    assert busy.status_code == 409, busy.text
    assert "Deployment shop is busy: operation deploy" in busy.json()["errors"][0]["detail"]
    api.settle()
    host = apps(api, cluster)
    host.hold(f"cove-{r.json()['uuid'][:8]}-api")
    assert patch(api, cluster, {"values": {"greeting": "hi"}}).status_code == 202
    api.settle()  # api rolls out, held
    again = patch(api, cluster, {"values": {"greeting": "hey"}})
    assert again.status_code == 409 and "operation update" in again.text
    assert shown(api, cluster)["values"] == {"greeting": "hi"}


def test_other_projects_ids_are_not_found(api: Api, cluster: str) -> None:
    doc = deploy(api, cluster)
    other = api.as_project("other-project")
    for path in (f"{cluster}/deployments/shop", f"{cluster}/deployments/{doc['uuid']}"):
        r = other.patch(f"/v1/clusters/{path}", json={"values": {"greeting": "x"}})
        assert r.status_code == 404, r.text
    reader = api.as_project(doc["project_id"], roles="reader")
    assert patch(reader, cluster, {"values": {"greeting": "x"}}).status_code == 403
    _unchanged(api, cluster, doc)


def test_a_package_deployment_moves_between_versions_keeping_its_options(
    api: Api, cluster: str
) -> None:
    listed = {p["name"]: p for p in api.get("/v1/catalog/packages").json()["packages"]}
    assert listed["etcd"]["versions"] == ["1.0.0", "1.1.0"]
    assert listed["etcd"]["version"] == "1.1.0"
    doc = deploy(
        api, cluster, name="kv", definition=None, values={}, package="etcd",
        package_version="1.0.0", options={"client_port": 2400},
    )  # fmt: skip
    assert doc["package_version"] == "1.0.0"
    uuid, host = doc["uuid"], apps(api, cluster)
    name = f"cove-{uuid[:8]}-etcd"
    spec = host.service(name)
    assert spec is not None and spec.health is None

    r = patch(api, cluster, {"package_version": "9.9.9"}, "kv")
    assert r.status_code == 400
    assert "package_version: etcd has no version '9.9.9'; known: 1.0.0, 1.1.0" in r.text
    r = patch(api, cluster, {"options": {"client_port": "x"}}, "kv")
    assert r.status_code == 400 and "options.client_port" in r.text
    r = patch(api, cluster, {"values": {"a": 1}}, "kv")
    assert r.status_code == 400 and "installed from package etcd" in r.text
    _unchanged(api, cluster, doc)

    assert patch(api, cluster, {"package_version": "1.1.0"}, "kv").status_code == 202
    api.settle()
    doc = shown(api, cluster, "kv")
    assert (doc["status"], doc["package_version"]) == ("UPDATE_COMPLETE", "1.1.0")
    spec = host.service(name)
    assert spec is not None and spec.health is not None
    assert "http://0.0.0.0:2400" in command(spec) and "1h" in command(spec)  # option kept

    assert patch(api, cluster, {"options": {"compaction_hours": 5}}, "kv").status_code == 202
    api.settle()
    spec = host.service(name)
    assert spec is not None and "5h" in command(spec) and "http://0.0.0.0:2400" in command(spec)


def test_a_package_update_keeps_the_secrets_it_generated(api: Api, cluster: str) -> None:
    options = {"admin_password": "admin-secret-1"}
    doc = deploy(api, cluster, name="ks", definition=None, values={}, package="keystone",
                 options=options)  # fmt: skip
    uuid, host = doc["uuid"], apps(api, cluster)
    mark = len(host.events)
    assert patch(api, cluster, {"options": {"public_port": 5001}}, "ks").status_code == 202
    api.settle()
    assert shown(api, cluster, "ks")["status"] == "UPDATE_COMPLETE"
    # The database, its password files and the tasks that set it up are untouched.
    assert touched(host, mark, uuid) == [("update", "keystone")]


class Crash(BaseException):
    """The conductor's process dies (nothing in it catches this)."""


@pytest.mark.parametrize("point", ["step:plan", "step:change:db", "ensure_service:2"])
def test_a_conductor_killed_mid_update_resumes_without_redoing_finished_services(
    api: Api, cluster: str, point: str
) -> None:
    doc = deploy(api, cluster)
    uuid, host = doc["uuid"], apps(api, cluster)
    mark = len(host.events)
    assert patch(api, cluster, {"definition": CHANGED}).status_code == 202
    after_step = None
    if point.startswith("step:"):

        def die(step: str) -> None:
            if step == point.removeprefix("step:"):
                raise Crash(step)

        after_step = die
    else:  # inside the engine work: the second service changed, before it is recorded
        seen = {"calls": 0}

        def nth(*_: Any) -> bool:
            seen["calls"] += 1
            return seen["calls"] == 2

        host.faults.fail("ensure_service", Crash(point), when=nth)  # type: ignore[arg-type]
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    doomed = Runner.standalone(factory, api.drivers, "doomed", after_step=after_step)
    with pytest.raises(Crash):
        while doomed.run_one():
            pass
    host.faults.clear()
    with transaction(factory) as session:  # the dead conductor's lease runs out
        session.execute(
            update(models.Operation)
            .where(models.Operation.state == "running")
            .values(lease_expires_at=models.utcnow())
        )
    api.settle()
    assert shown(api, cluster)["status"] == "UPDATE_COMPLETE"
    changes = touched(host, mark, uuid)
    assert changes.count(("update", "db")) == 1 and changes.count(("update", "api")) == 1
    # schema is made again once, or (killed while making it) twice: a job is idempotent
    # only by being made again from its spec; it never runs at an old spec after db's.
    assert changes[0] == ("update", "db") and changes[-1] == ("update", "api")
    with factory() as session:
        op = session.scalars(
            select(models.Operation).where(models.Operation.kind == "update")
        ).one()
        assert op.state == "succeeded"
        assert [s for s in op.progress if s.startswith("change:")] == [
            "change:db", "change:schema", "change:api",
        ]  # fmt: skip
