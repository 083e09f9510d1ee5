"""Magnum's collection body: the items under their key and, when the page is full, a
``next`` link with the same sort and limit and the last item as marker."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from cove.services.pagination import Page, PageRequest


def next_link(base_url: str, path: str, params: PageRequest, limit: int, marker: str) -> str:
    query = urlencode(
        {"sort_key": params.sort_key, "sort_dir": params.sort_dir, "limit": limit, "marker": marker}
    )
    return f"{base_url}/v1/{path}?{query}"


def collection(
    key: str,
    items: list[dict[str, Any]],
    page: Page[Any],
    base_url: str,
    path: str,
    params: PageRequest,
    max_limit: int,
) -> dict[str, Any]:
    body: dict[str, Any] = {key: items}
    if page.next_marker is not None:
        limit = min(params.limit or max_limit, max_limit)
        body["next"] = next_link(base_url, path, params, limit, page.next_marker)
    return body
