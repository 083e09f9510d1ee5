"""The clustering API (Senlin v1 at ``<url>/clustering/v1``) as the ``containers`` commands
use it: one client per invocation, lists read whole, and the action a write started."""

from __future__ import annotations

from typing import Any

import click
import httpx

from cove.cli.client import CoveClient
from cove.cli.login import resolve

PREFIX = "/clustering/v1"
# The newest microversion cove speaks: it shows cluster_id on actions (1.14).
API_VERSION = "clustering 1.14"
PAGE = 1000  # the API's largest page


def client() -> CoveClient:
    """The clustering client for the root ``--url`` and ``--os-token``, made once."""
    root = click.get_current_context().find_root()
    obj = root.ensure_object(dict)
    if "clustering" not in obj:
        login = resolve()
        obj["clustering"] = CoveClient(
            login.url,
            login.token,
            prefix=PREFIX,
            api_version=API_VERSION,
        )
        root.call_on_close(obj["clustering"].close)
    made: CoveClient = obj["clustering"]
    return made


def collect(api: CoveClient, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a Senlin collection, following ``marker`` page by page."""
    items: list[dict[str, Any]] = []
    query = {k: v for k, v in params.items() if v is not None}
    while True:
        page = api.get(path, **query, limit=PAGE)[key]
        items.extend(page)
        if len(page) < PAGE:
            return items
        query["marker"] = page[-1]["id"]


def action_of(response: httpx.Response) -> str:
    """The id of the action a write started: the last part of its ``Location``."""
    location = response.headers.get("Location", "")
    return location.rstrip("/").rsplit("/", 1)[-1]


def write(api: CoveClient, method: str, path: str, body: Any = None) -> tuple[str, Any]:
    """Send a write the API answers 202; return the action's id and the body (if any)."""
    response = api.request(method, path, json=body)
    return action_of(response), (response.json() if response.content else None)


def short(ident: str | None) -> str:
    return (ident or "")[:8]
