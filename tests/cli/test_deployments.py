"""``cove deployment``: the real command against a real ``cove serve`` whose ``slow`` driver
runs deployments on a staged in-memory orchestrator (services start over two looks of the
conductor, an ``exit N`` task fails): following live until ready, endpoints, failures with
the reason and last log lines, secrets never shown, bad input refused before anything is
made, Ctrl-C, events, undeploy."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Api, Cove, unique
from tests.cli.test_clusters import Lines

DEFINITION = """
name: kvapp
variables:
  greeting: {default: hello}
  token: {secret: true}
services:
  kv:
    image: cove/app-etcd
    command: [etcd]
    mode: global
    ports: [{container: 2379, published: 2379}]
    health_check: {test: [etcdctl, endpoint, health]}
  reader:
    image: cove/app-etcd
    command: "sleep 3600"
    requires: [{task: seed}]
tasks:
  seed:
    image: cove/app-etcd
    command: "etcdctl put greeting {{ greeting }}"
    requires: [{service: kv}]
    config_files: [{template: token, dest: /etc/token, secret: true}]
templates:
  token: "{{ token }}"
"""
SECRET = "tok-3fa9c2-never-shown"


@pytest.fixture(scope="module")
def cluster(cove: Cove, world: dict[str, str]) -> Any:
    """A cluster of the slow driver (made at once), with two nodes for the deployments."""
    name = unique("apps")
    made = cove.json(f"cluster create {name} --template {world['slow']} --labels slow_seconds=0")
    yield made
    cove(f"cluster delete {made['uuid']} --no-wait", code=None)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "app.yaml").write_text(DEFINITION)
    (tmp_path / "token").write_text(SECRET + "\n")
    (tmp_path / "bad.yaml").write_text(DEFINITION.replace("{task: seed}", "{task: sed}"))
    (tmp_path / "failing.yaml").write_text(
        DEFINITION.replace("etcdctl put greeting {{ greeting }}", "migrate; exit 3")
    )
    return {p.stem: p for p in tmp_path.iterdir()}


def create(cove: Cove, cluster: Any, name: str, path: Path, extra: str = "", **kw: Any) -> Any:
    return cove(
        f"deployment create {cluster['name']} {name} --file {path} "
        f"--secret token=@{path.parent / 'token'} {extra}",
        **kw,
    )


def test_create_follows_every_element_until_ready_then_shows_the_endpoints(
    cove: Cove, cluster: Any, files: dict[str, Path]
) -> None:
    name = unique("d")
    result = create(cove, cluster, name, files["app"], "--set greeting=hi")
    fields = result.fields()
    assert fields["status"] == "CREATE_COMPLETE"
    assert fields["services"] == "kv\nreader" and fields["tasks"] == "seed"
    assert "kv: ready (2/2 running and healthy)" in fields["progress"]
    err = result.stderr
    assert f"deployment {name} (" in err and "deploy accepted" in err
    assert "Deploy accepted: 2 service(s), 1 task(s)." in err
    # Each element's way to ready, as the conductor saw it, and the count of those done.
    assert err.index("kv: starting (0/2 running and healthy)") < err.index(
        f"{name}: CREATE_IN_PROGRESS, 1/4 ready"
    )
    assert err.index("kv: ready (2/2 running and healthy)") > err.index("kv: starting")
    assert "seed: done" in err
    assert f"{name}: CREATE_COMPLETE, 4/4 ready" in err
    lines = err.rstrip().splitlines()
    done = next(i for i, line in enumerate(lines) if line.startswith(f"deployment {name} CREATE_"))
    assert lines[done].startswith(f"deployment {name} CREATE_COMPLETE (")
    nodes = cluster["master_addresses"] + cluster["node_addresses"]
    addresses = " ".join(f"{a}:2379" for a in nodes)
    assert lines[done + 1 :] == ["endpoints:", f"  kv 2379/tcp {addresses}"]
    shown = cove.json(f"deployment show {cluster['uuid']} {name}")
    assert shown["values"] == {"greeting": "hi"} and shown["secret_values"] == ["token"]
    rows = cove.json(f"deployment endpoints {cluster['name']} {name}")
    assert rows == [
        {
            "service": "kv",
            "port": 2379,
            "protocol": "tcp",
            "where": "running it",
            "addresses": addresses.split(),
        }
    ]
    cove(f"deployment delete {cluster['name']} {name} --no-wait")


def test_a_secret_is_never_shown(cove: Cove, cluster: Any, files: dict[str, Path]) -> None:
    name = unique("d")
    results = [create(cove, cluster, name, files["app"], "-f json")]
    for command in ("show", "events", "list"):
        args = name if command != "list" else ""
        results.append(cove(f"deployment {command} {cluster['name']} {args} -f yaml"))
    results.append(cove(f"deployment delete {cluster['name']} {name}"))
    for result in results:
        assert SECRET not in result.stdout + result.stderr, result.describe()
    assert results[0].json()["secret_values"] == ["token"]


def test_a_failing_task_fails_the_command_with_its_exit_code_and_last_lines(
    cove: Cove, cluster: Any, files: dict[str, Path]
) -> None:
    name = unique("d")
    result = create(cove, cluster, name, files["failing"], code=1)
    assert result.stdout == ""
    (line,) = result.error_lines()
    assert line == (
        f"error: deployment {name} CREATE_FAILED: seed: failed 1 time(s) (exit 3): "
        "task: non-zero exit (3); last lines: migrating the schema | ERROR: relation exists"
    )
    # The event as it came, then the elements not ready: the failed task first in mind.
    assert (
        "warning: cove-store: starting (0/1 running and healthy); kv: starting (0/2 running "
        "and healthy); reader: starting (0/1 running); seed: failed (failed 1 time(s) (exit 3): "
        "task: non-zero exit (3))"
    ) in result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stderr.splitlines()
            if line.startswith("  ")}  # fmt: skip
    assert rows == {"cove-store": "starting", "kv": "starting", "reader": "starting",
                    "seed": "failed"}  # fmt: skip
    cove(f"deployment delete {cluster['name']} {name}")


def test_bad_input_is_refused_before_anything_is_made(
    cove: Cove, cluster: Any, files: dict[str, Path]
) -> None:
    name = unique("d")
    result = create(cove, cluster, name, files["bad"], code=1)
    assert result.error_lines() == [
        "error: Invalid deployment definition: services.reader.requires[0]: task 'sed' is not "
        "defined; defined: seed"
    ]
    assert name not in {d["name"] for d in cove.json(f"deployment list {cluster['name']}")}
    base = f"deployment create {cluster['name']} {name}"
    usage = cove(f"{base} --file {files['app']} --set x", code=2)
    assert "'x' is not NAME=VALUE" in usage.stderr
    missing = cove(f"{base} --file /nonexistent", code=2)
    assert "cannot read /nonexistent" in missing.stderr
    unknown = cove(f"deployment show {cluster['name']} nosuch", code=1)
    assert unknown.error_lines() == ["error: Deployment nosuch could not be found."]


def test_no_wait_returns_at_once_and_events_follow_it(
    cove: Cove, cluster: Any, files: dict[str, Path], api: Api
) -> None:
    name = unique("d")
    body = create(cove, cluster, name, files["app"], "--no-wait -f json").json()
    assert body["status"] == "CREATE_IN_PROGRESS"
    with cove.popen(f"deployment events {cluster['name']} {name} --follow") as proc:
        lines = Lines(proc, proc.stdout)
        lines.until("deploy complete.", timeout=30)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    text = lines.text()
    assert "Deploy accepted" in text and "kv: ready" in text
    assert cove.json(f"deployment show {cluster['name']} {name}")["status"] == "CREATE_COMPLETE"
    cove(f"deployment delete {cluster['name']} {name}")


def test_ctrl_c_stops_the_waiting_not_the_deploy(
    cove: Cove, cluster: Any, files: dict[str, Path], api: Api
) -> None:
    name = unique("d")
    with cove.popen(
        f"deployment create {cluster['name']} {name} --file {files['app']} "
        f"--secret token=@{files['token']}"
    ) as proc:
        lines = Lines(proc)
        lines.until("Deploy accepted")
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("cove did not stop waiting on SIGINT")
        stderr = lines.rest()
    assert proc.returncode == 130, stderr
    assert (
        f"continues. Follow it with `cove deployment events {cluster['uuid']} {name} --follow`"
        in stderr
    )
    assert "Traceback" not in stderr
    follow = cove(f"deployment events {cluster['name']} {name} -f json").json()
    assert follow[0]["message"].startswith("Deploy accepted")
    deadline = time.monotonic() + 20
    while cove.json(f"deployment show {cluster['name']} {name}")["status"] != "CREATE_COMPLETE":
        assert time.monotonic() < deadline, "the deploy did not go on"
        time.sleep(0.2)
    cove(f"deployment delete {cluster['name']} {name}")


def test_delete_waits_until_gone(cove: Cove, cluster: Any, files: dict[str, Path]) -> None:
    name = unique("d")
    create(cove, cluster, name, files["app"], "-f json")
    listed = cove(f"deployment list {cluster['name']}").stdout
    assert name in listed and "CREATE_COMPLETE" in listed
    result = cove(f"deployment delete {cluster['name']} {name} nosuch", code=1)
    # The undeploy's own events may be gone with the deployment before the first read (the
    # in-memory orchestrator removes at once): the CLI's lines are what the user always sees.
    assert f"deployment {name}: delete accepted" in result.stderr
    assert f"deployment {name} deleted (" in result.stderr
    assert result.error_lines() == ["error: Deployment nosuch could not be found."]
    cove(f"deployment show {cluster['name']} {name}", code=1)


def test_update_changes_values_and_follows_only_the_update(
    cove: Cove, cluster: Any, files: dict[str, Path]
) -> None:
    name = unique("d")
    create(cove, cluster, name, files["app"], "-f json")
    result = cove(f"deployment update {cluster['name']} {name} --set greeting=bonjour")
    fields = result.fields()
    assert fields["status"] == "UPDATE_COMPLETE"
    assert fields["values"] == "greeting=bonjour"
    assert fields["secret_values"] == "token"  # kept, not shown
    assert "Deploy accepted" not in result.stderr
    assert f"deployment {name} UPDATE_COMPLETE (" in result.stderr
    assert "endpoints:" in result.stderr
    refused = cove(f"deployment update {cluster['name']} {name} --set nope=1", code=1)
    [line] = refused.error_lines()
    assert "values.nope" in line, line
    cove(f"deployment delete {cluster['name']} {name}")
