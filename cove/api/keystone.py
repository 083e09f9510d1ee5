"""Keystone mode: every request's ``X-Auth-Token`` validated in-process by keystonemiddleware's
auth_token, as Magnum does it, with its caching, revocation, service-token and
``[keystone_authtoken]`` options.

auth_token is WSGI, and wrapping cove's whole ASGI app in it would lose the ASGI lifespan
(cove's events listener starts there). So it is used as a validator only: each request's
headers go through it as a bare WSGI environ in a worker thread, in front of a one-line WSGI
app that marks the environ accepted. On acceptance the request goes on with the headers
auth_token left (the identity headers it set from the token; those the client sent are gone);
on refusal cove answers in its own error body (Magnum's or Senlin's), with auth_token's
``WWW-Authenticate``.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from keystoneauth1 import exceptions as ka_exceptions
from keystoneauth1 import loading as ka_loading
from keystonemiddleware import auth_token
from oslo_config import cfg
from starlette.types import ASGIApp, Receive, Scope, Send

from cove.api.context import IDENTITY_HEADERS

log = logging.getLogger(__name__)

# Where cove differs from auth_token's own defaults, and why:
DEFAULTS = {
    "auth_type": "password",
    # cove decides nothing on an unvalidated request: auth_token refuses it.
    "delay_auth_decision": "false",
    # cove never reads X-Service-Catalog; without it each request carries kilobytes less.
    "include_service_catalog": "false",
    # A service token must belong to a user with the service role(s) (auth_token warns at
    # start-up when this is off: any valid token could pass as a service token).
    "service_token_roles_required": "true",
    "user_domain_name": "Default",
    "project_domain_name": "Default",
}
GROUP = "keystone_authtoken"
REQUIRED = ("auth_url", "username", "password", "project_name")

UNAUTHORIZED = "The request you have made requires authentication."
UNAVAILABLE = (
    "The identity service (Keystone) is unavailable, so the token cannot be validated; "
    "try again later."
)
_ACCEPTED = "cove.token_accepted"
TOKEN_HEADERS = frozenset({b"x-auth-token", b"x-service-token"})
# Fernet tokens are under 300 bytes, JWS ones about 800 (Keystone's two providers).
MAX_TOKEN_BYTES = 4096


class KeystoneConfigError(ValueError):
    """``[keystone_authtoken]`` lacks what validation needs."""


def authtoken_options(options: Mapping[str, str]) -> dict[str, str]:
    """cove's defaults under the operator's ``[keystone_authtoken]`` options, checked: every
    name is auth_token's or its auth plugin's, and the password plugin has its credentials."""
    merged = {**DEFAULTS, **{key: str(value) for key, value in options.items()}}
    try:
        plugin = _plugin_options(merged["auth_type"])
    except ka_exceptions.NoMatchingPlugin:
        allowed = ", ".join(sorted(ka_loading.get_available_plugin_names()))
        raise KeystoneConfigError(
            f"[keystone_authtoken] auth_type {merged['auth_type']!r} is not an auth plugin "
            f"keystoneauth knows; allowed: {allowed}"
        ) from None
    unknown = sorted(set(merged) - _AUTHTOKEN_OPTIONS - {opt.dest for opt in plugin})
    if unknown:
        raise KeystoneConfigError(
            f"unknown [keystone_authtoken] option(s): {', '.join(unknown)} (auth_token's and "
            f"the {merged['auth_type']} plugin's options are allowed)"
        )
    missing = [key for key in REQUIRED if not merged.get(key)]
    if merged["auth_type"] == "password" and missing:
        raise KeystoneConfigError(
            "keystone mode validates tokens with Keystone and needs [keystone_authtoken] "
            f"{', '.join(missing)} (cove's service user; Magnum's option names)"
        )
    merged.setdefault("www_authenticate_uri", merged.get("auth_url", ""))
    return merged


_AUTHTOKEN_OPTIONS = frozenset(opt.dest for _group, opts in auth_token.list_opts() for opt in opts)


def _plugin_options(auth_type: str) -> list[cfg.Opt]:
    return list(ka_loading.get_auth_plugin_conf_options(auth_type))


@dataclass(frozen=True)
class Verdict:
    """What auth_token made of a request: accepted with the headers it left, or refused
    with a status and the headers to answer with."""

    status: int
    headers: list[tuple[bytes, bytes]]

    @property
    def accepted(self) -> bool:
        return self.status == 200


class TokenValidator:
    """keystonemiddleware's AuthProtocol, called with a request's headers only."""

    def __init__(self, options: Mapping[str, str]) -> None:
        checked = authtoken_options(options)
        conf = cfg.ConfigOpts()
        # A private oslo.config object that reads no file and no command line (cove's own
        # argv is not oslo's to parse). auth_token's options go in as paste-style overrides;
        # the auth plugin's (credentials) are set on the object, where auth_token reads them.
        conf([], project="cove", default_config_files=[])
        plugin = _plugin_options(checked["auth_type"])
        conf.register_opts(plugin, group=GROUP)
        for opt in plugin:
            if opt.dest in checked:
                conf.set_override(opt.dest, checked.pop(opt.dest), group=GROUP)
        self._uri = checked["www_authenticate_uri"]
        self._protocol = auth_token.AuthProtocol(_accept, {**checked, "oslo_config_config": conf})

    @property
    def refusal_headers(self) -> list[tuple[bytes, bytes]]:
        """``WWW-Authenticate``, pointing at Keystone, as auth_token sends it with a 401."""
        return [(b"www-authenticate", f'Keystone uri="{self._uri}"'.encode())]

    def validate(self, method: str, path: str, headers: Iterable[tuple[bytes, bytes]]) -> Verdict:
        environ = _environ(method, path, headers)
        replied: list[tuple[str, list[tuple[str, str]]]] = []

        def start_response(status: str, reply: list[tuple[str, str]], _exc: Any = None) -> None:
            replied.append((status, reply))

        try:
            for _chunk in self._protocol(environ, start_response):
                pass
        except Exception:  # auth_token failing inside is Keystone trouble to the caller
            log.exception("validating a token failed")
            return Verdict(503, [])
        if environ.get(_ACCEPTED):
            return Verdict(200, _headers_of(environ))
        status = int(replied[0][0].split()[0]) if replied else 503
        kept = [
            (name.lower().encode(), value.encode("latin-1"))
            for name, value in (replied[0][1] if replied else [])
            if name.lower() == "www-authenticate"
        ]
        return Verdict(status, kept)


def _may_be_token(value: bytes) -> bool:
    """Whether a header could hold a token, checked before Keystone is asked: tokens are
    printable ASCII without spaces (Fernet's base64, JWS's base64url) and short. Anything
    else is refused at once; a huge one would also be reset by Keystone's WSGI server,
    which auth_token reports as Keystone down (a 503 after ~3.5 s of retries)."""
    return 0 < len(value) <= MAX_TOKEN_BYTES and all(0x21 <= byte <= 0x7E for byte in value)


def _accept(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    environ[_ACCEPTED] = True
    start_response("200 OK", [])
    return []


def _environ(method: str, path: str, headers: Iterable[tuple[bytes, bytes]]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "cove",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _headers_of(environ: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """The request's headers as auth_token left them (it leaves unset ones as None)."""
    headers = []
    for key, value in environ.items():
        if not isinstance(value, str):
            continue
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        headers.append((name.lower().replace("_", "-").encode(), value.encode("latin-1")))
    return headers


