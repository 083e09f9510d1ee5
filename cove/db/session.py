"""Engines and sessions. SQLite runs in WAL mode with foreign keys on; PostgreSQL through
psycopg 3. Service functions own the transaction: ``with transaction(factory) as s: ...``.

A SQLite database file is its owner's only (0600, and so its -wal and -shm files, which
SQLite makes with the database's mode), in a directory made 0700. A session factory carries
the process's keystore: every cluster CA's private key is sealed with it on its way in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cove import filemodes
from cove.db import models, notify
from cove.pki import keystore


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite_files(Path(parsed.database))
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
        # BEGIN IMMEDIATE can serialise writers (see ``write_lock``).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _private_sqlite_files(database: Path) -> None:
    if not database.parent.exists():
        filemodes.private_dir(database.parent)
    filemodes.private_file(database)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = database.with_name(database.name + suffix)
        if companion.exists():
            filemodes.private_file(companion)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A writing transaction takes the write lock at BEGIN (IMMEDIATE), so read-then-write
    # sequences (quota checks, lease claims) cannot interleave, and writers queue on
    # busy_timeout instead of failing at commit. Readers stay deferred and never block.
    if conn.get_execution_options().get("cove_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_session_factory(
    engine: Engine, keys: keystore.Keystore | None = None
) -> sessionmaker[Session]:
    """``keys`` seal private keys written through the factory's sessions and open them for
    readers (``keystore.of(session)``). Without it, writing a private key is refused."""
    info = {keystore.SESSION_INFO: keys} if keys is not None else {}
    factory = sessionmaker(engine, expire_on_commit=False, info=info)
    event.listen(factory, "before_flush", _seal_private_keys)
    notify.install(factory)
    return factory


def _seal_private_keys(session: Session, _context: Any, _instances: Any) -> None:
    """No private key reaches the database in the clear, whichever service wrote it."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, models.ClusterCA) and keystore.sealed_with(obj.key_pem) is None:
            obj.key_pem = keystore.of(session).seal(obj.key_pem)


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commits at the end, rolls back on an exception."""
    with factory() as session, session.begin():
        session.connection(execution_options={"cove_write": write})
        yield session


@contextmanager
def writing(session: Session) -> Iterator[Session]:
    """Begin a writing transaction on a request's session (BEGIN IMMEDIATE on SQLite)."""
    with session.begin():
        session.connection(execution_options={"cove_write": True})
        yield session
