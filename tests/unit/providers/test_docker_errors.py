"""map_docker_errors(): every Docker SDK exception becomes one of cove's provider errors, the
most specific one, chained to the original (as HTTPX's test does for httpcore)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import docker.errors
import pytest
import requests

from cove.providers.base import (
    NodeNotFound,
    ProviderConflict,
    ProviderError,
    ProviderUnavailable,
)
from cove.providers.docker import map_docker_errors


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.url = "http+docker://localhost/v1.41/containers/x/json"
    response.reason = "reason"
    return response


def _api(cls: type[docker.errors.APIError], status: int) -> docker.errors.APIError:
    return cls("engine said no", response=_response(status), explanation="engine said no")


# One instance of every exception class in docker.errors, and the cove class it must become.
EXAMPLES: dict[type[BaseException], tuple[Callable[[], BaseException], type[ProviderError]]] = {
    docker.errors.DockerException: (lambda: docker.errors.DockerException("x"), ProviderError),
    docker.errors.APIError: (lambda: _api(docker.errors.APIError, 400), ProviderError),
    docker.errors.NotFound: (lambda: _api(docker.errors.NotFound, 404), NodeNotFound),
    docker.errors.ImageNotFound: (lambda: _api(docker.errors.ImageNotFound, 404), ProviderError),
    docker.errors.InvalidVersion: (lambda: docker.errors.InvalidVersion("x"), ProviderError),
    docker.errors.InvalidRepository: (lambda: docker.errors.InvalidRepository("x"), ProviderError),
    docker.errors.InvalidConfigFile: (lambda: docker.errors.InvalidConfigFile("x"), ProviderError),
    docker.errors.InvalidArgument: (lambda: docker.errors.InvalidArgument("x"), ProviderError),
    docker.errors.DeprecatedMethod: (lambda: docker.errors.DeprecatedMethod("x"), ProviderError),
    docker.errors.TLSParameterError: (lambda: docker.errors.TLSParameterError("x"), ProviderError),
    docker.errors.NullResource: (lambda: docker.errors.NullResource("x"), ProviderError),
    docker.errors.ContainerError: (
        lambda: docker.errors.ContainerError("c", 1, "true", "img", b"err"),
        ProviderError,
    ),
    docker.errors.StreamParseError: (lambda: docker.errors.StreamParseError("x"), ProviderError),
    docker.errors.BuildError: (lambda: docker.errors.BuildError("x", []), ProviderError),
    docker.errors.ImageLoadError: (lambda: docker.errors.ImageLoadError("x"), ProviderError),
    docker.errors.MissingContextParameter: (
        lambda: docker.errors.MissingContextParameter("host"),
        ProviderError,
    ),
    docker.errors.ContextAlreadyExists: (
        lambda: docker.errors.ContextAlreadyExists("c"),
        ProviderError,
    ),
    docker.errors.ContextException: (lambda: docker.errors.ContextException("x"), ProviderError),
    docker.errors.ContextNotFound: (lambda: docker.errors.ContextNotFound("c"), ProviderError),
}


def _exception_classes() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(docker.errors, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == docker.errors.__name__
    ]


def test_every_docker_exception_has_an_example() -> None:
    # A new exception class in a docker release fails here until it is mapped and listed.
    assert set(_exception_classes()) == set(EXAMPLES)


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda cls: cls.__name__)
def test_every_docker_exception_is_mapped_and_chained(cls: type[BaseException]) -> None:
    make, expected = EXAMPLES[cls]
    original = make()
    with pytest.raises(ProviderError) as caught, map_docker_errors():
        raise original
    assert type(caught.value) is expected
    assert caught.value.__cause__ is original


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, ProviderError),
        (403, ProviderError),
        (409, ProviderConflict),
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
    ],
)
def test_api_errors_are_mapped_by_status(status: int, expected: type[ProviderError]) -> None:
    with pytest.raises(ProviderError) as caught, map_docker_errors():
        raise _api(docker.errors.APIError, status)
    assert type(caught.value) is expected
    assert "engine said no" in str(caught.value)


@pytest.mark.parametrize(
    "original",
    [
        requests.exceptions.ConnectionError("refused"),
        requests.exceptions.ReadTimeout("slow"),
        requests.exceptions.ChunkedEncodingError("cut"),
        ConnectionResetError("reset"),
        TimeoutError("slow"),
        docker.utils.socket.SocketError("Unexpected EOF"),
    ],
    ids=type,
)
def test_transport_errors_are_temporary(original: BaseException) -> None:
    with pytest.raises(ProviderUnavailable) as caught, map_docker_errors():
        raise original
    assert caught.value.__cause__ is original


def test_sdk_error_caused_by_an_unreachable_engine_is_temporary() -> None:
    # What docker.from_env() raises when no engine answers the version negotiation.
    def negotiate() -> None:
        try:
            raise requests.exceptions.ConnectionError("no such file")
        except requests.exceptions.ConnectionError as exc:
            raise docker.errors.DockerException("Error while fetching server API version") from exc

    with pytest.raises(ProviderUnavailable), map_docker_errors():
        negotiate()


def test_cove_errors_and_others_pass_through() -> None:
    with pytest.raises(ProviderConflict), map_docker_errors():
        raise ProviderConflict("ours")
    with pytest.raises(KeyError), map_docker_errors():
        raise KeyError("not docker's")
