#!/usr/bin/python3
"""cove-items: the application tier of the three-tier catalog package, a small JSON API over
a PostgreSQL table: ``cove-items --config FILE serve`` answers HTTP, ``cove-items --config
FILE migrate`` creates the schema (the package's one-time task).

Shipped verbatim into the ``items`` app image as ``/usr/local/bin/cove-items`` (the recipes
read it as data); it runs there under Debian's python3 with Debian's python3-psycopg2 and
nothing else, and never imports cove.

The config file is JSON (rendered by the deployment; JSON quotes any password safely)::

    {"database": {"host": "db", "port": 5432, "dbname": "app", "user": "app",
                  "password": "..."},
     "listen": {"host": "0.0.0.0", "port": 8000}}

HTTP, all JSON, under ``/api`` so that a front end can pass the paths through unchanged:

- ``GET /api/health``: 200 once the items table answers, else 503 with the reason;
- ``GET /api/items``: ``{"items": [{"id", "name", "created_at"}]}``, oldest first;
- ``POST /api/items`` with ``{"name": "..."}`` (1 to 200 characters): 201 with the item;
- ``GET /api/schema``: ``{"version", "runs": [{"at", "host"}]}``, one run per ``migrate``
  that succeeded, so whoever deployed it can see that the schema task ran once.

Each request opens its own connection: a restarted database costs one failed request, and
the API holds nothing between requests.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg2

SCHEMA_VERSION = 1
MAX_NAME = 200
MAX_BODY = 16 * 1024
CONNECT_WAIT_S = 30.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id serial PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS schema_runs (
    id serial PRIMARY KEY,
    version integer NOT NULL,
    host text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
"""


class BadRequest(Exception):
    """A request the client can fix; its message is the answer's ``error``."""


def connect(config: dict[str, Any]) -> Any:
    db = config["database"]
    return psycopg2.connect(
        host=db["host"],
        port=int(db.get("port", 5432)),
        dbname=db["dbname"],
        user=db["user"],
        password=db["password"],
        connect_timeout=5,
        application_name="cove-items",
    )


@contextmanager
def cursor(config: dict[str, Any]) -> Iterator[Any]:
    """A cursor in a transaction committed at the end (rolled back on an error), on a
    connection closed afterwards (psycopg2's own ``with`` leaves it open)."""
    conn = connect(config)
    try:
        with conn, conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def reachable(config: dict[str, Any], wait_s: float = CONNECT_WAIT_S) -> None:
    """Returns once the database takes a connection, trying again for ``wait_s`` seconds
    (saying why each time). cove-gate starts the task once the database is healthy and
    its name resolves here (before it waited for the name, the e2e run saw "could not
    translate host name" for about a second); a database that moves or restarts meanwhile
    is still a moment away. Raises the last error after that."""
    deadline = time.monotonic() + wait_s
    delay = 0.2
    while True:
        try:
            connect(config).close()
            return
        except psycopg2.OperationalError as exc:
            if time.monotonic() + delay > deadline:
                raise
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"cove-items: database not reachable yet ({reason}); trying again", flush=True)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def migrate(config: dict[str, Any]) -> int:
    """Creates the tables (idempotent) and records this run."""
    reachable(config)
    with cursor(config) as cur:
        # One migration at a time even without cove-gate's lock (a second run waits here).
        cur.execute("SELECT pg_advisory_xact_lock(7411)")
        cur.execute(SCHEMA)
        cur.execute(
            "INSERT INTO schema_runs (version, host) VALUES (%s, %s)",
            (SCHEMA_VERSION, socket.gethostname()),
        )
        cur.execute("SELECT count(*) FROM schema_runs")
        (runs,) = cur.fetchone()
    print(f"cove-items: schema version {SCHEMA_VERSION} applied (run {runs})", flush=True)
    return 0


def _item(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": row[0], "name": row[1], "created_at": row[2].isoformat()}


def answer(config: dict[str, Any], method: str, path: str, body: bytes) -> tuple[int, Any]:
    """The status and JSON document for one request."""
    route = (method, path.split("?", 1)[0].rstrip("/"))
    if route == ("GET", "/api/health"):
        try:
            with cursor(config) as cur:
                cur.execute("SELECT count(*) FROM items")
                (count,) = cur.fetchone()
        except psycopg2.Error as exc:
            return 503, {"status": "unavailable", "error": str(exc).strip()}
        return 200, {"status": "ok", "items": count}
    if route == ("GET", "/api/items"):
        with cursor(config) as cur:
            cur.execute("SELECT id, name, created_at FROM items ORDER BY id")
            return 200, {"items": [_item(row) for row in cur.fetchall()]}
    if route == ("POST", "/api/items"):
        name = _name(body)
        with cursor(config) as cur:
            cur.execute(
                "INSERT INTO items (name) VALUES (%s) RETURNING id, name, created_at", (name,)
            )
            return 201, _item(cur.fetchone())
    if route == ("GET", "/api/schema"):
        with cursor(config) as cur:
            cur.execute("SELECT version, host, at FROM schema_runs ORDER BY id")
            rows = cur.fetchall()
            runs = [{"host": r[1], "at": r[2].isoformat()} for r in rows]
            version = max((r[0] for r in rows), default=0)
            return 200, {"version": version, "runs": runs}
    if route[1] in ("/api/health", "/api/items", "/api/schema"):
        return 405, {"error": f"{method} is not allowed on {route[1]}"}
    return 404, {"error": f"no such resource: {route[1] or '/'}"}


def _name(body: bytes) -> str:
    try:
        doc = json.loads(body or b"null")
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(doc, dict) or set(doc) != {"name"}:
        raise BadRequest('expected {"name": "..."}')
    name = doc["name"]
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME:
        raise BadRequest(f"name: a string of 1 to {MAX_NAME} characters")
    return name.strip()


def handler(config: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                status, doc = 413, {"error": f"the body is larger than {MAX_BODY} bytes"}
            else:
                body = self.rfile.read(length) if length else b""
                try:
                    status, doc = answer(config, self.command, self.path, body)
                except BadRequest as exc:
                    status, doc = 400, {"error": str(exc)}
                except psycopg2.Error as exc:
                    status, doc = 503, {"error": f"database: {str(exc).strip()}"}
            data = json.dumps(doc).encode() + b"\n"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"cove-items: {self.address_string()} {format % args}\n")

    return Handler


def serve(config: dict[str, Any]) -> int:
    listen = config.get("listen", {})
    address = (listen.get("host", "0.0.0.0"), int(listen.get("port", 8000)))
    server = ThreadingHTTPServer(address, handler(config))
    print(f"cove-items: listening on {address[0]}:{address[1]}", flush=True)
    server.serve_forever()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cove-items")
    parser.add_argument("--config", required=True, help="the JSON config file")
    parser.add_argument("action", choices=("serve", "migrate"))
    args = parser.parse_args(argv)
    try:
        with open(args.config, encoding="utf-8") as handle:
            config = json.load(handle)
        return migrate(config) if args.action == "migrate" else serve(config)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cove-items: {args.config}: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    except psycopg2.Error as exc:
        print(f"cove-items: database: {str(exc).strip()}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
