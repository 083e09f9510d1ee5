"""The event log's long poll (a cove extension): ``?wait=`` holds the request until an event
is committed, in this process or (PostgreSQL) in another one, so progress needs no polling."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Api, template_body


def _cluster(api: Api) -> tuple[str, int]:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    body = {"name": "c1", "cluster_template_id": "swarm-tpl", "node_count": 1}
    uuid = str(api.post("/v1/clusters", json=body).json()["uuid"])
    api.settle()
    events = api.get(f"/v1/clusters/{uuid}/events").json()["events"]
    return uuid, events[-1]["id"]


def test_events_carry_the_cluster_status(api: Api, catalog: dict[str, Any]) -> None:
    uuid, _ = _cluster(api)
    body = api.get("/v1/clusters/c1/events").json()
    assert body["status"] == "CREATE_COMPLETE"
    assert body["status_reason"] is None or isinstance(body["status_reason"], str)
    assert [e["message"] for e in body["events"]][-1] == "create complete."
    assert (
        api.get(f"/v1/clusters/{uuid}/events?since={body['events'][-1]['id']}").json()["events"]
        == []
    )


def test_wait_returns_empty_when_nothing_happens(api: Api, catalog: dict[str, Any]) -> None:
    uuid, last = _cluster(api)
    body = api.get(f"/v1/clusters/{uuid}/events?since={last}&wait=0.2").json()
    assert body["events"] == []
    assert body["status"] == "CREATE_COMPLETE"


def test_wait_wakes_when_an_event_is_recorded(api: Api, catalog: dict[str, Any]) -> None:
    uuid, last = _cluster(api)
    _wakes_on_resize(api, api, uuid, last)


def test_wait_wakes_on_events_from_another_process(
    make_api: Callable[..., Api], catalog: dict[str, Any], db_url: str
) -> None:
    """Two apps on one database (as `cove api` and a conductor elsewhere): the note of the
    writer's commit (NOTIFY on PostgreSQL, a datagram on SQLite) wakes the reader's poll."""
    reader = make_api()
    uuid, last = _cluster(reader)
    writer = make_api()
    _wakes_on_resize(reader, writer, uuid, last)


def test_wait_is_bounded(api: Api, catalog: dict[str, Any]) -> None:
    uuid, _ = _cluster(api)
    resp = api.get(f"/v1/clusters/{uuid}/events?wait=61")
    assert resp.status_code == 400
    assert "wait" in resp.json()["errors"][0]["detail"]


def _wakes_on_resize(reader: Api, writer: Api, uuid: str, last: int) -> None:
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(reader.get, f"/v1/clusters/{uuid}/events?since={last}&wait=30")
        hub = reader.client.app.state.events
        while not hub.waiting(uuid):  # the reader has read, found nothing, and subscribed
            assert not waiting.done(), waiting.result().json()
            time.sleep(0.01)
        resp = writer.post(f"/v1/clusters/{uuid}/actions/resize", json={"node_count": 2})
        assert resp.status_code == 202, resp.text
        body = waiting.result(timeout=35).json()
    # Woken by the resize's event, not by the 30 s timeout (which returns no events).
    assert body["events"], body
    assert body["events"][0]["id"] > last
    assert body["status"] == "UPDATE_IN_PROGRESS"


def test_wait_ends_with_404_when_the_cluster_is_deleted(api: Api, catalog: dict[str, Any]) -> None:
    uuid, _ = _cluster(api)
    assert api.delete(f"/v1/clusters/{uuid}").status_code == 204
    last = api.get(f"/v1/clusters/{uuid}/events").json()["events"][-1]["id"]
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(api.get, f"/v1/clusters/{uuid}/events?since={last}&wait=30")
        hub = api.client.app.state.events
        while not hub.waiting(uuid):
            assert not waiting.done(), waiting.result().json()
            time.sleep(0.01)
        api.settle()  # the delete completes: the row and its events are gone
        # Woken by the delete, not by the end of the 30 s poll.
        resp = waiting.result(timeout=10)
    assert resp.status_code == 404, resp.text


def test_events_are_the_service_log_of_what_happens(
    api: Api, catalog: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cove.services.operations"):
        uuid, _ = _cluster(api)
    lines = [r.getMessage() for r in caplog.records if r.name == "cove.services.operations"]
    assert f"cluster c1 ({uuid}): Create accepted: 1 master(s), 1 worker(s)." in lines
    assert f"cluster c1 ({uuid}): create complete." in lines


def test_operations_show_state_and_are_hidden_from_other_projects(
    api: Api, catalog: dict[str, Any]
) -> None:
    uuid, _ = _cluster(api)
    body = api.get(f"/v1/clusters/{uuid}/operations").json()
    assert body["cluster"] == uuid
    [create] = body["operations"]
    assert (create["kind"], create["state"], create["attempts"]) == ("create", "succeeded", 1)
    assert create["deadline"] is not None and create["error"] is None
    other = api.as_project("someone-else")
    assert other.get(f"/v1/clusters/{uuid}/operations").status_code == 404
    assert api.get(f"/v1/clusters/{uuid}/operations?limit=0").status_code == 400
    assert api.get(f"/v1/clusters/{uuid}/operations?bogus=1").status_code == 400


def test_an_accepted_operations_event_names_it(api: Api, catalog: dict[str, Any]) -> None:
    """Create and delete alike: the event a request records belongs to the operation it
    started (the create's operation row is written in the same transaction as its cluster)."""
    from sqlalchemy import select

    from cove.db import models

    uuid, _ = _cluster(api)
    assert api.delete(f"/v1/clusters/{uuid}").status_code == 204
    with api.runner.factory() as session:
        linked = session.execute(
            select(models.Event.message, models.Operation.kind)
            .join(models.Operation, models.Event.operation_id == models.Operation.id)
            .where(models.Event.message.like("% accepted%"))
        ).all()
    assert sorted(linked) == [
        ("Create accepted: 1 master(s), 1 worker(s).", "create"),
        ("Delete accepted.", "delete"),
    ], linked
