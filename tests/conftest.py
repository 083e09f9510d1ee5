"""Shared fixtures. Database tests run against both SQLite (a file per test) and PostgreSQL
(127.0.0.1:5432, trust auth; one database per test session, tables emptied between tests).
Set COVE_TEST_PG to another PostgreSQL admin URL; there is no SQLite-only mode (scripts/setup.sh
starts PostgreSQL), so an empty value fails the database tests instead of skipping them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from cove.api.app import create_app
from cove.conductor.runner import Runner
from cove.db import migrate, models
from cove.db.session import make_engine
from cove.drivers.registry import DriverRegistry
from cove.settings import Settings
from tests.support.drivers import InstantDriver

Response = Any  # the test client's response (httpx2)

PG_ADMIN_URL = os.environ.get(
    "COVE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
LATEST = {"OpenStack-API-Version": "container-infra latest"}


@contextmanager
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of its own at cove's schema, dropped afterwards; its URL."""
    if not PG_ADMIN_URL:
        pytest.fail(
            "COVE_TEST_PG is empty, but every database test runs on PostgreSQL too: "
            "unset it (scripts/setup.sh starts PostgreSQL on 127.0.0.1:5432)"
        )
    name = f"cove_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


def _empty_pg(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in models.Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    migrate.seed_defaults(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cove.db'}"
    url: str = request.getfixturevalue("pg_url")
    _empty_pg(url)
    return url


class Api:
    """A client for the in-process app that speaks as one identity and can drain the
    conductor's queue synchronously, so tests see a settled state without sleeping."""

    def __init__(
        self,
        client: TestClient,
        runner: Runner,
        headers: dict[str, str],
        drivers: DriverRegistry,
    ) -> None:
        self.client = client
        self.runner = runner
        self.headers = headers
        self.drivers = drivers

    def as_project(
        self, project: str, roles: str = "member,reader", user: str | None = None
    ) -> Api:
        identity = {
            "X-Project-Id": project,
            "X-User-Id": user or f"{project}-user",
            "X-Roles": roles,
        }
        return Api(self.client, self.runner, {**self.headers, **identity}, self.drivers)

    def at(self, version: str | None) -> Api:
        headers = {k: v for k, v in self.headers.items() if k != "OpenStack-API-Version"}
        if version is not None:
            headers["OpenStack-API-Version"] = f"container-infra {version}"
        return Api(self.client, self.runner, headers, self.drivers)

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def settle(self) -> int:
        """Run every claimable operation to its end; return how many ran."""
        count = 0
        while self.runner.run_one():
            count += 1
        return count


@pytest.fixture
def make_api(db_url: str) -> Iterator[Callable[..., Api]]:
    """Build an app on the test database with settings overridden, e.g. ``make_api(auth_mode=
    "keystone")``, and more drivers beside the instant one (``drivers=[...]``); the default
    ``api`` fixture is ``make_api()``."""
    apps: list[Any] = []

    def build(*, drivers: Sequence[Any] = (), **overrides: Any) -> Api:
        registry = DriverRegistry([InstantDriver(), *drivers])
        app = create_app(Settings(db=db_url, **overrides), registry=registry)
        runner = Runner.standalone(app.state.session_factory, registry, "test-conductor")
        client = TestClient(app)
        client.__enter__()
        apps.append((app, client))
        return Api(client, runner, dict(LATEST), registry)

    yield build
    for app, client in apps:
        client.__exit__(None, None, None)
        app.state.engine.dispose()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


def error_detail(response: Response) -> str:
    body = response.json()
    return str(body["errors"][0]["detail"])


@pytest.fixture
def catalog(api: Api) -> dict[str, Any]:
    """An image served by the instant driver, a keypair, and the default flavors/network."""
    image = api.post(
        "/v1/images", json={"name": "instant-image", "os_distro": "instant", "public": True}
    )
    assert image.status_code == 201, image.text
    keypair = api.post("/v1/keypairs", json={"name": "kp"})
    assert keypair.status_code == 201, keypair.text
    return {"image": image.json(), "keypair": keypair.json()}


def template_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "swarm-tpl",
        "coe": "swarm-mode",
        "image_id": "instant-image",
        "external_network_id": "public",
        "flavor_id": "m1.small",
        "master_flavor_id": "m1.small",
        "keypair_id": "kp",
        "public": True,
    }
    body.update(overrides)
    return body
