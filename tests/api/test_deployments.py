"""Deployments through the API, run by the conductor on the instant driver's in-memory
orchestrator (the same reconciler that drives a real swarm): a definition checked whole
before anything is stored, everything made at once, followed until ready, secrets never
shown, a failing task failing the deployment with its exit code, and an undeploy that
removes exactly what the deployment made."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from cove.conductor import snapshot
from cove.db import models
from cove.db.deploy import Deployment
from cove.drivers.apphost import DEPLOYMENT_LABEL
from cove.drivers.memoryapps import MemoryAppHost
from tests.api.clustering.conftest import host_cluster
from tests.conftest import Api
from tests.support.drivers import InstantDriver

DEFINITION = """
name: shop
variables:
  db_password: {secret: true}
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
    replicas: 2
tasks:
  schema:
    image: cove/app-mariadb
    command: [make-schema]
    retries: 1
    requires: [{service: db}]
templates:
  db-pass: "{{ db_password }}"
"""
SECRET = "s3cret-value-0"


@pytest.fixture
def cluster(api: Api, catalog: dict[str, Any]) -> str:
    return host_cluster(api, "apps", nodes=2)


def apps(api: Api, cluster: str) -> MemoryAppHost:
    """The cluster's orchestrator, as the driver hands it to the conductor."""
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        row = session.scalar(select(models.Cluster).where(models.Cluster.uuid == cluster))
        assert row is not None
        return InstantDriver().app_host(snapshot.cluster_spec(session, row))


def deploy(api: Api, cluster: str, **body: Any) -> Any:
    body = {"name": "shop", "definition": DEFINITION, "values": {"db_password": SECRET}} | body
    return api.post(f"/v1/clusters/{cluster}/deployments", json=body)


def shown(api: Api, cluster: str, name: str = "shop") -> dict[str, Any]:
    r = api.get(f"/v1/clusters/{cluster}/deployments/{name}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_deployment_runs_everything_and_ends_ready(api: Api, cluster: str) -> None:
    r = deploy(api, cluster)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "CREATE_IN_PROGRESS"
    api.settle()
    doc = shown(api, cluster)
    assert doc["status"] == "CREATE_COMPLETE", doc["status_reason"]
    assert {k: v["state"] for k, v in doc["progress"].items()} == {
        "cove-store": "ready", "db": "ready", "cache": "ready", "schema": "done",
    }  # fmt: skip
    host = apps(api, cluster)
    made = host.services({DEPLOYMENT_LABEL: doc["uuid"]})
    assert sorted(s.name for s in made) == [
        f"cove-{doc['uuid'][:8]}-{n}" for n in ("cache", "cove-store", "db", "schema")
    ]


def test_secret_values_are_never_shown(api: Api, cluster: str) -> None:
    r = deploy(api, cluster)
    assert r.status_code == 202
    api.settle()
    assert SECRET not in r.text
    doc = shown(api, cluster)
    assert doc["secret_values"] == ["db_password"] and doc["values"] == {}
    for path in ("", "/shop"):
        assert SECRET not in api.get(f"/v1/clusters/{cluster}/deployments{path}").text
    assert SECRET not in api.get(f"/v1/clusters/{cluster}/events").text


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            {"definition": DEFINITION.replace("[{service: db}]", "[{service: dbx}]")},
            "tasks.schema.requires[0]",
        ),
        (
            {"definition": DEFINITION.replace("cove/app-memcached", "nginx:alpine")},
            "services.cache.image",
        ),
        ({"values": {}}, "db_password"),
        ({"definition": "name: [unclosed"}, "line"),
        ({"package": "nope", "definition": None}, "three-tier"),
    ],
)
def test_a_bad_definition_is_refused_naming_the_element_and_nothing_is_made(
    api: Api, cluster: str, change: dict[str, Any], needle: str
) -> None:
    r = deploy(api, cluster, **change)
    assert r.status_code in (400, 404), r.text
    assert needle in r.json()["errors"][0]["detail"]
    assert api.get(f"/v1/clusters/{cluster}/deployments").json()["deployments"] == []
    assert api.settle() == 0


def test_a_task_out_of_retries_fails_the_deployment_with_its_exit_code(
    api: Api, cluster: str
) -> None:
    host = apps(api, cluster)
    r = deploy(api, cluster)
    uuid = r.json()["uuid"]
    host.set_job_outcome(f"cove-{uuid[:8]}-schema", 3)
    host.add_log(
        f"cove-{uuid[:8]}-schema", "cove-gate: running task schema", f"denied for {SECRET}"
    )
    api.settle()
    doc = shown(api, cluster)
    assert doc["status"] == "CREATE_FAILED"
    assert "schema" in doc["status_reason"] and "exit 3" in doc["status_reason"]
    # its last lines, the secret a program echoed masked
    assert "running task schema | denied for <secret>" in doc["status_reason"]
    assert SECRET not in str(doc) and SECRET not in api.get(f"/v1/clusters/{cluster}/events").text
    assert doc["progress"]["schema"]["state"] == "failed"


def test_undeploy_removes_exactly_what_the_deployment_made(api: Api, cluster: str) -> None:
    assert deploy(api, cluster).status_code == 202
    other = deploy(api, cluster, name="other")
    assert other.status_code == 202, other.text
    api.settle()
    r = api.delete(f"/v1/clusters/{cluster}/deployments/shop")
    assert r.status_code == 202, r.text
    api.settle()
    assert api.get(f"/v1/clusters/{cluster}/deployments/shop").status_code == 404
    host = apps(api, cluster)
    gone = host.services({DEPLOYMENT_LABEL: r.json()["uuid"]})
    kept = host.services({DEPLOYMENT_LABEL: other.json()["uuid"]})
    assert gone == [] and len(kept) == 4
    assert shown(api, cluster, "other")["status"] == "CREATE_COMPLETE"


def test_the_catalog_and_the_schema_are_published(api: Api) -> None:
    listed = api.get("/v1/catalog/packages").json()["packages"]
    assert {"keystone", "three-tier"} <= {p["name"] for p in listed}
    keystone = api.get("/v1/catalog/packages/keystone").json()
    assert keystone["options_schema"]["type"] == "object" and "template" in keystone
    schema = api.get("/v1/deployments/schema").json()
    assert schema["$id"].startswith("urn:cove:schema:deployment-definition")


def test_a_cluster_with_deployments_can_be_deleted_and_they_go_with_it(
    api: Api, cluster: str
) -> None:
    assert deploy(api, cluster).status_code == 202
    api.settle()
    r = api.delete(f"/v1/clusters/{cluster}")
    assert r.status_code == 204, r.text
    api.settle()
    assert api.get(f"/v1/clusters/{cluster}").status_code == 404
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Deployment)) == 0
