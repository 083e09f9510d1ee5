"""``cove api --workers N``: N API processes on one listening socket, so requests use every
core (one process holds one GIL). The parent binds the socket and migrates the database
once, then forks the workers and supervises them: a worker that dies is replaced, SIGTERM or
SIGINT stops them all. Each worker builds its own app (its own database pool, events hub and
listener): nothing with a connection or a thread crosses the fork. Long polls and conductors
in any process are woken by the notes of ``cove.db.notify``, so it does not matter which
worker takes a request.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

RESPAWN_PAUSE = 1.0  # a worker that keeps dying at start must not spin the supervisor


def supervise(sock: socket.socket, workers: int, run: Callable[[socket.socket], None]) -> None:
    """Fork ``workers`` processes that each call ``run(sock)``; return once all have stopped
    after SIGTERM or SIGINT."""
    stopping = False
    children: set[int] = set()

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            _signal(pid, signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(workers):
            children.add(_fork(sock, run, previous))
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            children.discard(pid)
            if not stopping:
                log.warning("API worker %d exited (%s); starting another", pid, _describe(status))
                time.sleep(RESPAWN_PAUSE)
                if not stopping:
                    children.add(_fork(sock, run, previous))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _fork(
    sock: socket.socket, run: Callable[[socket.socket], None], handlers: dict[Any, Any]
) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        for signum, handler in handlers.items():  # the worker's server installs its own
            signal.signal(signum, handler)
        run(sock)
    except BaseException:
        log.exception("API worker failed")
        code = 1
    finally:
        os._exit(code)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just exited
        os.kill(pid, signum)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
