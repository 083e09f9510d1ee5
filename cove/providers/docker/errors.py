"""Translate Docker SDK errors into cove's provider errors, at the boundary.

Every call into the SDK in this package runs inside :func:`map_docker_errors`, so nothing
outside ``cove.providers.docker`` ever sees ``docker.errors`` (or the ``requests`` errors the SDK
lets through). The most specific rule wins; the original exception is always chained
(``raise ... from exc``) so a traceback still shows what the engine said.

=========================================  ========================  =====================
SDK / transport exception                  cove error                retry?
=========================================  ========================  =====================
``ImageNotFound``                          ``ProviderError``         no (an image is
                                                                     missing, not a node)
``NotFound``                               ``NodeNotFound``          no
``APIError`` 409                           ``ProviderConflict``      no
``APIError`` 5xx                           ``ProviderUnavailable``   yes
``APIError`` other                         ``ProviderError``         no
requests ``ConnectionError``, ``Timeout``,
other ``RequestException``; built-in
``ConnectionError``, ``TimeoutError``;
``docker.utils.socket.SocketError``        ``ProviderUnavailable``   yes
``DockerException`` caused by one of the
transport errors above (the SDK wraps
"Error while fetching server API version")  ``ProviderUnavailable``   yes
any other ``DockerException``,
``StreamParseError``                       ``ProviderError``         no
=========================================  ========================  =====================

Note that the engine answers 500 for some permanent failures too (``OCI runtime create failed``
when a container's options cannot be applied); they are reported as temporary, and the runner's
deadline ends the retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import docker.errors
import requests.exceptions
from docker.utils.socket import SocketError

from cove.providers.base import (
    NodeNotFound,
    ProviderConflict,
    ProviderError,
    ProviderUnavailable,
)

# Exceptions that mean "the engine could not be reached or did not answer in time".
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.RequestException,
    ConnectionError,
    TimeoutError,
    SocketError,
)

# Everything map_docker_errors() catches.
HANDLED_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException,
    docker.errors.StreamParseError,
    *TRANSPORT_ERRORS,
)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return str(exc.explanation)
    return str(exc) or type(exc).__name__


def translate(exc: BaseException) -> ProviderError | None:
    """The cove error for an SDK or transport exception, or ``None`` if it is not one."""
    message = f"Docker engine: {_describe(exc)}"
    if isinstance(exc, docker.errors.ImageNotFound):
        return ProviderError(message)
    if isinstance(exc, docker.errors.NotFound):
        return NodeNotFound(message)
    if isinstance(exc, docker.errors.APIError):
        # APIError is also a requests HTTPError: decide on the status before the transport rule.
        if exc.status_code == 409:
            return ProviderConflict(message)
        if exc.is_server_error():
            return ProviderUnavailable(message)
        return ProviderError(message)
    if isinstance(exc, TRANSPORT_ERRORS):
        return ProviderUnavailable(f"Docker engine unreachable: {_describe(exc)}")
    if isinstance(exc, docker.errors.DockerException):
        if isinstance(exc.__cause__, TRANSPORT_ERRORS):
            return ProviderUnavailable(message)
        return ProviderError(message)
    if isinstance(exc, docker.errors.StreamParseError):
        return ProviderError(f"Docker engine: unreadable stream: {exc.msg}")
    return None


@contextmanager
def map_docker_errors() -> Iterator[None]:
    """Run a block of SDK calls, re-raising their errors as cove's provider errors.

    Raises:
        NodeNotFound: the engine answered 404 for a container, network or volume.
        ProviderConflict: the engine answered 409.
        ProviderUnavailable: the engine was unreachable, timed out or answered 5xx.
        ProviderError: any other refusal (bad request, missing image, SDK misuse).
    """
    try:
        yield
    except HANDLED_ERRORS as exc:
        mapped = translate(exc)
        if mapped is None:  # pragma: no cover - HANDLED_ERRORS and translate() agree
            raise
        raise mapped from exc
