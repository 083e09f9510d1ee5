"""Cluster commands: waiting with progress, --no-wait, failures, Ctrl-C, names and uuids."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from tests.cli.conftest import Api, Cove, unique


def test_create_waits_until_complete_showing_events(cove: Cove, world: dict[str, str]) -> None:
    name = unique("c")
    result = cove(f"cluster create {name} --template {world['template']} --node-count 2")
    fields = result.fields()
    assert fields["name"] == name
    assert fields["status"] == "CREATE_COMPLETE"
    assert fields["api_address"] == "tcp://10.0.0.2:2376"
    assert fields["node_addresses"] == "10.1.0.2\n10.1.0.3"
    err = result.stderr
    assert "create accepted" in err
    assert "Create accepted: 1 master(s), 2 worker(s)." in err  # the cluster's own events
    assert "instant: all nodes up" in err
    assert "3/3 nodes up" in err
    assert err.rstrip().splitlines()[-1].startswith(f"cluster {name} CREATE_COMPLETE")
    cove(f"cluster delete {name}")


def test_create_json_prints_the_finished_cluster(cove: Cove, world: dict[str, str]) -> None:
    name = unique("c")
    body = cove.json(f"cluster create {name} --template {world['template']} --labels a=1,2")
    assert body["name"] == name
    assert body["status"] == "CREATE_COMPLETE"
    assert body["labels"] == {"a": "1,2"}
    assert len(body["master_addresses"]) == 1 and len(body["node_addresses"]) == 1
    cove(f"cluster delete {name}")


def test_no_wait_returns_while_in_progress(cove: Cove, api: Api, world: dict[str, str]) -> None:
    name = unique("c")
    started = time.monotonic()
    body = cove.json(
        f"cluster create {name} --template {world['slow']} --labels slow_seconds=3 --no-wait"
    )
    assert time.monotonic() - started < 3
    assert body["status"] == "CREATE_IN_PROGRESS"
    assert api.settled(name)["status"] == "CREATE_COMPLETE"
    cove(f"cluster delete {name}")


def test_failed_create_exits_1_with_the_reason(cove: Cove, world: dict[str, str]) -> None:
    name = unique("c")
    result = cove(f"cluster create {name} --template {world['broken']}", code=1)
    (line,) = result.error_lines()
    assert line.startswith(f"error: cluster {name} CREATE_FAILED: No driver for cluster type")
    assert "(vm, nodriver-image" not in line and "(vm, nodriver, swarm-mode)" in line
    assert result.stdout == ""
    assert cove.json(f"cluster show {name}")["status"] == "CREATE_FAILED"
    cove(f"cluster delete {name}")


class Lines:
    """A running command's stderr (or stdout), line by line as it comes, with the time of
    each."""

    def __init__(self, proc: subprocess.Popen[str], stream: Any = None) -> None:
        self.proc = proc
        self.stream = stream or proc.stderr
        self.started = time.monotonic()
        self.seen: list[tuple[float, str]] = []
        self._queue: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.stream:
            self._queue.put((time.monotonic() - self.started, line))
        self._queue.put(None)

    def until(self, text: str, timeout: float = 20) -> float:
        """Wait for a line containing ``text``; return when it came (seconds from start)."""
        deadline = time.monotonic() + timeout
        while not any(text in line for _, line in self.seen):
            item = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            assert item is not None, f"stderr closed before {text!r}: {self.text()}"
            self.seen.append(item)
        return next(t for t, line in self.seen if text in line)

    def rest(self) -> str:
        self._reader.join(timeout=10)
        while (item := self._queue.get_nowait() if not self._queue.empty() else None) is not None:
            self.seen.append(item)
        return self.text()

    def text(self) -> str:
        return "".join(line for _, line in self.seen)


def test_ctrl_c_stops_waiting_not_the_create(cove: Cove, api: Api, world: dict[str, str]) -> None:
    name = unique("c")
    with cove.popen(
        f"cluster create {name} --template {world['slow']} --labels slow_seconds=4"
    ) as proc:
        lines = Lines(proc)
        lines.until("Create accepted")
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("cove did not stop waiting on SIGINT")
        assert proc.stdout is not None
        stdout, stderr = proc.stdout.read(), lines.rest()
    assert proc.returncode == 130, stderr
    assert stdout == ""
    assert f"continues. Follow it with `cove cluster show {name}`" in stderr
    assert "Traceback" not in stderr
    # Nothing was cancelled: the create finishes on its own.
    assert api.get(f"clusters/{name}").json()["status"] == "CREATE_IN_PROGRESS"
    assert api.settled(name)["status"] == "CREATE_COMPLETE"
    cove(f"cluster delete {name}")


def test_names_and_uuids_both_work(cove: Cove, cluster: dict[str, Any]) -> None:
    name, uuid = cluster["name"], cluster["uuid"]
    by_name = cove.json(f"cluster show {name}")
    by_uuid = cove.json(f"cluster show {uuid}")
    assert by_name["uuid"] == by_uuid["uuid"] == uuid
    assert cove.json(f"cluster resize {uuid} 2")["node_count"] == 2
    assert cove.json(f"cluster resize {name} 1")["node_count"] == 1
    template = cove.json("template show tpl")
    assert cove.json(f"template show {template['uuid']}")["name"] == "tpl"


def test_list_shows_clusters_with_status(cove: Cove, cluster: dict[str, Any]) -> None:
    rows = [line.split() for line in cove("cluster list").stdout.splitlines()[2:]]
    row = next(r for r in rows if r[1] == cluster["name"])
    assert row[0] == cluster["uuid"]
    assert row[2] == "CREATE_COMPLETE"
    listed = cove.json("cluster list")
    assert cluster["uuid"] in {c["uuid"] for c in listed}


def test_delete_waits_until_gone(cove: Cove, api: Api, world: dict[str, str]) -> None:
    name = unique("c")
    cove(f"cluster create {name} --template {world['template']} -f json")
    result = cove(f"cluster delete {name}")
    assert "Delete accepted." in result.stderr
    assert f"cluster {name} deleted" in result.stderr
    assert api.get(f"clusters/{name}").status_code == 404


def test_delete_several_reports_each_refusal(cove: Cove, api: Api, world: dict[str, str]) -> None:
    name = unique("c")
    cove(f"cluster create {name} --template {world['template']} -f json")
    result = cove(f"cluster delete no-such-cluster {name} --no-wait", code=1)
    assert result.error_lines() == ["error: Cluster no-such-cluster could not be found."]
    assert f"cluster {name}: delete accepted" in result.stderr
    api.gone(name)


def test_resize_and_upgrade_wait_and_print_the_cluster(cove: Cove, cluster: dict[str, Any]) -> None:
    name = cluster["name"]
    resized = cove(f"cluster resize {name} 3 -f json")
    assert resized.json()["node_count"] == 3
    assert "Resize of node group default-worker from 1 to 3 node(s) accepted." in resized.stderr
    assert "Create accepted" not in resized.stderr  # only this operation's events
    cove("template create tpl-v2 --coe swarm-mode --image instant-image -f json", code=None)
    upgraded = cove.json(f"cluster upgrade {name} tpl-v2 --max-batch-size 2")
    assert upgraded["cluster_template_id"] == cove.json("template show tpl-v2")["uuid"]
    assert upgraded["status"] == "UPDATE_COMPLETE"


def test_a_refused_operation_exits_1(cove: Cove, cluster: dict[str, Any]) -> None:
    result = cove(f"cluster resize {cluster['name']} 1 --nodegroup nosuch", code=1)
    assert result.error_lines() == ["error: Nodegroup nosuch could not be found."]


def test_events_and_follow(cove: Cove, cluster: dict[str, Any]) -> None:
    events = cove.json(f"cluster events {cluster['name']}")
    messages = [e["message"] for e in events]
    assert messages[0].startswith("Create accepted")
    assert "create complete." in messages
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    table = cove(f"cluster events {cluster['uuid']}").stdout
    assert "create complete." in table
    # --follow prints what there is, then each new event as it comes, until Ctrl-C.
    with cove.popen(f"cluster events {cluster['name']} --follow -f json") as proc:
        lines = Lines(proc, proc.stdout)
        lines.until("create complete.")
        cove(f"cluster resize {cluster['name']} 2")
        lines.until("resize complete.")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        stdout = lines.rest()
    assert proc.returncode == 130, stdout
    followed = [json.loads(line)["message"] for line in stdout.splitlines()]
    assert followed[: len(messages)] == messages
    assert "resize complete." in followed[len(messages) :]


def test_nodes_lists_masters_and_workers(cove: Cove, cluster: dict[str, Any]) -> None:
    rows = cove.json(f"cluster nodes {cluster['name']}")
    assert [(r["name"], r["role"]) for r in rows] == [
        ("10.0.0.2", "master"),
        ("10.1.0.2", "worker"),
    ]
    table = cove(f"cluster nodes {cluster['name']}").stdout.splitlines()
    assert table[0].split() == ["name", "role", "ready", "reason"]


def test_nodegroups_create_list_update_delete(cove: Cove, cluster: dict[str, Any]) -> None:
    name = cluster["name"]
    created = cove(f"nodegroup create {name} extra --node-count 2 --max-nodes 4 -f json")
    assert created.json()["name"] == "extra"
    assert created.json()["node_count"] == 2
    assert "Node group extra (2 node(s)) accepted." in created.stderr
    listed = cove(f"nodegroup list {name}").stdout
    assert {"default-master", "default-worker", "extra"} <= {
        line.split()[1] for line in listed.splitlines()[2:]
    }
    group = cove.json(f"nodegroup show {name} extra")
    assert cove.json(f"nodegroup show {cluster['uuid']} {group['uuid']}")["name"] == "extra"
    updated = cove.json(f"nodegroup update {name} extra --set max_node_count=5")
    assert updated["max_node_count"] == 5
    deleted = cove(f"nodegroup delete {name} extra")
    assert "delete-nodegroup complete." in deleted.stderr
    cove(f"nodegroup show {name} extra", code=1)


def test_driver_progress_shows_while_the_create_runs(cove: Cove, world: dict[str, str]) -> None:
    name = unique("c")
    command = f"cluster create {name} --template {world['slow']} --labels slow_seconds=3"
    with cove.popen(command) as proc:
        lines = Lines(proc)
        try:
            half = lines.until("slow: half of the nodes are up")
            done = lines.until("create complete.")
            assert done - half > 1, lines.text()
        finally:
            proc.wait(timeout=20)
            lines.rest()
            cove(f"cluster delete {name}")


def test_delete_ends_as_soon_as_the_cluster_is_gone(cove: Cove, world: dict[str, str]) -> None:
    name = unique("c")
    labels = "slow_seconds=0,slow_delete_seconds=1"
    cove(f"cluster create {name} --template {world['slow']} --labels {labels} -f json")
    try:
        result = cove(f"cluster delete {name}", timeout=8)
    except subprocess.TimeoutExpired:
        pytest.fail("cluster delete did not return within 8 s of a 1 s delete")
    assert f"cluster {name} deleted" in result.stderr
