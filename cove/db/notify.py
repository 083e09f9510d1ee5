"""NOTIFY and LISTEN between the processes that share cove's database.

A note is sent once its transaction committed, to every listening session, the sender's own
process's included (two apps in one process share no in-process wake-up). On PostgreSQL a
thread of the sending process hands the notes of commits to ``pg_notify`` on a connection of
its own, so a request does not wait for that round trip (nor hold its locks through it).
SQLite has no NOTIFY, so cove gives it the same: each listening thread binds a Unix datagram
socket (in the abstract namespace: no path length limit, nothing left behind) and registers
its name as an empty file in ``<database>.notify/``; a commit sends each of its notes to
every registered listener of its channel. A listener that went away is dropped from the
directory by the first sender that finds it gone.

Notes are wake-ups, not data: a lost one (a process that dies just after its commit, a
database that does not answer) costs a listener a wait until its next scan, never
correctness. A sender never blocks on a listener that does not read.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import itertools
import logging
import os
import queue
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from cove import filemodes

log = logging.getLogger(__name__)

_NOTES = "cove.notify.notes"
_RECONNECT_SECONDS = 1.0
_POLL_SECONDS = 1.0  # how soon a listener sees ``stop``
_EXIT_SECONDS = 2.0  # how long an exiting process waits for its notes to go out
_KEPT_CONNECTIONS = 4  # databases a process sends notes to, each on a connection kept
_names = itertools.count()


Note = tuple[str, str]  # (channel, payload)


def notify(session: Session, channel: str, payload: str = "") -> None:
    """Send ``payload`` on ``channel`` once the session's transaction commits (each note
    once per transaction)."""
    session.info.setdefault(_NOTES, set()).add((channel, payload))


def install(factory: sessionmaker[Session]) -> None:
    """Deliver the notes of ``factory``'s sessions after they commit."""
    event.listen(factory, "after_commit", _deliver)
    event.listen(factory, "after_rollback", _discard)


def _discard(session: Session) -> None:
    # A savepoint's rollback keeps the transaction's notes: a wake-up too many is harmless.
    if not session.in_nested_transaction():
        session.info.pop(_NOTES, None)


class _PostgresOutbox:
    """Notes committed in this process, sent by one thread with ``pg_notify`` on a
    connection of its own per database (a few kept, the least recently used closed): what
    piled up while it sent goes in the next statement."""

    def __init__(self) -> None:
        self._inherited: list[Any] = []
        self._reset()
        # A forked child has not the thread, and must neither use nor close (finalise) its
        # parent's connections: they stay referenced, untouched.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._inherited += getattr(self, "_connections", {}).values()
        self._queue: queue.SimpleQueue[tuple[str, set[Note]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._unsent = 0
        self._thread: threading.Thread | None = None
        self._connections: OrderedDict[str, Any] = OrderedDict()  # url -> psycopg connection

    def post(self, engine: Engine, notes: set[Note]) -> None:
        with self._lock:
            self._unsent += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cove-notes", daemon=True)
                self._thread.start()
                atexit.register(self._exit)
        self._queue.put((_libpq_url(engine), notes))

    def flush(self, timeout: float) -> bool:
        """Wait until every posted note was sent (or failed); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unsent == 0, timeout)

    def _exit(self) -> None:
        self.flush(_EXIT_SECONDS)
        with self._lock:  # the thread is idle now, or stuck on a database gone
            for conn in self._connections.values():
                conn.close()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            by_url: dict[str, set[Note]] = {}
            for url, notes in batch:
                by_url.setdefault(url, set()).update(notes)
            for url, notes in by_url.items():
                self._send(url, sorted(notes))
            with self._idle:
                self._unsent -= len(batch)
                self._idle.notify_all()

    def _send(self, url: str, notes: list[Note]) -> None:
        calls = ", ".join("pg_notify(%s, %s)" for _ in notes)
        params = [value for note in notes for value in note]
        for attempt in (1, 2):  # a kept connection the server closed: once more, anew
            try:
                self._connection(url).execute(f"SELECT {calls}", params)
                return
            except Exception:
                self._drop(url)
                if attempt == 2:
                    log.warning("could not send %d note(s); listeners will find the work at "
                                "their next scan", len(notes), exc_info=True)  # fmt: skip

    def _connection(self, url: str) -> Any:
        import psycopg

        with self._lock:  # the exiting main thread closes what is kept
            conn = self._connections.get(url)
            if conn is not None and not conn.closed:
                self._connections.move_to_end(url)
                return conn
        conn = psycopg.connect(url, autocommit=True)
        with self._lock:
            self._connections[url] = conn
            self._connections.move_to_end(url)  # a closed one's place was the oldest's
            while len(self._connections) > _KEPT_CONNECTIONS:
                _, oldest = self._connections.popitem(last=False)
                oldest.close()
        return conn

    def _drop(self, url: str) -> None:
        with self._lock:
            conn = self._connections.pop(url, None)
        if conn is not None:
            conn.close()


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


_outbox = _PostgresOutbox()


def flush(timeout: float = _EXIT_SECONDS) -> bool:
    """Wait until the notes this process committed were sent (they go in the background)."""
    return _outbox.flush(timeout)


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
        _listen_postgresql(_libpq_url(engine), channel, on_note, stop, on_ready)
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
            if stop.is_set():  # shutting down: the server may be going away with us
                return
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
    # SQLAlchemy calls this as a savepoint is released too: the notes wait for the commit.
    if session.in_nested_transaction():
        return
    notes = session.info.pop(_NOTES, None)
    if not notes:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name == "postgresql":
        _outbox.post(engine, notes)
        return
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
