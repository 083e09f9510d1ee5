"""How cove talks to its database: reads leave no transaction open on PostgreSQL, writes
happen only in transactions, a pipelined block waits once and fails as its statement would,
only a taken unique key becomes a conflict, errors show no statement's values, a connection
the server closed is replaced without a failed request, and notes (wake-ups) leave only once
the whole transaction committed."""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import pytest
from fastapi import Depends
from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.exc import IntegrityError

from cove import errors
from cove.api import routing
from cove.api.deps import SessionDep, get_session
from cove.db import migrate, models, notify
from cove.db.session import (
    duplicate_raises,
    make_engine,
    make_session_factory,
    pipelined,
    transaction,
    writing,
)
from cove.services import eventhub
from cove.services.eventhub import EventHub
from tests.conftest import Api, template_body

# SQLite's reads keep their snapshot in a (local) transaction, and a file's connections are
# not closed by a server: these tests are PostgreSQL's only.
POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _server_side_transactions(api: Api, method: str, path: str, **kw: Any) -> list[str]:
    """The server's transaction status after each statement of one request."""
    engine = api.client.app.state.engine
    after: list[str] = []

    def record(conn: Any, *_: Any) -> None:
        status = conn.connection.dbapi_connection.info.transaction_status
        after.append(status.name)

    event.listen(engine, "after_cursor_execute", record)
    try:
        response = api.request(method, path, **kw)
    finally:
        event.remove(engine, "after_cursor_execute", record)
    assert response.status_code < 300, response.text
    return after


@POSTGRESQL
def test_postgresql_reads_run_without_a_transaction(api: Api) -> None:
    """A read request on PostgreSQL sends its statements in autocommit: no BEGIN and no
    ROLLBACK round trips (under READ COMMITTED they bought nothing); a write still runs in
    one transaction."""
    after = _server_side_transactions(api, "GET", "/v1/flavors")
    assert after and set(after) == {"IDLE"}
    after = _server_side_transactions(api, "POST", "/v1/keypairs", json={"name": "k"})
    assert after and set(after) == {"INTRANS"}


