"""Run commands inside a node (``docker exec``), optionally feeding bytes to stdin.

Without stdin the SDK's own exec path is used. With stdin (``docker load`` of an image inside
a node) the exec's hijacked connection is taken as a raw socket: a thread writes stdin and
then half-closes the socket (the command sees end of file) while this thread reads the
multiplexed output, so a command that writes while it reads cannot deadlock. Stdin needs a
unix-socket or plain TCP engine connection (a TLS socket cannot be half-closed and still read).

Reads wait for the command to finish; commands that may hang should bound themselves
(``timeout 60 ...``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

import docker
import docker.errors

from cove.providers.base import ExecResult, NodeNotRunning, ProviderError, ProviderUnavailable
from cove.providers.docker.errors import map_docker_errors

# Once the output stream ends the engine may take a moment to record the exit code.
EXIT_CODE_WAIT = 10.0
_HEADER = 8  # stream type (1), padding (3), big-endian length (4)


def demux(data: bytes) -> bytes:
    """stdout and stderr, in order, from the engine's multiplexed stream (non-TTY exec).
    A truncated last frame contributes what arrived."""
    out = bytearray()
    i = 0
    while i + _HEADER <= len(data):
        size = int.from_bytes(data[i + 4 : i + _HEADER], "big")
        out += data[i + _HEADER : i + _HEADER + size]
        i += _HEADER + size
    return bytes(out)


def run(
    client: docker.DockerClient, name: str, argv: Sequence[str], stdin: bytes | None = None
) -> ExecResult:
    """Run ``argv`` in the node; its exit code and its stdout and stderr (merged, UTF-8).

    Raises:
        NodeNotFound: no container has that name.
        NodeNotRunning: the container is not running (stopped, paused or restarting).
        ProviderUnavailable: the engine could not be reached, or the exit code never came.
        ProviderError: the engine refused, or stdin was given over a TLS or SSH connection.
    """
    api = client.api
    with map_docker_errors():
        exec_id = _create(api, name, argv, stdin is not None)
        if stdin is None:
            output: bytes = api.exec_start(exec_id)
        else:
            output = _start_with_stdin(api, exec_id, stdin)
        exit_code = _exit_code(api, exec_id)
    return ExecResult(exit_code=exit_code, output=output.decode("utf-8", errors="replace"))


def _create(api: Any, name: str, argv: Sequence[str], with_stdin: bool) -> str:
    """The exec's id. The engine answers 409 when the container is not running."""
    try:
        return str(api.exec_create(name, list(argv), stdin=with_stdin)["Id"])
    except docker.errors.APIError as exc:
        if exc.status_code != 409:
            raise
        raise NodeNotRunning(f"Docker engine: {exc.explanation or exc}") from exc


def _start_with_stdin(api: Any, exec_id: str, stdin: bytes) -> bytes:
    if not api.base_url.startswith(("http+docker://localhost", "http://")):
        raise ProviderError(
            f"exec with stdin needs a unix or plain TCP engine connection, not {api.base_url}"
        )
    stream = api.exec_start(exec_id, socket=True)
    raw: socket.socket = getattr(stream, "_sock", stream)
    raw.settimeout(None)

    def feed() -> None:
        try:
            raw.sendall(stdin)
        except OSError:
            pass  # the command stopped reading; its exit code says whether that was wrong
        finally:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_WR)

    writer = threading.Thread(target=feed, name=f"exec-stdin-{exec_id[:12]}", daemon=True)
    writer.start()
    data = bytearray()
    try:
        while chunk := raw.recv(1 << 16):
            data += chunk
        # The output ended. A command that exited without reading all of its stdin leaves the
        # writer blocked until the engine drops the connection (about 6 s, measured): once the
        # exec is no longer running, stop feeding it.
        while writer.is_alive():
            writer.join(0.05)
            if writer.is_alive() and not api.exec_inspect(exec_id).get("Running"):
                with contextlib.suppress(OSError):
                    raw.shutdown(socket.SHUT_RDWR)
    finally:
        writer.join()
        # The HTTP response wraps the socket: close it first, then the socket itself.
        response = getattr(stream, "_response", None)
        if response is not None:
            response.close()
        stream.close()
        raw.close()
    return demux(bytes(data))


def _exit_code(api: Any, exec_id: str) -> int:
    deadline = time.monotonic() + EXIT_CODE_WAIT
    while True:
        info = api.exec_inspect(exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        if time.monotonic() > deadline:
            raise ProviderUnavailable(f"exec {exec_id[:12]} did not report an exit code")
        time.sleep(0.05)
