"""A conductor killed in the middle of any clustering action: another one takes the action
over when the lease runs out and finishes it with the plan the first one recorded. Nothing
is made twice, nothing is left behind, and the cluster ends as if nothing had happened.

Each case kills the conductor at one point: right after a recorded step, or inside the
engine work (the n-th container made or removed), where no step records progress."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import pytest
from sqlalchemy import update

from cove.conductor.runner import Runner
from cove.db import models
from cove.db.session import transaction
from cove.drivers.containerhost import OWNER_LABEL
from cove.drivers.memoryhost import MemoryContainerHost
from tests.api.clustering.conftest import Senlin
from tests.api.clustering.test_actions_run import host, made, members


class Crash(BaseException):
    """The conductor's process dies (nothing in it catches this)."""


def _calls(n: int) -> Callable[..., bool]:
    seen = {"calls": 0}

    def nth(*_: Any) -> bool:
        seen["calls"] += 1
        return seen["calls"] == n

    return nth


def crash_and_resume(senlin: Senlin, start: Callable[[], None], point: str) -> None:
    """Start an action, kill the conductor at ``point`` (``step:<name>`` after a recorded
    step, ``<host method>:<n>`` at the n-th call), then let another conductor resume."""
    memory = host(senlin)
    after_step = None
    if point.startswith("step:"):
        wanted = point.removeprefix("step:")

        def die(step: str) -> None:
            if step == wanted:
                raise Crash(step)

        after_step = die
    else:
        method, n = point.split(":")
        memory.faults.fail(method, cast(Exception, Crash(point)), when=_calls(int(n)))
    start()
    factory = senlin.api.client.app.state.session_factory  # type: ignore[attr-defined]
    crashing = Runner.standalone(factory, senlin.api.drivers, "doomed", after_step=after_step)
    with pytest.raises(Crash):
        while crashing.run_one():
            pass
    memory.faults.clear()
    with transaction(factory) as session:  # the dead conductor's lease runs out
        session.execute(
            update(models.Operation)
            .where(models.Operation.state == "running")
            .values(lease_expires_at=models.utcnow())
        )
    senlin.api.settle()


def sound(senlin: Senlin, cluster: str, size: int, memory: MemoryContainerHost) -> None:
    """The cluster as if nothing happened: ``size`` ACTIVE members, each with exactly one
    running container, no container nobody owns, no container made twice."""
    shown = senlin.get(f"/clusters/{cluster}").json()["cluster"]
    assert shown["status"] == "ACTIVE", shown["status_reason"]
    nodes = members(senlin, cluster)
    assert len(nodes) == size and all(n["status"] == "ACTIVE" for n in nodes)
    containers = memory.find_containers({OWNER_LABEL: cluster})
    assert sorted(c.labels["cove.clustering.node"] for c in containers) == sorted(
        n["id"] for n in nodes
    )
    assert all(c.state == "running" for c in containers)
    created = Counter(name for action, _, name in memory.events if action == "create")
    assert max(created.values(), default=1) == 1, created
    last = senlin.get(f"/actions?target={cluster}&sort=created_at:desc").json()["actions"][0]
    assert last["status"] == "SUCCEEDED", last


POINTS = ["step:plan", "ensure_container:1", "ensure_container:3"]


@pytest.mark.parametrize("point", POINTS)
def test_create(senlin: Senlin, point: str) -> None:
    holder: dict[str, str] = {}
    crash_and_resume(
        senlin,
        lambda: holder.update(id=senlin.cluster(desired_capacity=4)["id"]),
        point,
    )
    sound(senlin, holder["id"], 4, host(senlin))


@pytest.mark.parametrize("point", ["step:decide", *POINTS])
def test_scale_out(senlin: Senlin, point: str) -> None:
    cluster = made(senlin, nodes=1)["id"]
    host(senlin).events.clear()
    crash_and_resume(
        senlin,
        lambda: senlin.post(f"/clusters/{cluster}/actions", json={"scale_out": {"count": 3}}),
        point,
    )
    sound(senlin, cluster, 4, host(senlin))


@pytest.mark.parametrize("point", ["step:decide", "remove_container:1", "remove_container:2"])
def test_scale_in(senlin: Senlin, point: str) -> None:
    cluster = made(senlin, nodes=4)["id"]
    crash_and_resume(
        senlin,
        lambda: senlin.post(f"/clusters/{cluster}/actions", json={"scale_in": {"count": 3}}),
        point,
    )
    sound(senlin, cluster, 1, host(senlin))


@pytest.mark.parametrize(
    ("number", "point"),
    [(4, "step:decide"), (4, "ensure_container:2"), (1, "step:victims"), (0, "remove_container:2")],
)
def test_resize(senlin: Senlin, number: int, point: str) -> None:
    cluster = made(senlin, nodes=2)["id"]
    host(senlin).events.clear()
    body = {"resize": {"adjustment_type": "EXACT_CAPACITY", "number": number}}
    crash_and_resume(senlin, lambda: senlin.post(f"/clusters/{cluster}/actions", json=body), point)
    sound(senlin, cluster, number, host(senlin))


