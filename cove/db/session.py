"""Engines and sessions. SQLite runs in WAL mode with foreign keys on; PostgreSQL through
psycopg 3. Service functions own the transaction: ``with transaction(factory) as s: ...``.

On PostgreSQL a session's reads run in autocommit: under READ COMMITTED each statement
sees its own snapshot inside a transaction too, so BEGIN and ROLLBACK were two round trips
that bought nothing. ``transaction`` and ``writing`` open real transactions.

A SQLite database file is its owner's only (0600, and so its -wal and -shm files, which
SQLite makes with the database's mode), in a directory made 0700. A session factory carries
the process's keystore: every cluster CA's private key is sealed with it on its way in."""

from __future__ import annotations

import functools
import select
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cove import filemodes
from cove.db import models, notify
from cove.pki import keystore


def make_engine(url: str) -> Engine:
    """An engine whose errors and logs never show a statement's parameters: some carry
    secrets (a receiver's webhook URL), and an error's text reaches the log."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite_files(Path(parsed.database))
        # No ping on checkout: a file's connection does not go stale.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
        # BEGIN IMMEDIATE can serialise writers (see ``write_lock``).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, hide_parameters=True)
    event.listen(engine, "checkout", _drop_closed_connection)
    return engine


def _drop_closed_connection(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server closed (a restart, ``pg_terminate_backend``, an idle
    timeout) has its FATAL notice or EOF waiting on the socket: look without a round trip,
    which ``pool_pre_ping`` would pay on every checkout. An idle connection that is alive has
    nothing to read. Raising makes the pool retry with a new connection."""
    try:
        fd = dbapi_conn.pgconn.socket
    except Exception as error:  # psycopg: "the connection is lost"
        raise exc.DisconnectionError(str(error)) from error
    readable, _, _ = select.select([fd], [], [], 0)
    if readable:
        raise exc.DisconnectionError("the server closed the connection")


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
    bind = engine
    if engine.dialect.name == "postgresql":
        bind = engine.execution_options(isolation_level="AUTOCOMMIT")
    factory = sessionmaker(bind, expire_on_commit=False, info=info)
    event.listen(factory, "before_flush", _refuse_autocommit_flush)
    event.listen(factory, "before_flush", _seal_private_keys)
    notify.install(factory)
    return factory


def _transactional(session: Session, write: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"cove_write": write}
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        level = getattr(bind.dialect, "default_isolation_level", None)
        if level is None and isinstance(bind, Engine):
            with bind.connect():  # the first connection learns the server's default
                level = bind.dialect.default_isolation_level
        options["isolation_level"] = level
    return options


def _autocommit(session: Session) -> bool:
    options = session.connection().get_execution_options()
    return bool(options.get("isolation_level") == "AUTOCOMMIT")


def _refuse_autocommit_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Writes outside ``transaction``/``writing`` would commit statement by statement."""
    if _autocommit(session):
        raise RuntimeError("a write outside a transaction: use transaction() or writing()")


def _seal_private_keys(session: Session, _context: Any, _instances: Any) -> None:
    """No private key reaches the database in the clear, whichever service wrote it."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, models.ClusterCA) and keystore.sealed_with(obj.key_pem) is None:
            obj.key_pem = keystore.of(session).seal(obj.key_pem)


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commits at the end, rolls back on an exception."""
    with factory() as session, session.begin():
        session.connection(execution_options=_transactional(session, write))
        yield session


@contextmanager
def writing(session: Session) -> Iterator[Session]:
    """Begin a writing transaction on a request's session (BEGIN IMMEDIATE on SQLite)."""
    with session.begin():
        session.connection(execution_options=_transactional(session, True))
        yield session


@functools.cache
def _has_pipeline() -> bool:
    """Pipeline mode needs libpq 14 or later: psycopg[binary] brings one, a system's may not."""
    import psycopg

    return psycopg.capabilities.has_pipeline()


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """On PostgreSQL, the block's statements go out together and their answers come back in
    one round trip at its end (psycopg's pipeline mode), where each would wait for its own.
    So the block may only run statements whose results it does not read: INSERTs made
    ``.inline()`` (no implicit ``RETURNING``), UPDATEs and DELETEs. A statement the
    database refuses raises at the block's end, and aborts the transaction as it would have
    at once. On SQLite, a statement is a call into this process: nothing to gather; another
    PostgreSQL driver, or a libpq older than 14, sends them one by one."""
    connection = session.connection()
    if connection.dialect.driver != "psycopg" or not _has_pipeline():
        yield
        return
    driver: Any = connection.connection.driver_connection  # psycopg's Connection
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        with driver.pipeline():
            yield
    except dbapi_error as error:  # raised at the sync, outside SQLAlchemy: wrap it as it would
        raise exc.DBAPIError.instance(None, None, error, dbapi_error) from error


# sqlite3's extended codes for a taken UNIQUE or PRIMARY KEY (psycopg gives SQLSTATE 23505).
_SQLITE_TAKEN = (2067, 1555)


@contextmanager
def duplicate_raises(conflict: Exception) -> Iterator[None]:
    """A row the block writes that a unique constraint refuses raises ``conflict`` instead:
    the database decides, so of racing writers one wins and the others get the conflict, where
    a look before the insert lets them all through to the constraint's 500. Other refusals (a
    foreign key, a null) pass as they are."""
    try:
        yield
    except exc.IntegrityError as error:
        refusal = error.orig
        taken = getattr(refusal, "sqlstate", None) == "23505" or (
            getattr(refusal, "sqlite_errorcode", None) in _SQLITE_TAKEN
        )
        if not taken:
            raise
        raise conflict from None
