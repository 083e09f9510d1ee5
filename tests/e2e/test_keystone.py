"""The issue's proof, Kolla's own job: the catalog's keystone package installed from nothing
on a real swarm-mode cluster, from images cove builds out of Debian packages (MariaDB,
memcached, keystone). Every container is started at once and gates itself on the
deployment's etcd; the one-time tasks (database creation, ``keystone-manage db_sync`` and
``bootstrap``) run exactly once, also when db_sync's container is killed mid-run; then the
real ``openstack token issue`` gets a token from the keystone cove deployed. A killed
MariaDB container comes back, registers again and keystone keeps issuing tokens; the
undeploy leaves nothing while another deployment on the cluster is untouched."""

from __future__ import annotations

import base64
import http.client
import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import docker, until
from tests.e2e.test_deployments import DEFINITION, api, services
from tests.e2e.test_swarm_cluster import CREATE_TIMEOUT, IMAGE, Cove

pytestmark = pytest.mark.e2e

TEMPLATE_MEDIUM = "swarm-medium"
ADMIN_PASSWORD = "e2e-admin-password"
PORT = 5000
INSTALL_TIMEOUT = 420.0
ELEMENTS = (
    "cove-store", "mariadb", "memcached", "keystone",
    "keystone-db-create", "keystone-db-sync", "keystone-bootstrap",
)  # fmt: skip
TASKS = ("keystone-db-create", "keystone-db-sync", "keystone-bootstrap")


@pytest.fixture(scope="module")
def cluster(cove: Cove, app_images: None) -> str:
    # m1.medium: a node keeps its images in a tmpfs counted against its memory, and four
    # app images (about 1.2 GB) do not fit beside the engine in m1.small's 2 GiB.
    cove.osc(
        f"coe cluster template create {TEMPLATE_MEDIUM} --coe swarm-mode --image {IMAGE} "
        "--external-network public --flavor m1.medium --master-flavor m1.medium"
    )
    doc = cove.create("keystone", TEMPLATE_MEDIUM, 1, 2)
    cove.wait_status(doc["uuid"], "CREATE_COMPLETE", CREATE_TIMEOUT)
    return str(doc["uuid"])


def _nodes(cluster: str) -> list[str]:
    return docker("ps", "--format", "{{.Names}}", "--filter", f"name=cove-{cluster[:8]}-").split()


def _address(node: str) -> str:
    return docker(
        "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", node
    ).split()[0]