@pytest.mark.parametrize("point", ["ensure_container:1", "remove_container:1"])
def test_recover_off_a_lost_node(senlin: Senlin, point: str) -> None:
    cluster = made(senlin, nodes=3)["id"]
    memory = host(senlin)
    lost = Counter(c.node for c in memory.find_containers({OWNER_LABEL: cluster}))
    gone = lost.most_common(1)[0][0]
    memory.stop_node(gone)
    memory.events.clear()
    crash_and_resume(
        senlin, lambda: senlin.post(f"/clusters/{cluster}/actions", json={"recover": {}}), point
    )
    nodes = members(senlin, cluster)
    assert {n["status"] for n in nodes} == {"ACTIVE"} and len(nodes) == 3
    for node in nodes:
        where = senlin.get(f"/nodes/{node['id']}").json()["node"]["data"]["placement"]
        assert where["host_node"] != gone


@pytest.mark.parametrize(
    "point", ["step:plan", "step:batch 1", "remove_container:2", "ensure_container:2"]
)
def test_profile_update(senlin: Senlin, point: str) -> None:
    """Every member ends on the new profile with one container, whichever batch died."""
    cluster = made(senlin, nodes=3)["id"]
    new = senlin.profile("web2", image="web:2")["id"]
    crash_and_resume(
        senlin,
        lambda: senlin.patch(f"/clusters/{cluster}", json={"cluster": {"profile_id": new}}),
        point,
    )
    memory = host(senlin)
    containers = memory.find_containers({OWNER_LABEL: cluster})
    assert len(containers) == 3 and all(c.state == "running" for c in containers)
    assert {c.labels["cove.clustering.profile"] for c in containers} == {new}
    assert {n["profile_id"] for n in members(senlin, cluster)} == {new}
    last = senlin.get(f"/actions?target={cluster}&sort=created_at:desc").json()["actions"][0]
    assert last["action"] == "CLUSTER_UPDATE" and last["status"] == "SUCCEEDED", last


@pytest.mark.parametrize("point", ["remove_container:1", "remove_container:2", "find_containers:1"])
def test_delete(senlin: Senlin, point: str) -> None:
    cluster = made(senlin, nodes=3)["id"]
    crash_and_resume(senlin, lambda: senlin.delete(f"/clusters/{cluster}"), point)
    assert senlin.get(f"/clusters/{cluster}").status_code == 404
    assert host(senlin).find_containers({OWNER_LABEL: cluster}) == []
    assert senlin.get("/nodes").json()["nodes"] == []


@pytest.mark.parametrize("point", ["ensure_container:1", "remove_container:1"])
def test_orphan_node_create_and_delete(senlin: Senlin, point: str) -> None:
    profile = senlin.profile()["id"]

    def create() -> None:
        r = senlin.post("/nodes", json={"node": {"name": "solo", "profile_id": profile}})
        assert r.status_code == 202, r.text

    if point.startswith("ensure"):
        crash_and_resume(senlin, create, point)
    else:
        create()
        senlin.api.settle()
        crash_and_resume(senlin, lambda: senlin.delete("/nodes/solo"), point)
    nodes = senlin.get("/nodes").json()["nodes"]
    containers = host(senlin).find_containers({OWNER_LABEL: ""})
    if point.startswith("ensure"):
        assert [n["status"] for n in nodes] == ["ACTIVE"] and len(containers) == 1
    else:
        assert nodes == [] and containers == []


def test_a_conductor_that_lost_its_lease_while_planning_makes_nothing_twice(
    senlin: Senlin,
) -> None:
    """A conductor stalls (its lease runs out) just before it stores its plan of a create;
    another takes the action over and finishes it; then the first one wakes and carries on.
    The cluster gets its members once."""
    memory = host(senlin)
    factory = senlin.api.client.app.state.session_factory  # type: ignore[attr-defined]
    other = Runner.standalone(factory, senlin.api.drivers, "other")
    first = Runner.standalone(factory, senlin.api.drivers, "stalled")
    store = first.reconcilers["container_cluster"].store  # type: ignore[attr-defined]
    plan = store.plan_nodes

    def stall_then_plan(*args: Any) -> list[str]:
        with transaction(factory) as session:  # the stalled conductor's lease runs out
            session.execute(
                update(models.Operation)
                .where(models.Operation.state == "running")
                .values(lease_expires_at=models.utcnow())
            )
        assert other.run_one() is True  # the other conductor does the whole action
        return list(plan(*args))  # and the stalled one goes on as if nothing happened

    store.plan_nodes = stall_then_plan
    cluster = senlin.cluster(desired_capacity=4)["id"]
    first.run_one()
    senlin.api.settle()
    sound(senlin, cluster, 4, memory)