@pytest.mark.usefixtures("catalog")
def test_a_request_takes_one_turn_in_the_thread_pool(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A synchronous route runs, renders its answer and closes its session in one turn in the
    thread pool (cove's own, not anyio's): a read on SQLite, whose transaction stays open
    until the session closes, takes no second turn to close it, and no request, answered or
    refused, leaves a connection checked out."""
    turns: list[object] = []
    run_sync = anyio.to_thread.run_sync
    threads = routing._threads

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        turns.append(func)
        return await run_sync(func, *args, **kwargs)

    class Counted(ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            turns.append(fn)
            return threads.submit(fn, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    monkeypatch.setattr(routing, "_threads", Counted(1))
    pool = api.client.app.state.engine.pool
    template = api.post("/v1/clustertemplates", json=template_body()).json()["uuid"]
    for method, path, status in (
        ("GET", "/v1/clustertemplates", 200),
        ("GET", f"/v1/clustertemplates/{template}", 200),
        ("GET", "/v1/flavors", 200),
        ("GET", "/v1/clustertemplates/no-such-template", 404),  # the route raised
        ("POST", "/v1/keypairs", 201),
        ("POST", "/v1/keypairs", 400),  # refused before the route ran: no body
    ):
        turns.clear()
        body = {"name": "k", "public_key": None} if status == 201 else None
        assert api.request(method, path, json=body).status_code == status, path
        assert len(turns) == (0 if status == 400 else 1), path
        assert pool.checkedout() == 0, path


def test_only_a_synchronous_routes_own_parameter_may_take_the_session() -> None:
    """The route closes the session it is given, so a route that could not close it is
    refused when it is declared: an ``async`` route, a dependency of a dependency, and an
    entry of ``dependencies=``."""

    async def read_async(session: SessionDep) -> dict[str, Any]:
        return {}

    async def nested(session: SessionDep) -> int:
        return 1

    def read_nested(value: int = Depends(nested)) -> dict[str, Any]:
        return {}

    def read_unnamed() -> dict[str, Any]:
        return {}

    def read(session: SessionDep) -> dict[str, Any]:
        return {}

    router = routing.Router()
    router.get("/ok")(read)
    with pytest.raises(TypeError, match="/async: get_session"):
        router.get("/async")(read_async)
    with pytest.raises(TypeError, match="/nested: get_session"):
        router.get("/nested")(read_nested)
    with pytest.raises(TypeError, match="/unnamed: get_session"):
        router.get("/unnamed", dependencies=[Depends(get_session)])(read_unnamed)


@POSTGRESQL
def test_a_write_outside_a_transaction_is_refused(db_url: str) -> None:
    """On PostgreSQL a session's statements commit one by one outside ``transaction()``;
    a flush there would not be atomic, so it is refused rather than half-done."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            session.add(models.Service(host="h", binary="magnum-conductor"))
            with pytest.raises(RuntimeError, match="outside a transaction"):
                session.flush()
        with transaction(factory) as session:
            assert session.query(models.Service).count() == 0
            session.add(models.Service(host="h", binary="magnum-conductor"))
        with factory() as session:
            assert session.query(models.Service).count() == 1
    finally:
        engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """cove's engine on the test database, migrated."""
    made = make_engine(db_url)
    migrate.upgrade(made)
    yield made
    made.dispose()


def test_a_pipelined_block_waits_for_no_answer_and_fails_as_its_statement_would(
    engine: Engine,
) -> None:
    """On PostgreSQL a ``pipelined`` block's statements go out without waiting for their
    answers (the connection is in pipeline mode); on both backends, a statement the database
    refuses raises SQLAlchemy's IntegrityError by the block's end, and the transaction leaves
    nothing. A block that succeeds commits all of its rows."""
    factory = make_session_factory(engine)
    services = insert(models.table_of(models.Service)).inline()
    with factory() as session, writing(session):
        with pipelined(session):
            session.execute(services, {"host": "a", "binary": "b"})
            driver = session.connection().connection.driver_connection
            if engine.dialect.name == "postgresql":
                assert driver.pgconn.pipeline_status != 0
        session.execute(services, {"host": "c", "binary": "b"})  # no pipeline after it
    refused = pytest.raises(IntegrityError, match=r"uq_service_host_binary|UNIQUE")
    with refused, factory() as session, writing(session), pipelined(session):
        session.execute(services, {"host": "d", "binary": "b"})
        session.execute(services, {"host": "a", "binary": "b"})
    with factory() as session:
        hosts = session.scalars(select(models.Service.host).order_by(models.Service.host))
        assert list(hosts) == ["a", "c"]


def test_only_a_taken_unique_key_becomes_the_conflict(engine: Engine) -> None:
    """``duplicate_raises`` turns a unique constraint's refusal into the given conflict, and
    lets a foreign key's pass as it is (it would be a bug, not a 409)."""
    services = insert(models.table_of(models.Service))
    orphan = {"cluster_id": 999_999, "cert_pem": "c", "key_pem": "k"}
    with engine.begin() as conn:
        conn.execute(services, {"host": "a", "binary": "b"})
    taken = errors.Conflict("taken")
    with pytest.raises(errors.Conflict), engine.begin() as conn, duplicate_raises(taken):
        conn.execute(services, {"host": "a", "binary": "b"})
    with pytest.raises(IntegrityError), engine.begin() as conn, duplicate_raises(taken):
        conn.execute(insert(models.table_of(models.ClusterCA)), orphan)


def test_a_refused_statement_shows_none_of_its_values(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The error of a statement the database refuses, whose text the log and the conductor
    keep, names the statement but none of the values it sent: some are secrets."""
    secret = f"key-{secrets.token_hex(8)}"
    orphan = {"cluster_id": 999_999, "cert_pem": "c", "key_pem": secret}
    with (
        caplog.at_level(logging.INFO, logger="sqlalchemy.engine"),
        pytest.raises(IntegrityError) as refused,
        engine.begin() as conn,
    ):
        conn.execute(insert(models.table_of(models.ClusterCA)), orphan)
    assert "INSERT INTO cluster_cas" in str(refused.value)
    assert secret not in str(refused.value) and secret not in caplog.text


def _terminate(engine: Engine, where: str) -> int:
    """End the server's backends ``where`` says (a restart or a kill, as a client sees it).
    Each is waited for until it has exited: ``pg_terminate_backend`` only signals, and a
    request sent on a connection whose backend has not yet seen the signal fails with it,
    as it would if the kill came in the middle of that request."""
    with engine.connect() as conn:
        killed = conn.scalar(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
                f"FROM pg_stat_activity WHERE {where}"
            )
        )
        conn.commit()
    return int(killed or 0)


@POSTGRESQL
def test_connections_the_server_closed_are_replaced_without_a_failed_request(
    api: Api, db_url: str
) -> None:
    """After the database dropped every connection (a restart, ``pg_terminate_backend``),
    the next requests answer normally: the pool notices without a round trip per checkout."""
    for _ in range(3):
        assert api.get("/v1/clustertemplates").status_code == 200
    admin = make_engine(db_url)
    try:
        killed = _terminate(admin, "datname = current_database() AND pid <> pg_backend_pid()")
    finally:
        admin.dispose()
    assert killed
    for _ in range(3):
        response = api.get("/v1/clustertemplates")
        assert response.status_code == 200, response.text
    assert api.post("/v1/keypairs", json={"name": "after-restart"}).status_code == 201


@contextmanager
def _listening(
    engine: Engine, channel: str, on_note: Callable[[str], None]
) -> Iterator[tuple[threading.Event, threading.Thread]]:
    """``notify.listen`` on a thread, listening once this is entered; stopped on the way out."""
    ready, stop = threading.Event(), threading.Event()
    listener = threading.Thread(
        target=notify.listen, args=(engine, channel, on_note, stop, ready.set), daemon=True
    )
    listener.start()
    try:
        assert ready.wait(10)
        yield stop, listener
    finally:
        stop.set()
        listener.join(10)


@POSTGRESQL
def test_a_listener_told_to_stop_ends_quietly_when_its_connection_goes(
    db_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server shutting down stops its listener, then the database may go first (a test's
    database dropped, a host going down): that is no lost connection to warn about."""
    # The listener sees ``stop`` only between waits: a long wait makes sure the connection
    # goes while it is still listening.
    monkeypatch.setattr(notify, "_POLL_SECONDS", 60)
    engine = make_engine(db_url)
    try:
        with _listening(engine, "cove_stop", lambda _: None) as (stop, listener):
            stop.set()
            assert _terminate(engine, "query = 'LISTEN cove_stop'") == 1
            listener.join(10)
            assert not listener.is_alive()
    finally:
        engine.dispose()
    assert "lost the LISTEN connection" not in caplog.text


def test_notes_leave_once_the_transaction_commits_not_at_a_savepoint(db_url: str) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    got: queue.Queue[str] = queue.Queue()
    try:
        with _listening(engine, "cove_test", got.put):
            with transaction(factory) as session:
                notify.notify(session, "cove_test", "first")
                with session.begin_nested():
                    notify.notify(session, "cove_test", "second")
                notify.flush()
                with pytest.raises(queue.Empty):
                    got.get(timeout=0.3)  # the savepoint's release sent nothing
            assert {got.get(timeout=10), got.get(timeout=10)} == {"first", "second"}
            with transaction(factory) as session:
                notify.notify(session, "cove_test", "kept")
                try:
                    with session.begin_nested():
                        raise ValueError  # a savepoint rolled back
                except ValueError:
                    pass
            assert got.get(timeout=10) == "kept"
            with pytest.raises(ZeroDivisionError), transaction(factory) as session:
                notify.notify(session, "cove_test", "rolled back")
                raise ZeroDivisionError
            notify.flush()
            with pytest.raises(queue.Empty):
                got.get(timeout=0.3)
    finally:
        engine.dispose()


def test_event_readers_wake_at_the_commit_not_at_a_savepoint(db_url: str) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    hub = EventHub()
    hub.attach(factory)
    woken: list[list[str]] = []
    hub.publish = woken.append  # type: ignore[method-assign,assignment]
    try:
        with transaction(factory) as session:
            eventhub.mark(session, "c-1")
            with session.begin_nested():
                pass
            assert woken == []
        assert woken == [{"c-1"}]
    finally:
        engine.dispose()
