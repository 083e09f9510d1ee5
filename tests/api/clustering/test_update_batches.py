"""A cluster given a new profile replaces its members' containers with the new profile's,
in the batches the batch policy sets: without one, one member at a time; with one,
``min_in_service`` members keep serving, at most ``max_batch_size`` are replaced together
and the action pauses ``pause_time`` seconds between batches (waiting, not sleeping: the
action is pending, its conductor free)."""

from __future__ import annotations

import time
from typing import Any

from cove.clustering.containers import PROFILE_LABEL
from cove.drivers.containerhost import OWNER_LABEL
from tests.api.clustering.conftest import Senlin
from tests.api.clustering.test_actions_run import host, made, members


def batch_policy(senlin: Senlin, **props: Any) -> None:
    spec = {"type": "senlin.policy.batch", "version": "1.0", "properties": props}
    r = senlin.post("/policies", json={"policy": {"name": "batches", "spec": spec}})
    assert r.status_code == 201, r.text


def attach(senlin: Senlin, cluster: str, policy: str) -> None:
    r = senlin.post(f"/clusters/{cluster}/actions", json={"policy_attach": {"policy_id": policy}})
    assert r.status_code == 202, r.text
    senlin.api.settle()


def update(senlin: Senlin, cluster: str, profile: str) -> str:
    """PATCH the cluster's profile; the CLUSTER_UPDATE action's id."""
    r = senlin.patch(f"/clusters/{cluster}", json={"cluster": {"profile_id": profile}})
    assert r.status_code == 202, r.text
    return str(r.headers["Location"].rsplit("/", 1)[1])


def action(senlin: Senlin, ident: str) -> dict[str, Any]:
    return dict(senlin.get(f"/actions/{ident}").json()["action"])


def replaced_in_order(senlin: Senlin, cluster: str, since: int) -> list[str]:
    """Container names in the order the engines removed them, from event ``since`` on."""
    names = {c.name for c in host(senlin).find_containers({OWNER_LABEL: cluster})}
    return [e[2] for e in host(senlin).events[since:] if e[0] == "destroy" and e[2] in names]


def runs_profile(senlin: Senlin, cluster: str, profile: str) -> bool:
    containers = host(senlin).find_containers({OWNER_LABEL: cluster})
    nodes = members(senlin, cluster)
    return (
        len(containers) == len(nodes)
        and all(c.labels[PROFILE_LABEL] == profile for c in containers)
        and all(n["profile_id"] == profile for n in nodes)
        and {n["status"] for n in nodes} == {"ACTIVE"}
    )


def test_without_a_batch_policy_members_are_replaced_one_at_a_time(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=3)
    new = senlin.profile("web2", image="web:2")["id"]
    since = len(host(senlin).events)
    ident = update(senlin, cluster["id"], new)
    senlin.api.settle()
    done = action(senlin, ident)
    assert done["status"] == "SUCCEEDED", done["status_reason"]
    assert runs_profile(senlin, cluster["id"], new)
    assert len(done["outputs"]["nodes_updated"]) == 3
    # One at a time: each container is made again before the next is removed.
    kinds = [e[0] for e in host(senlin).events[since:] if e[0] in ("destroy", "create")]
    assert kinds == ["destroy", "create"] * 3


def test_the_batch_policy_keeps_min_in_service_and_caps_the_batch(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=5)
    batch_policy(senlin, min_in_service=2, max_batch_size=2, pause_time=0)
    attach(senlin, cluster["id"], "batches")
    new = senlin.profile("web2", image="web:2")["id"]
    since = len(host(senlin).events)
    ident = update(senlin, cluster["id"], new)
    senlin.api.settle()
    done = action(senlin, ident)
    assert done["status"] == "SUCCEEDED", done["status_reason"]
    assert runs_profile(senlin, cluster["id"], new)
    # 5 members, 2 kept serving: batches of min(5 - 2, 2) = 2.
    assert [len(b) for b in done["outputs"]["batches"]] == [2, 2, 1]
    assert len(replaced_in_order(senlin, cluster["id"], since)) == 5


def test_the_update_pauses_between_batches_and_goes_on(senlin: Senlin) -> None:
    cluster = made(senlin, nodes=2)
    batch_policy(senlin, min_in_service=1, pause_time=1)
    attach(senlin, cluster["id"], "batches")
    new = senlin.profile("web2", image="web:2")["id"]
    ident = update(senlin, cluster["id"], new)
    senlin.api.settle()
    paused = action(senlin, ident)
    assert paused["status"] in ("READY", "RUNNING"), paused  # pending: no conductor busy
    halfway = [n["profile_id"] for n in members(senlin, cluster["id"])]
    assert sorted(halfway) == sorted([new, cluster["profile_id"]])
    time.sleep(1.1)  # the pause the user asked for
    senlin.api.settle()
    done = action(senlin, ident)
    assert done["status"] == "SUCCEEDED", done["status_reason"]
    assert runs_profile(senlin, cluster["id"], new)
