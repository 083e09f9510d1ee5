"""A deployment's event log and its long poll (``GET …/deployments/{d}/events?since=&wait=``):
each change of progress is an event, so a follower (``cove deployment create`` waiting) is
woken by it instead of polling; secrets never appear; the poll ends with 404 once the
deployment is undeployed. On SQLite and PostgreSQL (where a conductor in another process
wakes the reader through NOTIFY)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx

from tests.api.test_deployments import SECRET, apps, deploy
from tests.api.test_deployments import cluster as cluster  # the fixture
from tests.conftest import Api


def _events(api: Api, cluster: str, query: str = "") -> dict[str, Any]:
    r = api.get(f"/v1/clusters/{cluster}/deployments/shop/events{query}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _subscribed(reader: Api, waiting: Future[httpx.Response], uuid: str) -> None:
    """Until the long poll has read, found nothing and waits on the deployment."""
    hub = reader.client.app.state.events  # type: ignore[attr-defined]
    while not hub.waiting(uuid):
        assert not waiting.done(), waiting.result().text
        time.sleep(0.01)


def test_the_log_tells_each_change_of_progress_and_carries_the_status(
    api: Api, cluster: str
) -> None:
    uuid = deploy(api, cluster).json()["uuid"]
    first = _events(api, cluster)
    assert [e["message"] for e in first["events"]] == ["Deploy accepted: 2 service(s), 1 task(s)."]
    assert (first["status"], first["progress"]) == ("CREATE_IN_PROGRESS", {})
    api.settle()
    body = _events(api, cluster)
    messages = [e["message"] for e in body["events"]]
    shown = "\n".join(messages)
    assert "cove-store: " in shown
    assert "db: ready (1/1 running and healthy)" in shown
    assert "schema: done\n" in shown  # a task's detail that only repeats its state is left out
    assert messages[-1] == "deploy complete."
    assert body["status"] == "CREATE_COMPLETE" and body["status_reason"] is None
    assert body["progress"]["cache"] == {"state": "ready", "detail": "2/2 running"}
    assert SECRET not in str(body)
    # by uuid too; ``since`` pages on
    last = body["events"][-1]["id"]
    later = api.get(f"/v1/clusters/{cluster}/deployments/{uuid}/events?since={last}")
    assert later.status_code == 200, later.text
    assert later.json()["events"] == []


def test_a_failing_task_is_a_warning_naming_its_exit_code(api: Api, cluster: str) -> None:
    host = apps(api, cluster)
    uuid = deploy(api, cluster).json()["uuid"]
    host.set_job_outcome(f"cove-{uuid[:8]}-schema", 3)
    api.settle()
    events = _events(api, cluster)["events"]
    warned = [e["message"] for e in events if e["level"] == "warning"]
    assert any("schema: failed" in m and "(exit 3)" in m for m in warned), events
    assert events[-1]["level"] == "error" and events[-1]["message"].startswith("deploy failed")


def test_the_long_poll_wakes_at_the_first_look(api: Api, cluster: str) -> None:
    _wakes_at_the_first_look(api, api, cluster)


def test_a_conductor_elsewhere_wakes_the_long_poll(
    make_api: Callable[..., Api], cluster: str, api: Api, db_url: str
) -> None:
    """The API reading and the conductor writing in two apps on one database: the note of
    the conductor's commit (NOTIFY on PostgreSQL, a datagram on SQLite) wakes the poll."""
    _wakes_at_the_first_look(make_api(), api, cluster)


def _wakes_at_the_first_look(reader: Api, writer: Api, cluster: str) -> None:
    uuid = deploy(writer, cluster).json()["uuid"]
    last = _events(reader, cluster)["events"][-1]["id"]
    path = f"/v1/clusters/{cluster}/deployments/shop/events?since={last}&wait=30"
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(reader.get, path)
        _subscribed(reader, waiting, uuid)
        started = time.monotonic()
        assert writer.runner.run_one()  # the conductor's first look records the progress
        body = waiting.result(timeout=35).json()
    # Woken by the change, not by the end of the 30 s poll.
    assert time.monotonic() - started < 10
    assert body["events"] and body["events"][0]["id"] > last
    assert "cove-store: " in body["events"][0]["message"]
    assert body["progress"], body


def test_the_long_poll_ends_with_404_once_undeployed(api: Api, cluster: str) -> None:
    uuid = deploy(api, cluster).json()["uuid"]
    api.settle()
    assert api.delete(f"/v1/clusters/{cluster}/deployments/shop").status_code == 202
    body = _events(api, cluster)
    assert body["status"] == "DELETE_IN_PROGRESS"
    assert body["events"][-1]["message"] == "Undeploy accepted."
    last = body["events"][-1]["id"]
    path = f"/v1/clusters/{cluster}/deployments/shop/events?since={last}&wait=30"
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(api.get, path)
        _subscribed(api, waiting, uuid)
        api.settle()
        resp = waiting.result(timeout=10)
    assert resp.status_code == 404, resp.text


def test_bad_queries_and_other_projects_are_refused(api: Api, cluster: str) -> None:
    deploy(api, cluster)
    base = f"/v1/clusters/{cluster}/deployments/shop/events"
    for query, needle in (("?wait=61", "wait"), ("?since=-1", "since"), ("?bogus=1", "bogus")):
        r = api.get(base + query)
        assert r.status_code == 400, (query, r.text)
        assert needle in r.json()["errors"][0]["detail"]
    assert api.as_project("someone-else").get(base).status_code == 404
    assert api.get(f"/v1/clusters/{cluster}/deployments/nope/events").status_code == 404


def test_a_global_service_is_stored_as_given_and_deploys(api: Api, cluster: str) -> None:
    definition = (
        "name: kv\nservices:\n  kv: {image: cove/app-etcd, mode: global, ports: "
        "[{container: 2379, published: 2379}]}\n"
    )
    r = api.post(
        f"/v1/clusters/{cluster}/deployments", json={"name": "kv", "definition": definition}
    )
    assert r.status_code == 202, r.text
    assert r.json()["definition"] == {
        "name": "kv",
        "services": {
            "kv": {
                "image": "cove/app-etcd",
                "mode": "global",
                "ports": [{"container": 2379, "published": 2379}],
            }
        },
    }
    api.settle()
    body = api.get(f"/v1/clusters/{cluster}/deployments/kv/events").json()
    assert body["status"] == "CREATE_COMPLETE", body
    kv = body["progress"]["kv"]
    up, _, wanted = kv["detail"].partition(" ")[0].partition("/")
    assert kv["state"] == "ready" and up == wanted and int(up) >= 2, kv  # one per node
    # It publishes a port (host mode): the nodes it runs on are where it answers.
    running = {
        i.node
        for s in apps(api, cluster).services({})
        if s.labels.get("cove.deployment.element") == "kv"
        for i in s.instances
        if i.state == "running"
    }
    assert kv["nodes"] == sorted(running) and len(running) == int(up)