class EngineEvents:
    """Container start and die events of every node of a cluster, streamed from their
    engines from now on (``docker events`` on each node, one reader thread each)."""

    def __init__(self, nodes: list[str]) -> None:
        self.seen: list[dict[str, Any]] = []
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        argv = ["docker", "events", "--filter", "type=container", "--filter", "event=start",
                "--filter", "event=die", "--format", "{{json .}}"]  # fmt: skip
        self.procs = [
            subprocess.Popen(["docker", "exec", node, *argv], stdout=subprocess.PIPE, text=True)
            for node in nodes
        ]
        for node, proc in zip(nodes, self.procs, strict=True):
            threading.Thread(target=self._read, args=(node, proc), daemon=True).start()

    def _read(self, node: str, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            raw = json.loads(line)
            attributes = raw.get("Actor", {}).get("Attributes", {})
            self.queue.put({
                "node": node,
                "at": int(raw["timeNano"]),
                "action": raw["Action"],
                "id": raw["Actor"]["ID"],
                "service": attributes.get("com.docker.swarm.service.name", ""),
                "exit": attributes.get("exitCode"),
            })  # fmt: skip

    def next(self, timeout: float) -> dict[str, Any] | None:
        try:
            event = self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
        self.seen.append(event)
        return event

    def wait_for(self, match: Any, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.next(max(0.0, deadline - time.monotonic()))
            if event and match(event):
                return event
        pytest.fail(f"{what}: no such engine event within {timeout:.0f} s")

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.next(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


@pytest.fixture(scope="module")
def installed(cove: Cove, cluster: str) -> Iterator[dict[str, Any]]:
    """The package installed while the nodes' engine events are recorded; db_sync's
    container is killed once its gate says it runs the task."""
    nodes = _nodes(cluster)
    events = EngineEvents(nodes)
    try:
        time.sleep(0.5)  # the event streams are attached before anything is made
        r = api(cove, "POST", f"/v1/clusters/{cluster}/deployments", json={
            "name": "identity", "package": "keystone",
            "options": {"admin_password": ADMIN_PASSWORD, "public_port": PORT},
        })  # fmt: skip
        assert r.status_code == 202, r.text
        doc = r.json()
        prefix = f"cove-{doc['uuid'][:8]}-"
        sync = events.wait_for(
            lambda e: e["action"] == "start" and e["service"] == f"{prefix}keystone-db-sync",
            INSTALL_TIMEOUT,
            "db_sync's container started",
        )
        _follow_until(sync["node"], sync["id"], "running task keystone-db-sync")
        docker("exec", sync["node"], "docker", "kill", sync["id"])
        doc = _settled(cove, cluster, "identity", events)
        doc["events"] = [e for e in events.seen if e["service"].startswith(prefix)]
        doc["killed"] = sync["id"]
        yield doc
    finally:
        events.close()


def _follow_until(node: str, container: str, line: str, timeout: float = 300.0) -> None:
    """Returns once ``container``'s log shows ``line`` (``docker logs -f``: no polling)."""
    proc = subprocess.Popen(
        ["docker", "exec", node, "docker", "logs", "-f", container],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        assert proc.stdout is not None
        for text in proc.stdout:
            if line in text:
                return
            if time.monotonic() > deadline:
                break
        pytest.fail(f"{container} never said {line!r}")
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _settled(cove: Cove, cluster: str, name: str, events: EngineEvents) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def done() -> dict[str, Any] | None:
        events.drain(1.0)  # keeps the streams read while waiting
        seen.update(api(cove, "GET", f"/v1/clusters/{cluster}/deployments/{name}").json())
        return seen if not seen["status"].endswith("_IN_PROGRESS") else None

    doc = until(done, INSTALL_TIMEOUT, f"deployment {name} settled")
    if doc["status"] != "CREATE_COMPLETE":
        progress = json.dumps(doc["progress"], indent=1)
        pytest.fail(f"{doc['status']}: {doc['status_reason']}\n{progress}")
    return doc


def _token(address: str, osc: Path, password: str = ADMIN_PASSWORD) -> dict[str, Any]:
    result = subprocess.run(
        [str(osc), "--os-auth-type", "password", "--os-auth-url", f"http://{address}:{PORT}/v3",
         "--os-identity-api-version", "3", "--os-username", "admin", "--os-password", password,
         "--os-project-name", "admin", "--os-user-domain-name", "Default",
         "--os-project-domain-name", "Default", "token", "issue", "-f", "json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _store(cluster: str, uuid: str, path: str) -> dict[str, Any]:
    """The deployment's keys under ``path`` in its etcd, read in the store's container."""
    for node in _nodes(cluster):
        cid = docker(
            "exec", node, "docker", "ps", "-q", "--filter",
            f"label=com.docker.swarm.service.name=cove-{uuid[:8]}-cove-store",
        )  # fmt: skip
        if cid:
            out = docker(
                "exec", node, "docker", "exec", cid.split()[0], "etcdctl", "get",
                "--prefix", f"/cove/{uuid}/{path}", "-w", "json",
            )  # fmt: skip
            kvs = json.loads(out).get("kvs") or []
            return {
                base64.b64decode(kv["key"]).decode(): json.loads(base64.b64decode(kv["value"]))
                for kv in kvs
            }
    pytest.fail("no running store container")


def test_everything_is_started_before_the_first_task_is_done(installed: dict[str, Any]) -> None:
    assert {k: v["state"] for k, v in installed["progress"].items()} == {
        name: "done" if name in TASKS else "ready" for name in ELEMENTS
    }
    prefix = f"cove-{installed['uuid'][:8]}-"
    events = installed["events"]
    first_start: dict[str, int] = {}
    for e in events:
        if e["action"] == "start":
            first_start.setdefault(e["service"].removeprefix(prefix), e["at"])
    assert set(first_start) == set(ELEMENTS), first_start
    created = next(
        e["at"] for e in events
        if e["action"] == "die" and e["exit"] == "0"
        and e["service"] == f"{prefix}keystone-db-create"
    )  # fmt: skip
    # Every container, keystone's API and the last task included, was running (waiting at
    # its gate) before the first task had done its work: nothing was started in order.
    late = {k: v for k, v in first_start.items() if v > created}
    assert late == {}, late
    assert max(first_start.values()) - min(first_start.values()) < 15e9


def test_the_tasks_ran_exactly_once_even_with_one_killed_mid_run(
    installed: dict[str, Any], cluster: str
) -> None:
    prefix = f"cove-{installed['uuid'][:8]}-"
    done = _store(cluster, installed["uuid"], "tasks/")
    assert sorted(k.rsplit("/", 2)[1] for k in done if k.endswith("/done")) == sorted(TASKS)
    ended: dict[str, list[str]] = {}
    for e in installed["events"]:
        if e["action"] == "die":
            ended.setdefault(e["service"].removeprefix(prefix), []).append(e["exit"])
    assert ended["keystone-db-sync"] == ["137", "0"], ended  # killed, then run to the end
    assert ended["keystone-db-create"] == ["0"] and ended["keystone-bootstrap"] == ["0"], ended


def _keystone_address(cluster: str, uuid: str) -> str:
    """The address of the node keystone's API runs on: its port is published there (host
    mode: the routing mesh needs IPVS, which these machines' kernels lack)."""
    service = f"label=com.docker.swarm.service.name=cove-{uuid[:8]}-keystone"
    for node in _nodes(cluster):
        if docker("exec", node, "docker", "ps", "-q", "--filter", service):
            return _address(node)
    pytest.fail("no node runs keystone's API")


def test_openstack_token_issue_against_the_deployed_keystone(
    installed: dict[str, Any], cluster: str, osc_binary: Path
) -> None:
    address = _keystone_address(cluster, installed["uuid"])
    token = _token(address, osc_binary)
    assert token["project_id"] and token["user_id"] and len(token["id"]) > 100
    # A client that keeps its connection (keystonemiddleware does) gets every answer.
    body = json.dumps({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
    }})  # fmt: skip
    connection = http.client.HTTPConnection(address, PORT, timeout=30)
    statuses = []
    for _ in range(3):
        connection.request("POST", "/v3/auth/tokens", body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        statuses.append(answer.status)
    connection.close()
    assert statuses == [201, 201, 201]
    view = json.dumps(installed)
    assert ADMIN_PASSWORD not in view
    assert installed["secret_values"] == sorted(
        ["admin_password", "credential_key", "db_password", "db_root_password",
         "fernet_primary", "fernet_staged"]
    )  # fmt: skip


def test_a_killed_database_comes_back_and_keystone_keeps_working(
    installed: dict[str, Any], cluster: str, osc_binary: Path
) -> None:
    uuid = installed["uuid"]
    before = _store(cluster, uuid, "services/mariadb/")
    assert [v["state"] for v in before.values()] == ["healthy"]
    service = f"label=com.docker.swarm.service.name=cove-{uuid[:8]}-mariadb"
    for node in _nodes(cluster):
        cid = docker("exec", node, "docker", "ps", "-q", "--filter", service)
        if cid:
            docker("exec", node, "docker", "kill", cid)

    def registered_again() -> dict[str, Any] | None:
        now = _store(cluster, uuid, "services/mariadb/")
        fresh = {k: v for k, v in now.items() if k not in before and v["state"] == "healthy"}
        return fresh if fresh and not set(before) & set(now) else None

    until(registered_again, 120, "MariaDB's new container registered healthy, the old gone")
    address = _keystone_address(cluster, uuid)
    until(lambda: _try_token(address, osc_binary), 120, "a token after MariaDB's restart")


def _try_token(address: str, osc: Path) -> bool:
    try:
        _token(address, osc)
    except AssertionError:
        return False
    return True


def test_undeploy_leaves_nothing_and_another_deployment_stays(
    installed: dict[str, Any], cove: Cove, cluster: str
) -> None:
    body = {"name": "other", "definition": DEFINITION.replace("name: gated", "name: other")}
    other = api(cove, "POST", f"/v1/clusters/{cluster}/deployments", json=body)
    assert other.status_code == 202, other.text
    until(
        lambda: (
            api(cove, "GET", f"/v1/clusters/{cluster}/deployments/other").json()["status"]
            == "CREATE_COMPLETE"
        ),
        180,
        "the other deployment",
    )
    gone = api(cove, "DELETE", f"/v1/clusters/{cluster}/deployments/identity")
    assert gone.status_code == 202, gone.text
    path = f"/v1/clusters/{cluster}/deployments/identity"
    try:
        until(lambda: api(cove, "GET", path).status_code == 404, 180, "undeploy of identity")
    except pytest.fail.Exception:
        doc = api(cove, "GET", path).json()
        pytest.fail(f"undeploy of identity: {doc.get('status')}: {doc.get('status_reason')}")
    uuid = installed["uuid"]
    assert services(cluster, f"cove.deployment={uuid}") == []
    made = f"name=cove-{uuid[:8]}-"
    for node in _nodes(cluster):
        kinds = ["container", "volume", "network"]
        if "-manager-" in node:
            kinds += ["secret", "config"]  # swarm objects, listed by managers only
        for kind in kinds:
            every = ["-a"] if kind == "container" else []
            left = docker("exec", node, "docker", kind, "ls", "-q", *every, "--filter", made)
            assert left == "", (node, kind, left)
    assert len(services(cluster, f"cove.deployment={other.json()['uuid']}")) == 4
    assert (
        api(cove, "GET", f"/v1/clusters/{cluster}/deployments/other").json()["status"]
        == "CREATE_COMPLETE"
    )
