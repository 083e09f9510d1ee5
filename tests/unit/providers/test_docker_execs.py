"""execs: the engine's multiplexed exec stream (non-TTY) back into bytes; refusals of
exec_create as cove's errors."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import docker.errors
import pytest

from cove.providers.base import NodeNotFound, NodeNotRunning, ProviderConflict
from cove.providers.docker.execs import demux, run


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_stdout_and_stderr_are_merged_in_order() -> None:
    data = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"more\n")
    assert demux(data) == b"out\nerr\nmore\n"


def test_empty_frames_and_stream() -> None:
    assert demux(b"") == b""
    assert demux(frame(1, b"") + frame(1, b"x")) == b"x"


def test_truncated_last_frame_gives_what_arrived() -> None:
    data = frame(1, b"whole") + frame(1, b"partial")[:-3]
    assert demux(data) == b"wholepart"
    assert demux(frame(1, b"abc")[:5]) == b""  # not even a full header


class _Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.reason = "test"
        self.url = "http+docker://localhost/exec"


class _RefusingApi:
    """An SDK low-level client whose exec_create answers with one status code."""

    def __init__(self, status_code: int, explanation: str) -> None:
        # As the SDK does: 404 is NotFound, the rest APIError.
        kind = docker.errors.NotFound if status_code == 404 else docker.errors.APIError
        self.error = kind("exec_create", response=_Response(status_code), explanation=explanation)

    def exec_create(self, *args: object, **kwargs: object) -> dict[str, str]:
        raise self.error


def test_exec_in_a_stopped_container_is_node_not_running() -> None:
    api = _RefusingApi(409, "container abc is not running")
    client = SimpleNamespace(api=api)

    with pytest.raises(NodeNotRunning, match="is not running") as raised:
        run(client, "abc", ["true"])  # type: ignore[arg-type]

    assert raised.value.__cause__ is api.error
    assert not isinstance(raised.value, ProviderConflict)


def test_exec_in_a_missing_container_is_node_not_found() -> None:
    client = SimpleNamespace(api=_RefusingApi(404, "No such container: abc"))

    with pytest.raises(NodeNotFound):
        run(client, "abc", ["true"])  # type: ignore[arg-type]
