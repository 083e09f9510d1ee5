"""A fake of the deployments API's update contract (``PATCH /v1/clusters/{c}/deployments/{d}``
with ``definition``, ``values`` and ``options`` merged, ``package_version``; 202 with the view
in UPDATE_IN_PROGRESS), for the CLI's update and upgrade commands: it plays, on demand, what
the real server gives only by chance (an update whose new instances fail, each step of it
through the long poll); tests/cli/test_deployments.py and test_app_catalog.py run update
and upgrade against the real route. It serves one cluster and one deployment installed
from the catalog, records each PATCH body, and plays an update through the events long
poll: each read after the PATCH brings the next event (a change of progress, then the
end), as the conductor would."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

CLUSTER = {
    "uuid": "5e5d0e53-0000-4000-8000-000000000001",
    "name": "c1",
    "status": "CREATE_COMPLETE",
    "master_addresses": ["10.0.0.2"],
    "node_addresses": ["10.1.0.2"],
}
PACKAGE = {
    "name": "keystone",
    "version": "1.1.0",
    "description": "keystone",
    "images": [],
    "options_schema": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
    "template": "",
}


class FakeDeployments:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []
        self.outcome = "UPDATE_COMPLETE"
        self.deployment: dict[str, Any] = {
            "uuid": "d0000000-0000-4000-8000-000000000002",
            "name": "ks",
            "status": "CREATE_COMPLETE",
            "status_reason": None,
            "package": "keystone",
            "package_version": "1.0.0",
            "definition": {
                "name": "ks",
                "services": {"keystone": {"image": "cove/app-keystone", "ports": []}},
            },
            "values": {},
            "secret_values": [],
            "progress": {"keystone": {"state": "ready", "detail": "1/1 running"}},
        }
        self.events: list[dict[str, Any]] = [
            self._event("Deploy accepted."),
            self._event("deploy complete."),
        ]
        self._script: list[tuple[str, str, dict[str, Any] | None]] = []
        self.lock = threading.Lock()

    def _event(self, message: str, level: str = "info") -> dict[str, Any]:
        number = len(getattr(self, "events", [])) + 1
        return {
            "id": number,
            "time": "2026-12-06T12:00:00+00:00",
            "level": level,
            "message": message,
        }

    def patch(self, body: dict[str, Any]) -> dict[str, Any]:
        self.patches.append(body)
        d = self.deployment
        d["status"] = "UPDATE_IN_PROGRESS"
        d["package_version"] = body.get("package_version", d["package_version"])
        self.events.append(self._event("Update accepted."))
        failed = self.outcome.endswith("FAILED")
        self._script = [
            (
                "info",
                "keystone: starting (0/2 running)",
                {"keystone": {"state": "starting", "detail": "0/2 running"}},
            ),
            (
                "warning" if failed else "info",
                "keystone: failing (1 container(s) ended (exit 1))"
                if failed
                else "keystone: ready (2/2 running)",
                {
                    "keystone": {
                        "state": "failing" if failed else "ready",
                        "detail": "exit 1" if failed else "2/2 running",
                    }
                },
            ),
            (
                "error" if failed else "info",
                "update failed: keystone: exit 1" if failed else "update complete.",
                None,
            ),
        ]
        return d

    def events_since(self, since: int, wait: bool) -> dict[str, Any]:
        d = self.deployment
        if wait and self._script and not [e for e in self.events if e["id"] > since]:
            level, message, progress = self._script.pop(0)
            self.events.append(self._event(message, level))
            if progress is not None:
                d["progress"] = progress
            else:
                d["status"] = self.outcome
                d["status_reason"] = "keystone: exit 1" if self.outcome.endswith("FAILED") else None
        found = [e for e in self.events if e["id"] > since]
        return {
            "events": found,
            "status": d["status"],
            "status_reason": d["status_reason"],
            "progress": d["progress"],
        }


def _handler(fake: FakeDeployments) -> type[BaseHTTPRequestHandler]:
    deployments = re.compile(
        r"^/v1/clusters/(?P<c>[^/]+)/deployments/(?P<d>[^/]+)(?P<events>/events)?$"
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self) -> tuple[re.Match[str] | None, dict[str, list[str]]]:
            """The deployment's route, or None once a 404 is sent."""
            url = urlparse(self.path)
            match = deployments.match(url.path)
            known = match is not None and match["c"] in (CLUSTER["uuid"], CLUSTER["name"])
            if (
                match is None
                or not known
                or match["d"] not in (fake.deployment["uuid"], fake.deployment["name"])
            ):
                self._send(404, {"errors": [{"detail": f"{url.path} could not be found."}]})
                return None, {}
            return match, parse_qs(url.query)

        def do_GET(self) -> None:
            path = urlparse(self.path).path
            if path in (f"/v1/clusters/{CLUSTER['name']}", f"/v1/clusters/{CLUSTER['uuid']}"):
                return self._send(200, CLUSTER)
            if path == f"/v1/clusters/{CLUSTER['uuid']}/nodes":
                return self._send(200, {"nodes": [{"name": "n-0", "address": "10.0.0.2"}]})
            if path == "/v1/catalog/packages/keystone":
                return self._send(200, PACKAGE)
            match, query = self._route()
            if match is None:
                return None
            with fake.lock:
                if match["events"]:
                    since = int(query.get("since", ["0"])[0])
                    return self._send(200, fake.events_since(since, "wait" in query))
                return self._send(200, fake.deployment)

        def do_PATCH(self) -> None:
            match, _ = self._route()
            if match is None or match["events"]:
                return None
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with fake.lock:
                return self._send(202, fake.patch(body))

    return Handler


@contextmanager
def serve(fake: FakeDeployments) -> Iterator[str]:
    """The fake on a free loopback port; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
