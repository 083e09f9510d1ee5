"""The clustering sub-application's ASGI layer: request id, control characters refused in
the path and query, Senlin's microversion negotiation on ``/v1`` (with the version header
on every answer), and the request body bounded as for Magnum's routes."""

from __future__ import annotations

import json
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cove import errors
from cove.api.clustering import microversions
from cove.api.clustering.errors import body as fault
from cove.api.middleware import _bad_characters, _content_length, _header, _read_body, _replay


class SenlinProtocol:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req-{uuid.uuid4()}"
        scope.setdefault("state", {})["request_id"] = request_id
        extra: list[tuple[bytes, bytes]] = [(b"x-openstack-request-id", request_id.encode())]
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):  # the mount point (Starlette keeps it in path)
            path = path[len(root) :]
        refused = _bad_characters(path, scope.get("query_string", b""))
        if refused is not None:
            await _reply(send, 400, fault(400, refused, "BadRequest"), extra)
            return
        if path == "/v1" or path.startswith("/v1/"):
            try:
                version = microversions.negotiate(_header(scope, b"openstack-api-version"))
            except errors.CoveError as exc:
                await _reply(
                    send,
                    exc.status,
                    fault(exc.status, exc.message, getattr(exc, "senlin_type", None)),
                    extra,
                )
                return
            scope["state"]["clustering_version"] = version
            extra += [
                (b"openstack-api-version", f"{microversions.SERVICE} {version}".encode()),
                (b"vary", b"OpenStack-API-Version"),
            ]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        if scope["method"] not in ("GET", "HEAD"):
            payload = await _read_body(receive, _content_length(scope), self.max_body_bytes)
            if payload is None:
                message = (
                    f"Request limit exceeded: the body is larger than {self.max_body_bytes} bytes."
                )
                await _reply(send, 413, fault(413, message, "RequestLimitExceeded"), extra)
                return
            receive = _replay(payload, receive)
        await self.app(scope, receive, with_headers)


async def _reply(
    send: Send, status: int, body: dict[str, object], extra: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
