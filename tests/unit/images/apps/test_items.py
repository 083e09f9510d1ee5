"""cove-items (the three-tier package's API and schema task) against the real PostgreSQL of
the test machine, in a database of its own. The image runs it with Debian's psycopg2; here
psycopg 3 stands in under that name (the calls it makes, ``connect`` with keywords, cursors,
``%s`` parameters, ``Error``, mean the same in both)."""

from __future__ import annotations

import runpy
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

import cove.images.apps
from tests.conftest import PG_ADMIN_URL

PROGRAM = Path(cove.images.apps.__file__).parent / "items.py"


@pytest.fixture(scope="module")
def items(monkeypatch_module: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch_module.setitem(sys.modules, "psycopg2", psycopg)
    return runpy.run_path(str(PROGRAM))


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def database() -> Iterator[dict[str, Any]]:
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"cove_items_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(admin)
    yield {
        "database": {
            "host": info.get("host", "127.0.0.1"),
            "port": int(info.get("port", 5432)),
            "dbname": name,
            "user": info.get("user", "postgres"),
            "password": "unused-with-trust",
        }
    }
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def config(database: dict[str, Any]) -> dict[str, Any]:
    """The module's database, empty: as a fresh deployment's before its schema task."""
    with psycopg.connect(**database["database"], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS items, schema_runs")
    return database


@pytest.fixture
def http(items: dict[str, Any], config: dict[str, Any]) -> Iterator[httpx.Client]:
    """cove-items serving ``config`` on a free port, as ``serve`` runs it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), items["handler"](config))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=10) as client:
        yield client
    server.shutdown()
    server.server_close()


def call(http: httpx.Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    r = http.request(method, path, json=body) if body is not None else http.request(method, path)
    assert r.headers["content-type"] == "application/json"
    return r.status_code, r.json()


def test_before_the_schema_the_api_is_unhealthy_and_after_it_items_go_in_and_come_out(
    items: dict[str, Any],
    config: dict[str, Any],
    http: httpx.Client,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, doc = call(http, "GET", "/api/health")
    assert status == 503 and 'relation "items" does not exist' in doc["error"]
    assert items["migrate"](config) == 0
    assert "schema version 1 applied (run 1)" in capsys.readouterr().out
    assert call(http, "GET", "/api/health") == (200, {"status": "ok", "items": 0})
    status, made = call(http, "POST", "/api/items", {"name": "  first  "})
    assert status == 201 and made["name"] == "first" and made["id"] == 1
    call(http, "POST", "/api/items/", {"name": "second"})
    status, listed = call(http, "GET", "/api/items?x=1")
    assert status == 200 and [i["name"] for i in listed["items"]] == ["first", "second"]


def test_each_migration_run_is_recorded_and_keeps_the_data(
    items: dict[str, Any], config: dict[str, Any], http: httpx.Client
) -> None:
    items["migrate"](config)
    call(http, "POST", "/api/items", {"name": "kept"})
    status, schema = call(http, "GET", "/api/schema")
    assert status == 200 and schema["version"] == 1 and len(schema["runs"]) == 1
    items["migrate"](config)
    assert len(call(http, "GET", "/api/schema")[1]["runs"]) == 2
    assert [i["name"] for i in call(http, "GET", "/api/items")[1]["items"]] == ["kept"]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/api/items", {"name": ""}, (400, "name: a string of 1 to 200 characters")),
        ("POST", "/api/items", {"name": "x" * 201}, (400, "name: a string of 1 to 200")),
        ("POST", "/api/items", {"name": 3}, (400, "name: a string")),
        ("POST", "/api/items", {"name": "a", "id": 9}, (400, 'expected {"name": "..."}')),
        ("POST", "/api/items", None, (400, 'expected {"name": "..."}')),
        ("DELETE", "/api/items", None, (405, "DELETE is not allowed on /api/items")),
        ("GET", "/etc/passwd", None, (404, "no such resource: /etc/passwd")),
    ],
)
def test_bad_requests_are_refused_by_name(
    items: dict[str, Any],
    config: dict[str, Any],
    http: httpx.Client,
    method: str,
    path: str,
    body: Any,
    expected: tuple[int, str],
) -> None:
    items["migrate"](config)
    status, doc = call(http, method, path, body)
    assert (status, doc["error"][: len(expected[1])]) == expected
    assert call(http, "GET", "/api/items")[1]["items"] == []


def test_a_config_that_cannot_be_read_is_one_line_and_exit_1(
    items: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    assert items["main"](["--config", str(tmp_path / "bad.json"), "migrate"]) == 1
    assert "bad.json: JSONDecodeError" in capsys.readouterr().err


def test_the_schema_task_waits_a_moment_for_a_database_it_cannot_reach_then_fails(
    items: dict[str, Any], config: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    away = {"database": {**config["database"], "host": "127.0.0.1", "port": 1}}
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        items["reachable"](away, wait_s=1.0)
    assert 0.5 < time.monotonic() - started < 5
    said = capsys.readouterr().out
    assert "database not reachable yet (" in said and "trying again" in said
    items["reachable"](config, wait_s=1.0)  # reachable: returns at once
