"""NOTIFY and LISTEN between the processes that share cove's database.

PostgreSQL has both: a note sent in a transaction is delivered to every listening session
when it commits. SQLite has neither, so cove gives it the same: each listening thread binds a
Unix datagram socket (in the abstract namespace: no path length limit, nothing left behind)
and registers its name as an empty file in ``<database>.notify/``; a commit that carries notes
sends each one to every registered listener of its channel. A listener that went away is
dropped from the directory by the first sender that finds it gone. Either way a note arrives
only once its transaction committed, at every listener, the sender's own process's included
(two apps in one process share no in-process wake-up).

Notes are wake-ups, not data: a lost one costs a listener a wait until its next scan, never
correctness. A sender never blocks on a listener that does not read.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import itertools
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from cove import filemodes

log = logging.getLogger(__name__)

_NOTES = "cove.notify.notes"
_RECONNECT_SECONDS = 1.0
_POLL_SECONDS = 1.0  # how soon a listener sees ``stop``
_names = itertools.count()


def notify(session: Session, channel: str, payload: str = "") -> None:
    """Send ``payload`` on ``channel`` when the session's transaction commits (each note
    once; on PostgreSQL all of a transaction's notes in one statement just before COMMIT)."""
    session.info.setdefault(_NOTES, set()).add((channel, payload))


def install(factory: sessionmaker[Session]) -> None:
    """Deliver the notes of ``factory``'s sessions at commit."""
    event.listen(factory, "before_commit", _send_postgresql)
    event.listen(factory, "after_commit", _deliver)
    event.listen(factory, "after_rollback", lambda session: session.info.pop(_NOTES, None))


def _send_postgresql(session: Session) -> None:
    # Also called as a savepoint is released: the notes wait for the outermost commit.
    if session.in_nested_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    notes = sorted(session.info.pop(_NOTES, ()))
    if not notes:
        return
    calls = ", ".join(f"pg_notify(:channel_{n}, :payload_{n})" for n in range(len(notes)))
    params: dict[str, str] = {}
    for n, (channel, payload) in enumerate(notes):
        params[f"channel_{n}"], params[f"payload_{n}"] = channel, payload
    session.execute(text(f"SELECT {calls}"), params)


def listen(
    engine: Engine,
    channel: str,
    on_note: Callable[[str], None],
    stop: threading.Event,
    on_ready: Callable[[], None] = lambda: None,
) -> None:
    """A thread's body: call ``on_note(payload)`` for each note on ``channel`` until ``stop``.
    ``on_ready`` runs each time listening (re)starts: what was sent before is not delivered,
    so a listener catches up there."""
    if engine.dialect.name == "postgresql":
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        _listen_postgresql(url, channel, on_note, stop, on_ready)
        return
    directory = _directory(engine.url.database)
    if directory is None:  # an in-memory database has one process
        on_ready()
        stop.wait()
        return
    _listen_sqlite(directory, channel, on_note, stop, on_ready)


def _listen_postgresql(
    url: str,
    channel: str,
    on_note: Callable[[str], None],
    stop: threading.Event,
    on_ready: Callable[[], None],
) -> None:
    import psycopg

    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"LISTEN {channel}")
                on_ready()
                while not stop.is_set():
                    for note in conn.notifies(timeout=_POLL_SECONDS):
                        on_note(note.payload)
        except Exception:
            log.warning("lost the LISTEN connection for %s; reconnecting", channel, exc_info=True)
            stop.wait(_RECONNECT_SECONDS)


def _listen_sqlite(
    directory: Path,
    channel: str,
    on_note: Callable[[str], None],
    stop: threading.Event,
    on_ready: Callable[[], None],
) -> None:
    filemodes.private_dir(directory)
    name = f"{channel}.{os.getpid()}.{next(_names)}"
    registration = directory / name
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(_address(directory, name))
        sock.settimeout(_POLL_SECONDS)
        filemodes.private_file(registration)
        try:
            on_ready()
            while not stop.is_set():
                try:
                    data = sock.recv(4096)
                except TimeoutError:
                    continue
                on_note(data.decode("utf-8", "replace"))
        finally:
            registration.unlink(missing_ok=True)


def _deliver(session: Session) -> None:
    notes = session.info.pop(_NOTES, None)
    if not notes:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    directory = _directory(engine.url.database)
    if directory is None:
        return
    try:
        listeners = [entry.name for entry in os.scandir(directory)]
    except FileNotFoundError:  # nobody has listened yet
        return
    sock = _sender()
    for name in listeners:
        channel = name.partition(".")[0]
        for payload in (p for c, p in notes if c == channel):
            try:
                sock.sendto(payload.encode(), _address(directory, name))
            except ConnectionRefusedError:  # its process is gone
                (directory / name).unlink(missing_ok=True)
                break
            except BlockingIOError:  # it is behind on reading: it will catch up anyway
                break


@functools.cache
def _sender() -> socket.socket:
    """One unbound socket sends every note of the process (``sendto`` is thread-safe)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setblocking(False)
    atexit.register(sock.close)
    return sock


@functools.cache  # a commit's path: no system call to find where the listeners are
def _directory(database: str | None) -> Path | None:
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    path = Path(database).resolve()
    return path.with_name(path.name + ".notify")


@functools.lru_cache(maxsize=256)
def _address(directory: Path, name: str) -> bytes:
    """An abstract socket name for a registration: unique per database file and listener."""
    scope = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
    return f"\0cove-notify/{scope}/{name}".encode()
