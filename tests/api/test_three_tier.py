"""The three-tier catalog package installed by name through the API, run by the conductor on
the instant driver's in-memory orchestrator: its options reach the specs (replicas, the
published port, the database name), its images are cove's built app images, the password
travels only in swarm secrets (generated when not given), and bad options are refused by
name with nothing made."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cove.drivers.apphost import DEPLOYMENT_LABEL
from cove.images import image_tag
from cove.images.apps import APPS
from tests.api.clustering.conftest import host_cluster
from tests.api.test_deployments import apps
from tests.conftest import Api

PASSWORD = "pw-'quoted\"-and-\\-long"
OPTIONS = {"db_password": PASSWORD, "db_name": "shop", "api_replicas": 3, "web_port": 9080}


@pytest.fixture
def cluster(api: Api, catalog: dict[str, Any]) -> str:
    return host_cluster(api, "apps", nodes=2)


def install(api: Api, cluster: str, **options: Any) -> Any:
    body = {"name": "shop", "package": "three-tier", "options": options}
    return api.post(f"/v1/clusters/{cluster}/deployments", json=body)


def test_the_package_installs_by_name_and_every_element_ends_ready(api: Api, cluster: str) -> None:
    r = install(api, cluster, **OPTIONS)
    assert r.status_code == 202, r.text
    api.settle()
    doc = api.get(f"/v1/clusters/{cluster}/deployments/shop").json()
    assert doc["status"] == "CREATE_COMPLETE", doc["status_reason"]
    web_nodes = doc["progress"]["web"].pop("nodes")  # where its published port answers
    assert len(web_nodes) == 1
    assert doc["progress"] == {
        "cove-store": {"state": "ready", "detail": "1/1 running and healthy"},
        "db": {"state": "ready", "detail": "1/1 running and healthy"},
        "db-schema": {"state": "done", "detail": "done"},
        "api": {"state": "ready", "detail": "3/3 running and healthy"},
        "web": {"state": "ready", "detail": "1/1 running and healthy"},
    }
    assert doc["values"] == {"db_name": "shop"} and doc["secret_values"] == ["db_password"]

    host = apps(api, cluster)
    prefix = f"cove-{doc['uuid'][:8]}"
    made = {s.name for s in host.services({DEPLOYMENT_LABEL: doc["uuid"]})}
    assert made == {f"{prefix}-{n}" for n in ("cove-store", "db", "db-schema", "api", "web")}
    db, api_spec, web, schema = (
        host.service(f"{prefix}-{n}") for n in ("db", "api", "web", "db-schema")
    )
    assert db and api_spec and web and schema
    assert db.image == image_tag(APPS["postgres"].recipe) and db.env["POSTGRES_DB"] == "shop"
    assert {s.image for s in (api_spec, web, schema)} == {image_tag(APPS["items"].recipe)}
    assert (api_spec.replicas, web.replicas) == (3, 1)
    assert [(p.target, p.published) for p in web.ports] == [(80, 9080)]
    assert schema.mode == "job" and json.loads(schema.env["COVE_REQUIRES"]) == [
        {"service": "db", "state": "healthy", "scope": "global"}
    ]
    assert json.loads(web.env["COVE_REQUIRES"])[0]["service"] == "api"
    # The password reaches the containers in swarm secrets only, quoted as JSON for the API.
    holding = [
        f for s in (db, api_spec, schema, web) for f in s.files if PASSWORD in f.data.decode()
    ]
    assert holding and all(f.secret for f in holding)
    items = next(f for f in api_spec.files if f.target.endswith("/items-json"))
    assert json.loads(items.data)["database"] == {
        "host": "db", "port": 5432, "dbname": "shop", "user": "app", "password": PASSWORD,
    }  # fmt: skip
    for path in ("deployments", "deployments/shop", "events"):
        assert PASSWORD not in api.get(f"/v1/clusters/{cluster}/{path}").text


def test_without_options_the_password_is_generated_and_shared_by_the_db_and_the_api(
    api: Api, cluster: str
) -> None:
    r = install(api, cluster)
    assert r.status_code == 202, r.text
    api.settle()
    doc = api.get(f"/v1/clusters/{cluster}/deployments/shop").json()
    assert doc["status"] == "CREATE_COMPLETE", doc["status_reason"]
    assert doc["values"] == {"db_name": "app"} and doc["secret_values"] == ["db_password"]
    host = apps(api, cluster)
    prefix = f"cove-{doc['uuid'][:8]}"
    db, items = host.service(f"{prefix}-db"), host.service(f"{prefix}-api")
    assert db and items
    (password_file,) = [f for f in db.files if f.target.endswith("/db-password")]
    (items_json,) = [f for f in items.files if f.target.endswith("/items-json")]
    password = password_file.data.decode()
    assert len(password) >= 32 and password_file.secret and items_json.secret
    assert json.loads(items_json.data)["database"]["password"] == password
    for path in ("deployments", "deployments/shop", "events"):
        assert password not in api.get(f"/v1/clusters/{cluster}/{path}").text


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"db_password": "short"}, "options.db_password: must have at least 12 characters"),
        ({"db_password": "line-one\nline-two"}, "options.db_password: must match"),
        ({"db_password": "line-one\x00line-two"}, "options.db_password: control character"),
        ({**OPTIONS, "web_port": 80}, "options.web_port: must be at least 1024"),
        ({**OPTIONS, "db_name": "Shop"}, "options.db_name: must match"),
        ({**OPTIONS, "replicas": 2}, "options: unknown option(s): replicas"),
    ],
)
def test_bad_options_are_refused_by_name_and_nothing_is_made(
    api: Api, cluster: str, options: dict[str, Any], expected: str
) -> None:
    r = install(api, cluster, **options)
    assert r.status_code == 400, r.text
    assert expected in r.json()["errors"][0]["detail"]
    for secret in ("line-one", "short"):
        assert secret not in r.text
    assert api.get(f"/v1/clusters/{cluster}/deployments").json()["deployments"] == []
    assert api.settle() == 0


@pytest.mark.parametrize("field", ["options", "values"])
def test_a_control_character_in_a_secret_is_refused_without_echoing_it(
    api: Api, cluster: str, field: str
) -> None:
    assert install(api, cluster).status_code == 202
    api.settle()
    secret = "leak-me-not\x00-123"
    r = api.patch(f"/v1/clusters/{cluster}/deployments/shop", json={field: {"db_password": secret}})
    assert r.status_code == 400, r.text
    detail = r.json()["errors"][0]["detail"]
    # A package's deployment takes options, not values: either way the value is not quoted.
    assert ("control character U+0000" if field == "options" else "takes no values") in detail
    assert "leak-me-not" not in r.text
    assert api.get(f"/v1/clusters/{cluster}/deployments/shop").json()["status"] == (
        "CREATE_COMPLETE"
    )
