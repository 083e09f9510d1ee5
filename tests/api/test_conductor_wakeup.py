"""Conductors in other processes learn of new work at once, through PostgreSQL's
LISTEN/NOTIFY or SQLite's datagram notes (cove.db.notify); the periodic scan is only the
fallback."""

from __future__ import annotations

import threading

from cove.conductor.service import Conductor
from cove.db import migrate
from cove.db.notify import notify
from cove.db.session import make_engine, make_session_factory
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
        with elsewhere.begin() as session:
            notify(session, CHANNEL)
            assert not woken.wait(0.3), "woken before the commit"
        assert woken.wait(10), "the note did not wake the conductor"
    finally:
        conductor.stop()
        engine.dispose()
        elsewhere.kw["bind"].dispose()
