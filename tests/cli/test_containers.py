"""``cove containers``: container clusters on a cove cluster's nodes through the clustering
API, as a user sees them (stdout, stderr, exit codes). The ``cove serve`` of the suite runs
the actions in its conductor, on the instant driver's in-memory engines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import Cove, Result, unique
from tests.cli.test_clusters import Lines

SENLIN = {"OpenStack-API-Version": "clustering 1.14"}


def senlin(cove: Cove, path: str) -> httpx.Response:
    """A direct read of the clustering API, to check what the CLI did."""
    return httpx.get(f"{cove.url}/clustering/v1/{path}", headers=SENLIN, timeout=10)


@pytest.fixture(scope="module")
def host(cove: Cove, world: dict[str, str]) -> str:
    """A cove cluster (1 manager, 2 workers) to place containers on."""
    name = unique("host")
    cove(f"cluster create {name} --template {world['template']} --node-count 2")
    return name


@pytest.fixture
def profile(cove: Cove, host: str) -> str:
    name = unique("web")
    cove(f"containers profile create {name} --image nginx:alpine --host-cluster {host}")
    return name


def member_statuses(body: dict[str, Any]) -> list[str]:
    return [m["status"] for m in body["members"]]


def test_profile_create_from_flags_stores_the_spec(cove: Cove, host: str) -> None:
    name = unique("p")
    flags = (
        f"--image nginx:alpine --host-cluster {host} --command 'nginx -g \"daemon off;\"' "
        "--env A=1 --env B=x=y --port 80 --port 8443:443 --port 53/udp "
        "--volume data:/data --volume /etc/hosts:/etc/hosts:ro --cpu 0.5 --memory 256 "
        "--restart-policy always --health-cmd 'wget -q -O- localhost' --label team=web"
    )
    shown = cove.json(f"containers profile create {name} {flags}")
    stored = senlin(cove, f"profiles/{shown['id']}").json()["profile"]
    assert stored["type"] == "container.dockerinc.docker-1.0"
    assert stored["spec"]["properties"] == {
        "image": "nginx:alpine",
        "host_cluster": host,
        "command": 'nginx -g "daemon off;"',
        "restart_policy": "always",
        "env": {"A": "1", "B": "x=y"},
        "ports": [
            {"container_port": 80, "protocol": "tcp"},
            {"container_port": 443, "published_port": 8443, "protocol": "tcp"},
            {"container_port": 53, "protocol": "udp"},
        ],
        "volumes": [
            {"source": "data", "target": "/data", "read_only": False},
            {"source": "/etc/hosts", "target": "/etc/hosts", "read_only": True},
        ],
        "resources": {"cpu": 0.5, "memory": 256},
        "health_check": {"test": "wget -q -O- localhost"},
        "labels": {"team": "web"},
    }
    assert name in cove(f"containers profile show {name}").fields()["name"]
    assert name in [p["name"] for p in cove.json("containers profile list")]
    cove(f"containers profile delete {name}")
    assert senlin(cove, f"profiles/{shown['id']}").status_code == 404


def test_profile_from_a_spec_file(cove: Cove, host: str, tmp_path: Path) -> None:
    spec = tmp_path / "web.yaml"
    spec.write_text(
        "type: container.dockerinc.docker\nversion: 1.0\n"
        f"properties:\n  image: busybox\n  host_cluster: {host}\n  command: sleep 1000\n"
    )
    name = unique("p")
    body = cove.json(f"containers profile create {name} --spec-file {spec}")
    assert body["spec"]["properties"]["command"] == "sleep 1000"
    result = cove(f"containers profile create x --spec-file {spec} --image busybox", code=2)
    assert "--spec-file cannot be combined with --image" in result.stderr


def test_bad_profile_input_is_a_clear_error_and_nothing_is_made(cove: Cove, host: str) -> None:
    name = unique("p")
    result = cove(
        f"containers profile create {name} --image nginx:alpine --host-cluster {host} --port abc",
        code=2,
    )
    assert "Invalid value for --port: 'abc' is not [PUBLISHED:]CONTAINER" in result.stderr
    assert result.stdout == ""
    result = cove(f"containers profile create {name} --image nginx:alpine", code=2)
    assert "--host-cluster" in result.stderr
    # What the API refuses: one error: line, exit 1.
    result = cove(
        f"containers profile create {name} --image nginx:alpine --host-cluster nosuch", code=1
    )
    (line,) = result.error_lines()
    assert "nosuch" in line
    assert name not in [p["name"] for p in cove.json("containers profile list")]


def test_create_waits_and_prints_an_active_cluster_with_its_members(
    cove: Cove, profile: str
) -> None:
    name = unique("cc")
    result = cove(f"containers create {name} --profile {profile} --size 3")
    cluster, members = result.stdout.split("\n\n", 1)
    fields = Result(result.argv, 0, cluster, "").fields()
    assert fields["name"] == name and fields["status"] == "ACTIVE"
    assert fields["desired_capacity"] == "3" and fields["profile_name"] == profile
    assert members.splitlines()[0].split() == ["name", "status", "host_node", "container"]
    rows = [line.split() for line in members.splitlines()[2:]]
    assert len(rows) == 3
    assert {row[1] for row in rows} == {"ACTIVE"}
    assert all(row[2].startswith("cove-") for row in rows)  # the host node
    err = result.stderr
    assert f"cluster {name} (" in err and "create accepted" in err
    assert err.count(" ACTIVE cove-") == 3  # each member as it became ACTIVE, and where
    assert err.rstrip().splitlines()[-1].startswith("CLUSTER_CREATE SUCCEEDED")
    cove(f"containers delete {name}")


def test_json_output_parses_with_members(cove: Cove, profile: str) -> None:
    name = unique("cc")
    body = cove.json(f"containers create {name} --profile {profile} --size 2 --max 4")
    assert body["status"] == "ACTIVE" and body["max_size"] == 4
    assert member_statuses(body) == ["ACTIVE", "ACTIVE"]
    assert all(m["host_node"] and m["container"] for m in body["members"])
    assert cove.json(f"containers show {name}")["id"] == body["id"]
    assert name in [c["name"] for c in cove.json("containers list")]
    assert cove(f"containers show {body['id'][:8]} -f yaml").yaml()["name"] == name  # short id
    cove(f"containers delete {name}")


def test_scale_out_and_in_change_the_member_count(cove: Cove, profile: str) -> None:
    name = unique("cc")
    cove(f"containers create {name} --profile {profile} --size 1")
    out = cove(f"containers scale-out {name} --count 2 -f json")
    assert len(out.json()["members"]) == 3 and out.json()["desired_capacity"] == 3
    assert out.stderr.count(" ACTIVE cove-") == 2  # only the new members are shown
    into = cove(f"containers scale-in {name} -f json")
    assert len(into.json()["members"]) == 2
    assert into.stderr.count(" removed") == 1
    assert len(senlin(cove, f"nodes?cluster_id={out.json()['id']}").json()["nodes"]) == 2
    cove(f"containers delete {name}")


def test_resize_by_capacity_adjustment_and_percentage(cove: Cove, profile: str) -> None:
    name = unique("cc")
    cove(f"containers create {name} --profile {profile} --size 2 --max 5")
    assert cove.json(f"containers resize {name} --capacity 4")["desired_capacity"] == 4
    assert cove.json(f"containers resize {name} --adjust -1")["desired_capacity"] == 3
    body = cove.json(f"containers resize {name} --percent 50 --min-step 1 --max 8")
    assert body["desired_capacity"] == 4 and body["max_size"] == 8
    refused = cove(f"containers resize {name} --capacity 9", code=1)
    (line,) = refused.error_lines()
    assert "max_size (8)" in line
    assert (
        "one of --capacity"
        in cove(f"containers resize {name} --capacity 1 --adjust 1", code=2).stderr
    )
    cove(f"containers delete {name}")


def test_a_failing_action_exits_1_with_its_reason(cove: Cove, host: str) -> None:
    profile, name = unique("bad"), unique("cc")
    cove(f"containers profile create {profile} --image nosuch:1 --host-cluster {host}")
    result = cove(f"containers create {name} --profile {profile} --size 1", code=1)
    (line,) = result.error_lines()
    assert line.startswith("error: CLUSTER_CREATE FAILED: ")
    assert "image nosuch:1 is not available" in line
    assert result.stdout == ""
    assert " ERROR cove-" in result.stderr  # the member, as it failed
    assert cove.json(f"containers show {name}")["status"] == "ERROR"
    cove(f"containers delete {name}")


def test_an_unknown_profile_is_an_error_and_nothing_is_created(cove: Cove) -> None:
    name = unique("cc")
    result = cove(f"containers create {name} --profile nosuch", code=1)
    assert result.error_lines() == ["error: The profile 'nosuch' could not be found."]
    assert name not in [c["name"] for c in cove.json("containers list")]
    assert cove(f"containers show {name}", code=1).error_lines()


def test_no_wait_returns_once_accepted(cove: Cove, profile: str) -> None:
    name = unique("cc")
    result = cove(f"containers create {name} --profile {profile} --size 1 --no-wait -f json")
    assert result.json()["name"] == name
    assert "create accepted" in result.stderr and "SUCCEEDED" not in result.stderr
    cove(f"containers delete {name}")  # waits for the create first: one action at a time


def test_nodes_show_where_each_member_runs(cove: Cove, profile: str, host: str) -> None:
    name = unique("cc")
    cove(f"containers create {name} --profile {profile} --size 2")
    rows = cove.json(f"containers nodes {name}")
    nodes = httpx.get(f"{cove.url}/v1/clusters/{host}/nodes", timeout=10).json()["nodes"]
    host_nodes = {n["name"]: n["address"] for n in nodes}
    assert len(rows) == 2
    for row in rows:
        assert row["status"] == "ACTIVE" and row["physical_id"]
        assert row["address"] and row["address"] == host_nodes[row["host_node"]]
    table = cove(f"containers nodes {name}").stdout.splitlines()
    assert table[0].split() == ["name", "status", "host_node", "address", "physical_id"]
    cove(f"containers delete {name}")


def test_delete_waits_until_gone(cove: Cove, profile: str) -> None:
    name = unique("cc")
    uuid = cove.json(f"containers create {name} --profile {profile} --size 2")["id"]
    result = cove(f"containers delete {name}")
    assert "delete accepted" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("CLUSTER_DELETE SUCCEEDED")
    assert senlin(cove, f"clusters/{uuid}").status_code == 404
    result = cove(f"containers delete {name}", code=1)
    assert result.error_lines() == [f"error: The cluster '{name}' could not be found."]


def test_policies_attach_and_detach(cove: Cove, profile: str, tmp_path: Path) -> None:
    spec = tmp_path / "scale-in.yaml"
    spec.write_text(
        "type: senlin.policy.scaling\nversion: 1.0\nproperties:\n  event: CLUSTER_SCALE_IN\n"
        "  adjustment:\n    type: CHANGE_IN_CAPACITY\n    number: 2\n"
    )
    policy, name = unique("pol"), unique("cc")
    made = cove.json(f"containers policy create {policy} --spec-file {spec}")
    assert made["type"] == "senlin.policy.scaling-1.0"
    assert policy in [p["name"] for p in cove.json("containers policy list")]
    cove(f"containers create {name} --profile {profile} --size 3")
    attached = cove.json(f"containers policy attach {name} {policy}")
    assert attached["policies"] == [made["id"]]
    assert len(cove.json(f"containers scale-in {name}")["members"]) == 1  # by the policy
    refused = cove(f"containers policy delete {policy}", code=1)
    assert refused.error_lines()
    assert cove.json(f"containers policy detach {name} {policy}")["policies"] == []
    cove(f"containers policy delete {policy}")
    cove(f"containers delete {name}")


def test_a_webhook_prints_its_url_which_scales_out(cove: Cove, profile: str) -> None:
    name, hook = unique("cc"), unique("hook")
    cove(f"containers create {name} --profile {profile} --size 1")
    url = cove(
        f"containers webhook create {hook} --cluster {name} --action CLUSTER_SCALE_OUT "
        "--param count=2"
    ).stdout.strip()
    assert url.startswith(f"{cove.url}/clustering/v1/webhooks/") and url.endswith("?V=2")
    listed = [w for w in cove.json("containers webhook list") if w["name"] == hook]
    assert listed and listed[0]["params"] == {"count": "2"}
    assert url.split("/webhooks/")[1].split("/")[0] not in str(listed), "no secret listed"
    triggered = httpx.post(url, timeout=10)
    assert triggered.status_code == 202
    action = triggered.json()["action"]
    actions = cove.json(f"containers actions {name}")
    assert [a["action"] for a in actions][:1] == ["CLUSTER_CREATE"]
    assert action in [a["id"] for a in actions]
    cove(f"containers webhook delete {hook}")
    assert hook not in [w["name"] for w in cove.json("containers webhook list")]
    cove(f"containers delete {name}")


def test_events_of_a_cluster(cove: Cove, profile: str) -> None:
    name = unique("cc")
    cove(f"containers create {name} --profile {profile} --size 1")
    found = cove.json(f"containers events {name}")
    assert {e["otype"] for e in found} >= {"CLUSTER", "NODE"}
    assert all(e["cluster_id"] for e in found)
    lines = cove(f"containers events {name}").stdout.splitlines()
    assert lines[0].split() == ["timestamp", "otype", "oname", "action", "status", "status_reason"]
    cove(f"containers delete {name}")


def test_help_says_what_it_is(cove: Cove) -> None:
    assert "\n  containers " in cove("--help").stdout
    out = cove("containers --help").stdout
    assert "clustering API" in out and "openstack cluster" in out
    for command in ("create", "scale-out", "resize", "profile", "policy", "webhook", "events"):
        assert f"\n  {command} " in out


def test_events_follow_prints_as_they_come_and_ends_with_the_cluster(
    cove: Cove, profile: str
) -> None:
    name = unique("cc")
    cove(f"containers create {name} --profile {profile} --size 1")
    with cove.popen(f"containers events {name} --follow -f json") as proc:
        assert proc.stdout is not None
        lines = Lines(proc, proc.stdout)
        lines.until('"CLUSTER_CREATE"')
        cove(f"containers scale-out {name}")
        lines.until('"CLUSTER_SCALE_OUT"')
        cove(f"containers delete {name}")
        proc.wait(timeout=20)
        assert proc.stderr is not None
        assert f"cluster {name} no longer exists" in proc.stderr.read()
    followed = [json.loads(line) for line in lines.rest().splitlines()]
    assert "CLUSTER_DELETE" in [e["action"] for e in followed]
    assert proc.returncode == 0


def test_container_cluster_names_complete(cove: Cove, profile: str) -> None:
    name = unique("cc")
    cove(f"containers create {name} --profile {profile} --size 1 --no-wait")
    env = {
        "_COVE_COMPLETE": "bash_complete",
        "COMP_WORDS": f"cove containers show {name[:5]}",
        "COMP_CWORD": "3",
    }
    assert f"plain,{name}" in cove([], env=env).stdout.splitlines()
    env["COMP_WORDS"] = f"cove containers create x --profile {profile[:5]}"
    env["COMP_CWORD"] = "5"
    assert f"plain,{profile}" in cove([], env=env).stdout.splitlines()
    cove(f"containers delete {name}")
