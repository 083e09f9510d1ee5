"""Clustering writes that race, for real (uvicorn on a socket, one connection per request,
released together): one action per container cluster whoever wins, the others refused with
Senlin's 409 naming it; a delete racing them is accepted and supersedes. SQLite and
PostgreSQL."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from cove.db import models
from tests.api.clustering.conftest import SENLIN, Senlin
from tests.api.test_races import _race, _served


def test_racing_scale_outs_start_exactly_one_action(senlin: Senlin) -> None:
    cluster = senlin.cluster(desired_capacity=1, max_size=100)
    senlin.api.settle()
    headers = {**senlin.api.headers, **SENLIN}
    path = f"/clustering/v1/clusters/{cluster['id']}/actions"
    with _served(senlin.api) as url:
        answers = _race(url, headers, [("POST", path, {"scale_out": {"count": 1}})] * 8)
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {202: 1, 409: 7}, statuses
    (winner,) = [r.json()["action"] for r in answers if r.status_code == 202]
    for refused in (r for r in answers if r.status_code == 409):
        body = refused.json()
        assert body["error"]["type"] == "ActionConflict" and winner in body["error"]["message"]
    factory = senlin.api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        active = session.scalar(
            select(func.count())
            .select_from(models.Operation)
            .where(
                models.Operation.subject_kind == "container_cluster",
                models.Operation.state.in_(("pending", "running")),
            )
        )
    assert active == 1
    senlin.api.settle()
    assert len(senlin.get(f"/nodes?cluster_id={cluster['id']}").json()["nodes"]) == 2


def test_a_delete_racing_actions_is_accepted_and_supersedes_them(senlin: Senlin) -> None:
    cluster = senlin.cluster(desired_capacity=1, max_size=100)
    senlin.api.settle()
    headers = {**senlin.api.headers, **SENLIN}
    base = f"/clustering/v1/clusters/{cluster['id']}"
    requests = [("POST", f"{base}/actions", {"scale_out": {"count": 1}})] * 4
    with _served(senlin.api) as url:
        answers = _race(url, headers, [*requests, ("DELETE", f"{base}?force=true", None)])
    assert answers[-1].status_code == 202, answers[-1].text
    senlin.api.settle()
    assert senlin.get(base.removeprefix("/clustering/v1")).status_code == 404
    assert senlin.get("/nodes").json()["nodes"] == []
