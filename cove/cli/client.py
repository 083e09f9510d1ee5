"""The CLI's HTTP client for a running cove, and the errors it turns into exit codes.

Every failure the user should see is a ``CliError``: click prints it as one ``error:`` line
on stderr and exits with its code. This module must not import the server's packages: the
CLI talks to cove only over HTTP.

Exit codes::

    0    success
    1    ApiError (the API refused) or OperationFailed (the operation ended *_FAILED)
    2    usage error (click)
    3    Unreachable (no cove answers at the URL)
    130  waiting.Interrupted (Ctrl-C while waiting; the operation goes on)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

import click
import httpx

DEFAULT_URL = "http://127.0.0.1:9511"
API_VERSION = "container-infra latest"
WARNING_HEADER = "Cove-Warning"
TIMEOUT = 30.0
TOKEN_ENVVAR = "OS_TOKEN"

F = TypeVar("F", bound=Callable[..., Any])


def token_option(func: F) -> F:
    """The root's ``--os-token``: click reads it from OS_TOKEN, as OpenStack's clients do."""
    return click.option(
        "--os-token",
        "token",
        envvar=TOKEN_ENVVAR,
        default=None,
        help=f"token sent as X-Auth-Token (env {TOKEN_ENVVAR})",
    )(func)


class CliError(click.ClickException):
    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class ApiError(CliError):
    """The API answered with an error status; ``message`` is its detail (or title)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class OperationFailed(CliError):
    """A cluster operation ended in a *_FAILED status."""


class Unreachable(CliError):
    exit_code = 3


def base_url(url: str) -> str:
    """The service root, whether the user wrote it with ``/v1`` or not."""
    url = url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    if "://" not in url:
        url = f"http://{url}"
    return url


def error_message(response: httpx.Response) -> str:
    """The one line to show for an error response: Magnum's ``errors[0].detail`` or title,
    or Senlin's ``error.message`` (the clustering API's fault body)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        fault = body.get("error")
        if isinstance(fault, dict) and fault.get("message"):
            return str(fault["message"]).strip()
        entries = body.get("errors")
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            text = entries[0].get("detail") or entries[0].get("title")
            if text:
                return str(text).strip()
        if body.get("detail"):
            return str(body["detail"])
    return f"HTTP {response.status_code} {response.reason_phrase} for {response.request.url.path}"


class CoveClient:
    """Synchronous calls to ``<url>/v1`` (or another of cove's APIs: ``prefix`` and the
    microversion it is asked for). Paths are relative to the prefix."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = TIMEOUT,
        *,
        prefix: str = "/v1",
        api_version: str = API_VERSION,
    ) -> None:
        self.url = base_url(url)
        headers = {"OpenStack-API-Version": api_version, "Accept": "application/json"}
        if token:
            headers["X-Auth-Token"] = token
        self._http = httpx.Client(base_url=f"{self.url}{prefix}", headers=headers, timeout=timeout)

    @classmethod
    def from_env(cls, url: str | None, timeout: float = TIMEOUT) -> CoveClient:
        """Outside a cove command (scripts, tests): the token as ``--os-token`` would have it
        with no flag given, click resolving its environment variable."""
        options = token_option(click.Command("cove"))
        token = options.make_context("cove", [], resilient_parsing=True).params.get("token")
        return cls(url or DEFAULT_URL, token or None, timeout)

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request; raise Unreachable or ApiError, print any ``Cove-Warning``."""
        kwargs: dict[str, Any] = {"json": json, "params": params}
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            response = self._http.request(method, path.lstrip("/"), **kwargs)
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise Unreachable(
                f"cannot reach cove at {self.url} ({reason}). Is it running? "
                "Start it with `cove serve` (or `cove up`), or point --url / COVE_URL at it."
            ) from None
        if warning := response.headers.get(WARNING_HEADER):
            click.echo(f"warning: {warning}", err=True)
        if response.status_code >= 400:
            raise ApiError(error_message(response), response.status_code)
        return response

    def get(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=query or None).json()

    def post(self, path: str, body: Any) -> Any:
        response = self.request("POST", path, json=body)
        return response.json() if response.content else None

    def patch(self, path: str, body: Any) -> Any:
        response = self.request("PATCH", path, json=body)
        return response.json() if response.content else None

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def collect(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a collection, following Magnum's ``next`` links."""
        return list(self._pages(path, key, params))

    def _pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        body = self.get(path, **params)
        while True:
            yield from body.get(key, [])
            following = body.get("next")
            if not following:
                return
            body = self.request("GET", following).json()

    def events(
        self, cluster: str, since: int = 0, *, wait: float = 0, limit: int | None = None
    ) -> dict[str, Any]:
        """One (long-poll) read of a cluster's event log: events above ``since`` at once, or
        held by the server until one arrives or ``wait`` seconds pass."""
        return self.long_poll(f"clusters/{cluster}/events", since, wait=wait, limit=limit)

    def deployment_events(
        self, cluster: str, deployment: str, since: int = 0, *, wait: float = 0
    ) -> dict[str, Any]:
        """One (long-poll) read of a deployment's event log, with its status and progress."""
        return self.long_poll(
            f"clusters/{cluster}/deployments/{deployment}/events", since, wait=wait
        )

    def long_poll(
        self, path: str, since: int, *, wait: float = 0, limit: int | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"since": since}
        if wait:
            params["wait"] = wait
        if limit:
            params["limit"] = limit
        response = self.request("GET", path, params=params, timeout=wait + TIMEOUT)
        body: dict[str, Any] = response.json()
        return body
