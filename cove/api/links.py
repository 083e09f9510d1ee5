"""``links`` on every object: clients ``del obj['links']`` and crash without them."""

from __future__ import annotations

from typing import Any


def links(base_url: str, path: str) -> list[dict[str, Any]]:
    return [
        {"href": f"{base_url}/v1/{path}", "rel": "self"},
        {"href": f"{base_url}/{path}", "rel": "bookmark"},
    ]
