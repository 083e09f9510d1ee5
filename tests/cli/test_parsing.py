"""The CLI's pure helpers: labels, JSON patch from --set/--unset, node rows, URLs, errors."""

from __future__ import annotations

import click
import httpx
import pytest

from cove.cli import client, nodes, options


def test_labels_merge_and_keep_commas_in_values() -> None:
    assert options.parse_labels(()) is None
    assert options.parse_labels(("a=1,b=2", "c=x=y")) == {"a": "1", "b": "2", "c": "x=y"}
    assert options.parse_labels(("no_proxy=a,b,c,d=4",)) == {"no_proxy": "a,b,c", "d": "4"}
    assert options.parse_labels(("a=1", "a=2")) == {"a": "2"}
    with pytest.raises(click.BadParameter, match="not key=value"):
        options.parse_labels(("novalue",))


def test_patch_document_replaces_adds_and_removes() -> None:
    ops = options.patch_document(
        ["node_count=3", "name=x", "public=true", "labels=a=1,b=2", "labels.c=3"], ["http_proxy"]
    )
    assert ops == [
        {"op": "replace", "path": "/node_count", "value": 3},
        {"op": "replace", "path": "/name", "value": "x"},
        {"op": "replace", "path": "/public", "value": True},
        {"op": "replace", "path": "/labels", "value": "{'a': '1', 'b': '2'}"},
        {"op": "add", "path": "/labels/c", "value": "3"},
        {"op": "remove", "path": "/http_proxy"},
    ]
    with pytest.raises(click.UsageError, match="nothing to change"):
        options.patch_document([], [])
    with pytest.raises(click.BadParameter):
        options.patch_document(["novalue"], [])


def test_node_rows_from_health_then_addresses() -> None:
    healthy = {
        "health_status_reason": {
            "api": "ok",
            "cove-1234abcd-worker-0.Ready": "False",
            "cove-1234abcd-worker-0.reason": "swarm reports down",
            "cove-1234abcd-manager-0.Ready": "True",
            "cove-1234abcd-gpu-0.Ready": "True",
        },
        "master_count": 1,
        "node_count": 2,
    }
    rows = nodes.node_rows(healthy, {"gpu": "worker"})
    assert rows == [
        {"name": "cove-1234abcd-manager-0", "role": "master", "ready": "true", "reason": ""},
        {"name": "cove-1234abcd-gpu-0", "role": "worker", "ready": "true", "reason": ""},
        {
            "name": "cove-1234abcd-worker-0",
            "role": "worker",
            "ready": "false",
            "reason": "swarm reports down",
        },
    ]
    assert nodes.up_count(healthy) == 2
    fresh = {"master_addresses": ["10.0.0.2"], "node_addresses": ["10.1.0.2"], "node_count": 1}
    assert [(r["name"], r["role"]) for r in nodes.node_rows(fresh)] == [
        ("10.0.0.2", "master"),
        ("10.1.0.2", "worker"),
    ]
    assert nodes.up_count(fresh) == 2


@pytest.mark.parametrize(
    "url",
    ["http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/", "h:1/v1"],
)
def test_base_url_with_or_without_v1(url: str) -> None:
    assert client.base_url(url) == "http://h:1"


def _response(status: int, body: object) -> httpx.Response:
    request = httpx.Request("GET", "http://h/v1/clusters/x")
    if isinstance(body, bytes):
        return httpx.Response(status, content=body, request=request)
    return httpx.Response(status, json=body, request=request)


def test_error_message_prefers_detail_then_title() -> None:
    both = {"errors": [{"title": "short", "detail": "Long detail."}]}
    assert client.error_message(_response(400, both)) == "Long detail."
    title = {"errors": [{"title": "Requested microversion is unsupported"}]}
    assert client.error_message(_response(406, title)) == "Requested microversion is unsupported"
    empty = {"errors": [{"title": "", "detail": ""}]}
    assert client.error_message(_response(404, empty)) == "HTTP 404 Not Found for /v1/clusters/x"
    assert client.error_message(_response(502, b"<html>")).startswith("HTTP 502 Bad Gateway")


def test_serve_offers_every_auth_mode() -> None:
    from cove.cli import main
    from cove.settings import AuthMode

    assert tuple(m.value for m in AuthMode) == main.AUTH_MODES


def test_requests_ask_for_the_latest_microversion_and_carry_os_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OS_TOKEN", raising=False)
    anonymous = client.CoveClient.from_env(None)
    assert anonymous.url == client.DEFAULT_URL
    assert anonymous._http.headers["OpenStack-API-Version"] == "container-infra latest"
    assert "X-Auth-Token" not in anonymous._http.headers
    anonymous.close()
    monkeypatch.setenv("OS_TOKEN", "secret")
    with_token = client.CoveClient.from_env("h:1")
    assert with_token._http.headers["X-Auth-Token"] == "secret"
    with_token.close()
