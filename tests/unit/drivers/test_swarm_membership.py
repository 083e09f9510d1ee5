"""The swarm's members read over an engine API, in the shape ``docker node ls --format
'{{json .}}'`` prints them (the e2e test compares both on a live swarm)."""

from __future__ import annotations

from typing import Any

from cove.drivers.swarm_mode.membership import _wait_ready, listing

# GET /nodes entries of a 20.10 engine, trimmed to what the listing reads and a little more.
LEADER = {
    "ID": "x3bq5ohqsuw8k1qzb1t5ri3y7",
    "Version": {"Index": 9},
    "Spec": {"Labels": {}, "Role": "manager", "Availability": "active"},
    "Description": {
        "Hostname": "cove-c1-master-0",
        "Platform": {"Architecture": "x86_64", "OS": "linux"},
        "Engine": {"EngineVersion": "20.10.24+dfsg1"},
    },
    "Status": {"State": "ready", "Addr": "10.88.0.2"},
    "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": "10.88.0.2:2377"},
}
WORKER = {
    "ID": "7k2mfv4kcm3e4lqe6ppt0sa2d",
    "Spec": {"Role": "worker", "Availability": "drain"},
    "Description": {"Hostname": "cove-c1-node-0", "Engine": {"EngineVersion": "20.10.24"}},
    "Status": {"State": "down", "Addr": "10.88.0.3"},
}


def test_a_leader_is_listed_as_the_cli_lists_it() -> None:
    assert listing(LEADER) == {
        "ID": "x3bq5ohqsuw8k1qzb1t5ri3y7",
        "Hostname": "cove-c1-master-0",
        "Status": "Ready",
        "Availability": "Active",
        "ManagerStatus": "Leader",
        "EngineVersion": "20.10.24+dfsg1",
    }


def test_a_worker_has_no_manager_status_and_its_states_are_capitalised() -> None:
    listed = listing(WORKER)
    assert (listed["Status"], listed["Availability"], listed["ManagerStatus"]) == (
        "Down",
        "Drain",
        "",
    )


def test_a_reachable_manager_that_is_not_the_leader_says_so() -> None:
    follower = {**LEADER, "ManagerStatus": {"Leader": False, "Reachability": "unreachable"}}
    assert listing(follower)["ManagerStatus"] == "Unreachable"


def test_an_entry_missing_its_parts_is_listed_with_empty_fields() -> None:
    assert listing({"ID": "abc"}) == {
        "ID": "abc",
        "Hostname": "",
        "Status": "",
        "Availability": "",
        "ManagerStatus": "",
        "EngineVersion": "",
    }


class NodeEvents:
    """What the wait reads of a manager's engine API: ``nodes()`` answers from ``listings``
    in turn; each node event the stream gives moves to the next listing. Records the order
    of the calls."""

    def __init__(self, *listings: list[dict[str, Any]]) -> None:
        self.listings = list(listings)
        self.calls: list[str] = []
        self.closed = False

    def events(self, **_: Any) -> NodeEvents:
        self.calls.append("events")
        return self

    def __iter__(self) -> NodeEvents:
        return self

    def __next__(self) -> dict[str, Any]:
        self.calls.append("event")
        self.listings.pop(0)
        return {"Type": "node", "Action": "update"}

    def nodes(self) -> list[dict[str, Any]]:
        self.calls.append("nodes")
        return self.listings[0]

    def close(self) -> None:
        self.closed = True


def test_the_wait_until_ready_subscribes_first_and_lists_again_at_each_node_event() -> None:
    joining = {**WORKER, "Status": {"State": "unknown"}}
    ready = {**WORKER, "Status": {"State": "ready"}}
    api = NodeEvents([LEADER, joining], [LEADER, joining], [LEADER, ready])
    version = _wait_ready("cove-c1-master-0", api)  # type: ignore[arg-type]
    assert version == "20.10.24+dfsg1", "the manager's own engine version"
    assert api.calls == ["events", "nodes", "event", "nodes", "event", "nodes"]
    assert api.closed


def test_the_wait_until_ready_reads_no_event_when_every_member_is_ready() -> None:
    api = NodeEvents([LEADER, {**WORKER, "Status": {"State": "ready"}}])
    assert _wait_ready("cove-c1-master-0", api) == "20.10.24+dfsg1"  # type: ignore[arg-type]
    assert api.calls == ["events", "nodes"] and api.closed
