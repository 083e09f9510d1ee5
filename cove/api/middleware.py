"""The ASGI layer in front of the routes, in this order (outermost first):

1. path normalisation: unversioned paths (``/clusters``) go to v1, as Magnum routes them and
   OSC relies on; a trailing slash is dropped (clients send ``/v1/clusters/?limit=2``);
2. request id: ``x-openstack-request-id`` on every response;
3. refusal of control characters (NUL above all: PostgreSQL cannot store it) in the path, the
   query and the identity headers, 400 naming the parameter or header;
4. microversion negotiation for ``/v1`` paths, with the version headers on every answer;
5. the request body bounded (``max_body_bytes``): a larger one is refused with 413 before it
   is read whole; the body is read here and replayed to the app;
6. response header values made sendable: a control character or a line break in a header
   (a label name echoed in ``Cove-Warning``) would make the server drop the connection.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cove import errors
from cove.api import microversions
from cove.api.context import IDENTITY_HEADERS
from cove.api.errors import error_body, unsupported_version_body
from cove.domain import fields

DEFAULT_MAX_BODY = 1024 * 1024


def _normalise(path: str) -> str:
    if path in ("", "/"):
        return "/"
    path = path.rstrip("/") or "/"
    if path == "/v1" or path.startswith("/v1/"):
        return path
    if path in ("/docs", "/openapi.json", "/healthz") or path.startswith("/cloud/"):
        return path
    return "/v1" + path


class MagnumProtocol:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        identity_from_client: bool = True,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # In keystone mode the identity headers come from the token (cove.api.keystone):
        # what a client sends under those names is dropped there, never refused here.
        self.identity_from_client = identity_from_client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/clustering" or scope["path"].startswith("/clustering/"):
            # Senlin's API has its own protocol (cove.api.clustering.middleware).
            path = scope["path"].rstrip("/")
            path = "/clustering/" if path == "/clustering" else path
            await self.app(dict(scope, path=path, raw_path=path.encode()), receive, send)
            return
        path = _normalise(scope["path"])
        scope = dict(scope, path=path, raw_path=path.encode())
        request_id = f"req-{uuid.uuid4()}"
        scope.setdefault("state", {})["request_id"] = request_id
        versioned = path.startswith("/v1")
        extra: list[tuple[bytes, bytes]] = [(b"x-openstack-request-id", request_id.encode())]

        refused = _bad_characters(path, scope.get("query_string", b"")) or (
            _bad_identity(scope) if self.identity_from_client else None
        )
        if refused is not None:
            await _reply(send, 400, error_body(400, refused), extra, None, with_versions=False)
            return

        if versioned:
            header = _header(scope, b"openstack-api-version")
            try:
                version = microversions.negotiate(header)
            except microversions.UnsupportedVersion:
                await _reply(send, 406, unsupported_version_body(), extra, None)
                return
            except errors.NotAcceptable as exc:
                body = error_body(406, exc.message or "Not Acceptable")
                await _reply(send, 406, body, extra, None, with_versions=False)
                return
            scope["state"]["version"] = version
            extra += _encode(microversions.response_headers(version))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, _sendable(v)) for k, v in message.get("headers", [])]
                message = dict(message, headers=[*headers, *extra])
            await send(message)

        if scope["method"] not in ("GET", "HEAD"):
            payload = await _read_body(receive, _content_length(scope), self.max_body_bytes)
            if payload is None:
                detail = (
                    f"Request body too large: at most {self.max_body_bytes} bytes are accepted."
                )
                await _reply(send, 413, error_body(413, detail), extra, None, with_versions=False)
                return
            receive = _replay(payload, receive)

        await self.app(scope, receive, send_with_headers)


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def _read_body(receive: Receive, declared: int | None, limit: int) -> bytes | None:
    """The whole body, or ``None`` as soon as it is known to exceed ``limit`` bytes."""
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _bad_characters(path: str, query: bytes) -> str | None:
    """A message naming the path or query parameter holding a control character, if any."""
    char = fields.bad_character(path)
    if char is not None:
        return (
            f"Invalid request path {errors.quote(path)}: control character "
            f"{fields.describe_character(char)} is not allowed."
        )
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
    for key, value in pairs:
        for text in (key, value):
            char = fields.bad_character(text)
            if char is not None:
                return (
                    f"Invalid input for field/attribute {errors.quote(key)[1:-1]}. Value: "
                    f"{errors.quote(value)}. Control character "
                    f"{fields.describe_character(char)} is not allowed."
                )
    return None


def _bad_identity(scope: Scope) -> str | None:
    """A message naming the identity header holding a C0 control character or DEL, if any:
    the caller's project and user ids are stored. Bytes, so UTF-8 text is never misread."""
    for key, value in scope.get("headers", []):
        name = key.decode("latin-1").lower()
        if name not in IDENTITY_HEADERS:
            continue
        bad = next((b for b in value if b < 32 or b == 127), None)
        if bad is not None:
            return (
                f"Invalid header {name}: control character "
                f"{fields.describe_character(chr(bad))} is not allowed."
            )
    return None


def _sendable(value: bytes) -> bytes:
    """A header value h11 will send: control characters escaped as ``\\xNN``."""
    if all(32 <= b < 127 or b == 9 or b >= 128 for b in value):
        return value
    return b"".join(
        bytes([b]) if 32 <= b < 127 or b == 9 or b >= 128 else f"\\x{b:02x}".encode() for b in value
    )


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
