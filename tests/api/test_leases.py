"""Operations are claimed with leases: never by two conductors at once, and taken over
when the conductor holding one dies (its lease runs out)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from cove.conductor import leases
from cove.conductor.runner import Runner
from cove.db import models
from cove.db.session import transaction
from tests.conftest import Api, template_body


class FakeClock:
    def __init__(self) -> None:
        self.now = models.utcnow()

    def __call__(self) -> datetime:
        return self.now


def _create(api: Api, name: str) -> str:
    created = api.post("/v1/clusters", json={"name": name, "cluster_template_id": "swarm-tpl"})
    assert created.status_code == 202, created.text
    return str(created.json()["uuid"])


def test_dead_conductors_operation_is_taken_over(api: Api, catalog: dict[str, Any]) -> None:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    uuid = _create(api, "c1")
    factory = api.runner.factory
    clock = FakeClock()
    # Conductor A claims the create, then dies before doing anything.
    assert leases.claim(factory, "conductor-a", 30, clock) is not None
    survivor = Runner.standalone(factory, api.drivers, "conductor-b", lease_seconds=30, clock=clock)
    assert survivor.run_one() is False, "a live lease must not be taken over"
    clock.now += timedelta(seconds=31)
    assert survivor.run_one() is True
    assert api.get(f"/v1/clusters/{uuid}").json()["status"] == "CREATE_COMPLETE"
    with factory() as session:
        op = session.scalar(select(models.Operation))
        assert op is not None and op.state == "succeeded" and op.attempts == 2


def test_concurrent_claims_never_share_an_operation(api: Api, catalog: dict[str, Any]) -> None:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    for n in range(6):
        _create(api, f"c{n}")
    factory = api.runner.factory
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def conductor(name: str) -> None:
        start.wait()
        while (op_id := leases.claim(factory, name, 30, models.utcnow)) is not None:
            with lock:
                claimed.append(op_id)

    threads = [threading.Thread(target=conductor, args=(f"c-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 6


def test_an_operation_whose_subject_is_gone_is_cancelled_not_claimed_again(api: Api) -> None:
    factory = api.runner.factory
    with transaction(factory) as session:
        session.add(models.Operation(subject_kind="cluster", subject_id=987654, kind="resize"))
    assert api.runner.run_one() is True
    with factory() as session:
        op = session.scalar(select(models.Operation))
        assert op is not None
        assert (op.state, op.error) == ("cancelled", "its subject no longer exists")
    assert api.runner.run_one() is False, "nothing left to claim"