RefusalBody = Callable[[int, str], dict[str, Any]]


class KeystoneAuth:
    """ASGI middleware: requests outside ``public`` paths pass only with a valid token, their
    identity headers replaced by those auth_token set. ``refusal`` renders the error body
    (Magnum's for /v1, Senlin's for /clustering)."""

    def __init__(
        self,
        app: ASGIApp,
        validator: TokenValidator,
        refusal: RefusalBody,
        public: Callable[[str], bool],
    ) -> None:
        self.app = app
        self.validator = validator
        self.refusal = refusal
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.public(scope["path"]):
            await self.app(scope, receive, send)
            return
        # What the caller is read from comes only from the token: the client's own identity
        # headers go before auth_token sees the request (it drops them too; cove does not
        # rely on its list). Underscores count as dashes, as in a WSGI environ.
        headers = [
            (name, value)
            for name, value in scope.get("headers", [])
            if name.lower().replace(b"_", b"-").decode("latin-1") not in IDENTITY_HEADERS
        ]
        if any(name in TOKEN_HEADERS and not _may_be_token(value) for name, value in headers):
            verdict = Verdict(401, self.validator.refusal_headers)
        else:
            verdict = await anyio.to_thread.run_sync(
                self.validator.validate, scope["method"], scope["path"], headers
            )
        if verdict.accepted:
            await self.app(dict(scope, headers=verdict.headers), receive, send)
            return
        message = {401: UNAUTHORIZED, 503: UNAVAILABLE}.get(verdict.status, "")
        await _reply(send, verdict.status, self.refusal(verdict.status, message), verdict.headers)


async def _reply(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
