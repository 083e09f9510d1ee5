"""Conductors in other processes learn of new work at once through PostgreSQL's
LISTEN/NOTIFY; the periodic scan is only the fallback."""

from __future__ import annotations

import threading

from sqlalchemy import text

from cove.conductor.service import Conductor
from cove.db.session import make_engine, make_session_factory
from cove.drivers.registry import DriverRegistry
from cove.services.operations import CHANNEL
from cove.settings import Settings


def test_notify_from_another_connection_wakes_the_conductor(pg_url: str) -> None:
    # scan_interval is long, so only a wake-up can make this pass quickly.
    settings = Settings(db=pg_url, scan_interval=600)
    engine = make_engine(pg_url)
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
        with engine.begin() as conn:
            conn.execute(text(f"NOTIFY {CHANNEL}"))
        assert woken.wait(10), "NOTIFY did not wake the conductor"
    finally:
        conductor.stop()
        engine.dispose()
