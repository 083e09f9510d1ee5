"""Conductors in other processes learn of new work at once, through PostgreSQL's
LISTEN/NOTIFY or SQLite's datagram notes (cove.db.notify); the periodic scan is only the
fallback."""

from __future__ import annotations

import threading

from cove.conductor.service import Conductor
from cove.db import migrate
from cove.db.notify import notify
from cove.db.session import make_engine, make_session_factory, transaction
from cove.drivers.registry import DriverRegistry
from cove.services.operations import CHANNEL
from cove.settings import Settings


def test_a_note_from_another_engine_wakes_the_conductor(db_url: str) -> None:
    # scan_interval is long, so only a wake-up can make this pass quickly.
    settings = Settings(db=db_url, scan_interval=600)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    elsewhere = make_session_factory(make_engine(db_url))  # as an API process would
    conductor = Conductor(settings, make_session_factory(engine), DriverRegistry(), workers=1)
    woken = threading.Event()
    original = conductor.wakeup

    def wakeup() -> None:
        woken.set()
        original()

    conductor.wakeup = wakeup  # type: ignore[method-assign]
    conductor.start()
    try:
        assert woken.wait(10), "the listener's initial catch-up wake-up never came"
        woken.clear()
        with transaction(elsewhere) as session:
            notify(session, CHANNEL)
            assert not woken.wait(0.3), "woken before the commit"
        assert woken.wait(10), "the note did not wake the conductor"
    finally:
        conductor.stop()
        engine.dispose()
        elsewhere.kw["bind"].dispose()


class ProbingDriver:
    """A driver with a start-up probe (``prepare``), which fails when told to."""

    provides = ()

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail = name, fail
        self.prepared = threading.Event()

    def prepare(self) -> None:
        self.prepared.set()
        if self.fail:
            raise RuntimeError("engine unreachable")


def test_the_conductor_runs_the_drivers_start_up_probes_at_once(db_url: str) -> None:
    """So that the first create does not pay for them (the docker provider's node-mode
    probe); a probe that fails leaves the conductor working."""
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    failing, probing = ProbingDriver("a", fail=True), ProbingDriver("b")
    registry = DriverRegistry([failing, probing])  # type: ignore[list-item]
    conductor = Conductor(Settings(db=db_url), make_session_factory(engine), registry, workers=1)
    conductor.start()
    try:
        assert failing.prepared.wait(10) and probing.prepared.wait(10)
        assert all(t.is_alive() for t in conductor._threads if t.name != "conductor-prepare")
    finally:
        conductor.stop()
        engine.dispose()
