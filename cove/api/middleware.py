"""The ASGI layer in front of the routes, in this order (outermost first):

1. path normalisation: unversioned paths (``/clusters``) go to v1, as Magnum routes them and
   OSC relies on; a trailing slash is dropped (clients send ``/v1/clusters/?limit=2``);
2. request id: ``x-openstack-request-id`` on every response;
3. microversion negotiation for ``/v1`` paths, with the version headers on every answer.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cove import errors
from cove.api import microversions
from cove.api.errors import error_body, unsupported_version_body


def _normalise(path: str) -> str:
    if path in ("", "/"):
        return "/"
    path = path.rstrip("/") or "/"
    if path == "/v1" or path.startswith("/v1/"):
        return path
    if path in ("/docs", "/openapi.json", "/healthz"):
        return path
    return "/v1" + path


class MagnumProtocol:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _normalise(scope["path"])
        scope = dict(scope, path=path, raw_path=path.encode())
        request_id = f"req-{uuid.uuid4()}"
        scope.setdefault("state", {})["request_id"] = request_id
        versioned = path.startswith("/v1")
        extra: list[tuple[bytes, bytes]] = [(b"x-openstack-request-id", request_id.encode())]

        if versioned:
            header = _header(scope, b"openstack-api-version")
            try:
                version = microversions.negotiate(header)
            except microversions.UnsupportedVersion:
                await _reply(send, 406, unsupported_version_body(), extra, None)
                return
            except errors.NotAcceptable:
                body = error_body(406, "")
                body["errors"][0]["code"] = ""
                await _reply(send, 406, body, extra, None, with_versions=False)
                return
            scope["state"]["version"] = version
            extra += _encode(microversions.response_headers(version))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _encode(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


async def _reply(
    send: Send,
    status: int,
    body: dict[str, Any],
    extra: list[tuple[bytes, bytes]],
    version: microversions.Version | None,
    with_versions: bool = True,
) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    headers += extra
    if with_versions:
        headers += _encode(microversions.response_headers(version))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
