"""End-to-end: a conductor SIGKILLed right after a named step of each operation, on the real
Docker engine, and the operation taken over by the next ``cove serve``.

Each test has its own ``cove serve`` (SQLite and ``COVE_STATE_DIR`` in its own temporary
directory, ``COVE_LEASE_SECONDS=3``, ``COVE_HEALTH_INTERVAL=1``, a free port) and its own
cluster, so pytest-xdist can spread them. The server that is to die is started with
``COVE_FAULT_KILL_AFTER_STEP=<glob>`` (cove/conductor/faults.py): its conductor SIGKILLs the
whole process right after recording a step matching the glob. The test checks the process
died by SIGKILL with that step the operation's last recorded one, starts ``cove serve`` again
on the same state without the variable, and checks that the cluster ends ``*_COMPLETE`` as a
user would see it: the node count, every node container running, ``docker node ls`` on a
manager listing exactly the expected nodes all Ready, nothing else labelled with the cluster,
health HEALTHY, and (from the engine's events) no node container created more often than the
operation's design says (an upgrade replaces a worker in place, a heal re-makes the dead
node).

Steps (cove/drivers/swarm_mode/driver.py) killed after: create ``nodes``; grow ``nodes``;
shrink ``plan``; node-group create ``nodes``; upgrade ``upgrade:<worker>`` and
``surge-plan:<manager>``; CA rotation the first ``tls:<manager>``; heal ``forget``. Delete has
no steps: the server is SIGKILLed right after the delete is accepted.

Run from the repository: the servers are ``python -m cove.cli.main`` with ``PYTHONPATH`` set
to the repository root, so this checkout's code runs. Waits are bounded; a timeout names the
cluster's status, its events and the server's log.
"""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from cove.images import BuiltImage
from cove.providers.base import LABEL_CLUSTER
from tests.e2e.conftest import ROOT, docker
from tests.e2e.test_swarm_cluster import HEADERS, _free_port, labelled, node_exec, poll, sweep
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e

IMAGE = "swarm-mode-debian"
IMAGE_V2 = "swarm-mode-debian-v2"
UPGRADE_REPO = "cove-e2e/node-upgrade"  # a re-tag of the node image: same content, new ref
TEMPLATE = "swarm"
TEMPLATE_V2 = "swarm-v2"
TEMPLATE_HA = "swarm-ha"  # with a load balancer: the only way to more than one manager
FLAVOR = "m1.small"
OP_TIMEOUT = 120.0  # an operation (create, resume) on a loaded 2-core machine
KILL_TIMEOUT = 90.0  # from the request to the faulty conductor's death
READY_TIMEOUT = 30.0
HEALTH_TIMEOUT = 20.0
CREATE_FORMAT = f'{{{{.Actor.Attributes.name}}}} {{{{index .Actor.Attributes "{LABEL_CLUSTER}"}}}}'


# --------------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------------


@dataclass
class Server(ServerProcess):
    """``cove serve`` for one test: started with or without the fault, SIGKILLed by its own
    conductor, started again on the same state."""

    workdir: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    fault: str = ""
    clusters: list[str] = field(default_factory=list)  # uuids, for the finalizer
    watcher: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    stop_timeout = 20.0

    def watch(self) -> None:
        """Record the engine's container creations of every cluster from now on. Streamed, not
        read back with ``--until`` later: the engine keeps only its last 256 events, which
        the parallel tests' activity overruns within a test."""
        argv = ["docker", "events", "--since", f"{time.time() - 1:.3f}"]
        argv += ["--filter", f"label={LABEL_CLUSTER}", "--filter", "type=container"]
        argv += ["--filter", "event=create", "--format", CREATE_FORMAT]
        with (self.workdir / "events.log").open("wb") as out:
            self.watcher = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)

    def created(self, ident: str) -> Counter[str]:
        """How many times the engine created each of the cluster's node containers (the
        capability probes, ``cove-probe-*``, are not nodes)."""
        assert self.watcher is not None and self.watcher.poll() is None, "docker events died"
        time.sleep(1)  # events are streamed within milliseconds; leave them time to arrive
        rows = [line.split() for line in (self.workdir / "events.log").read_text().splitlines()]
        prefix = f"cove-{ident[:8]}-"
        return Counter(
            row[0]
            for row in rows
            if len(row) == 2 and row[1] == ident and row[0].startswith(prefix)
        )

    def unwatch(self) -> None:
        if self.watcher is not None and self.watcher.poll() is None:
            self.watcher.terminate()
            self.watcher.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.workdir / "cove.db"

    @property
    def log(self) -> Path:
        return self.workdir / f"serve-{self.starts}.log"

    def env(self, fault: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COVE_")}
        env.update(
            PYTHONPATH=str(ROOT),
            COVE_STATE_DIR=str(self.workdir / "state"),
            COVE_DB=f"sqlite:///{self.db}",
            COVE_HEALTH_INTERVAL="1",
            COVE_LEASE_SECONDS="3",
            COVE_SCAN_INTERVAL="0.5",
        )
        if fault:
            env["COVE_FAULT_KILL_AFTER_STEP"] = fault
        return env

    def start(self, fault: str = "") -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        self.fault = fault
        self.started_at = time.monotonic()
        argv = [sys.executable, "-m", "cove.cli.main", "serve"]
        argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=self.env(fault), cwd=self.workdir
            )
        proc = self.proc

        def answers() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"cove serve exited with {proc.returncode}:\n{self.tail()}")
            try:
                return httpx.get(f"{self.url}/", timeout=2).status_code < 500
            except httpx.HTTPError:
                return False

        poll(answers, 30, lambda: f"cove serve does not answer on {self.url}\n{self.tail()}", 0.1)

    def restart(self, fault: str = "") -> None:
        self.stop()
        self.start(fault)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    # -- the API -------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}/v1{path}", json=body, headers=HEADERS, timeout=15)

    def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        resp = self.request(method, path, body)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return dict(resp.json()) if resp.content else {}

    def cluster(self, ident: str) -> dict[str, Any]:
        return self.ok("GET", f"/clusters/{ident}")

    def events(self, ident: str) -> list[str]:
        try:
            resp = self.request("GET", f"/clusters/{ident}/events")
        except httpx.HTTPError as exc:
            return [f"(events unavailable: {exc!r})"]
        if resp.status_code != 200:
            return [f"(events: {resp.status_code})"]
        return [f"{e['time']} {e['level']}: {e['message']}" for e in resp.json()["events"]]

    def describe(self, ident: str) -> str:
        try:
            resp = self.request("GET", f"/clusters/{ident}")
            doc = resp.json() if resp.status_code == 200 else {"http": resp.status_code}
        except httpx.HTTPError as exc:
            doc = {"error": repr(exc)}
        keys = ("status", "status_reason", "health_status", "health_status_reason", "node_count")
        state = {k: doc.get(k) for k in keys if k in doc} or doc
        events = "\n  ".join(self.events(ident)[-25:])
        return (
            f"cluster {ident}: {json.dumps(state)}\nevents:\n  {events}\n"
            f"cove serve log (tail):\n{self.tail(25)}"
        )

    def wait(self, ident: str, status: str, timeout: float = OP_TIMEOUT) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            doc = self.cluster(ident)
            if str(doc.get("status", "")).endswith("_FAILED"):
                pytest.fail(f"waiting for {status}: the cluster failed\n{self.describe(ident)}")
            return doc if doc["status"] == status else None

        return poll(check, timeout, lambda: f"waiting for {status}\n{self.describe(ident)}")

    def wait_healthy(self, ident: str) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            doc = self.cluster(ident)
            return doc if doc.get("health_status") == "HEALTHY" else None

        return poll(check, HEALTH_TIMEOUT, lambda: f"waiting for HEALTHY\n{self.describe(ident)}")

    def create(self, name: str, masters: int, workers: int, **extra: Any) -> str:
        body = {
            "name": name,
            "cluster_template_id": TEMPLATE,
            "master_count": masters,
            "node_count": workers,
        } | extra
        doc = self.ok("POST", "/clusters", body)
        self.clusters.append(doc["uuid"])
        return str(doc["uuid"])

    # -- what the dead conductor recorded ---------------------------------------------------

    def operation(self, ident: str) -> dict[str, Any]:
        """The cluster's newest operation, read from the database (kind, state, progress)."""
        with sqlite3.connect(self.db) as conn:
            row = conn.execute(
                "SELECT o.kind, o.state, o.progress FROM operations o "
                "JOIN clusters c ON c.id = o.subject_id AND o.subject_kind = 'cluster' "
                "WHERE c.uuid = ? ORDER BY o.id DESC LIMIT 1",
                (ident,),
            ).fetchone()
        assert row is not None, f"no operation for {ident}"
        progress = json.loads(row[2]) if isinstance(row[2], str) else row[2]
        return {"kind": row[0], "state": row[1], "progress": progress or {}}

    def died_after(self, ident: str, kind: str) -> dict[str, Any]:
        """Wait for the faulty server to die; check it was SIGKILLed right after recording a
        step matching its fault, with the operation left running. Returns the progress."""
        assert self.proc is not None and self.fault
        try:
            self.proc.wait(timeout=KILL_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"the conductor did not die after a step matching {self.fault!r} within "
                f"{KILL_TIMEOUT:.0f} s\n{self.describe(ident)}"
            )
        print(f"{self.fault}: killed {time.monotonic() - self.started_at:.1f} s after start")
        log = self.tail(15)
        assert self.proc.returncode == -signal.SIGKILL, (self.proc.returncode, log)
        op = self.operation(ident)
        steps = list(op["progress"])
        assert op["kind"] == kind and op["state"] == "running", (op, log)
        assert steps and fnmatch.fnmatchcase(steps[-1], self.fault), (
            f"the last step recorded is not one matching {self.fault!r}: {steps}\n{log}"
        )
        assert all(e.get("state") == "done" for e in op["progress"].values()), op
        assert f"killing this conductor after step {steps[-1]}" in log, log
        return dict(op["progress"])


@pytest.fixture
def server(node_image: BuiltImage, tmp_path: Path) -> Iterator[Server]:
    """A ``cove serve`` (not yet started) with the node image registered as IMAGE, its re-tag
    as IMAGE_V2, and the templates TEMPLATE and TEMPLATE_V2 (TLS on). Finalizer: stop the
    server, remove everything labelled with the test's clusters."""
    v2 = f"{UPGRADE_REPO}:{node_image.ref.rsplit(':', 1)[1]}"
    docker("tag", node_image.ref, v2)
    instance = Server(tmp_path)
    instance.watch()
    instance.start()
    try:
        for name, ref in ((IMAGE, node_image.ref), (IMAGE_V2, v2)):
            instance.ok(
                "POST",
                "/images",
                {
                    "name": name,
                    "os_distro": node_image.os_distro,
                    "node_image": ref,
                    "properties": {"version": node_image.version},
                    "public": True,
                },
            )
        for name, image, lb in (
            (TEMPLATE, IMAGE, False),
            (TEMPLATE_V2, IMAGE_V2, False),
            (TEMPLATE_HA, IMAGE, True),
        ):
            instance.ok(
                "POST",
                "/clustertemplates",
                {
                    "name": name,
                    "coe": "swarm-mode",
                    "image_id": image,
                    "external_network_id": "public",
                    "flavor_id": FLAVOR,
                    "master_flavor_id": FLAVOR,
                    "master_lb_enabled": lb,
                },
            )
        yield instance
    finally:
        instance.stop()
        instance.unwatch()
        for ident in instance.clusters:
            sweep(ident)


# --------------------------------------------------------------------------------------------
# what the user sees at the end
# --------------------------------------------------------------------------------------------


def node(ident: str, slug: str, index: int) -> str:
    return f"cove-{ident[:8]}-{slug}-{index}"


def swarm_nodes(manager: str) -> list[str]:
    result = node_exec(manager, "docker", "node", "ls", "--format", "{{.Hostname}} {{.Status}}")
    return sorted(result.stdout.splitlines()) if result.returncode == 0 else [result.stderr]


def check_settled(
    server: Server,
    ident: str,
    status: str,
    nodes: list[str],
    *,
    recreated: dict[str, int] | None = None,
    image: str | None = None,
    services: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The cluster ends ``status`` with exactly ``nodes``, each running (from ``image`` if
    given), all Ready members of the swarm, nothing else labelled, HEALTHY, and each node
    container created once by the engine unless ``recreated`` says how often. ``services``:
    the cluster's service containers (load balancer), expected running beside the nodes."""
    describe = lambda: server.describe(ident)  # noqa: E731
    doc = server.wait(ident, status)
    print(f"{status} {time.monotonic() - server.started_at:.1f} s after the last start")
    expected = sorted(nodes)
    assert labelled("container", ident) == sorted([*expected, *services]), describe()
    for name in expected:
        state = docker("inspect", "--format", "{{.State.Running}} {{.Config.Image}}", name)
        running, ref = state.split()
        assert running == "true", f"{name} is not running\n{describe()}"
        if image is not None:
            assert ref == image, f"{name} runs {ref}, not {image}\n{describe()}"
    manager = next(n for n in expected if "-manager-" in n)
    want = [f"{n} Ready" for n in expected]
    seen: list[str] = []

    def ready() -> bool:
        seen[:] = swarm_nodes(manager)
        return seen == want

    poll(ready, READY_TIMEOUT, lambda: f"docker node ls on {manager}: {seen}, want {want}")
    server.wait_healthy(ident)
    created = server.created(ident)
    wanted = {name: 1 for name in [*expected, *services]} | (recreated or {})
    wanted = {name: count for name, count in wanted.items() if count}
    assert dict(created) == wanted, f"containers created: {dict(created)}, want {wanted}"
    assert labelled("network", ident) == [f"cove-{ident[:8]}-net"], describe()
    assert labelled("volume", ident) == [], describe()
    return doc


def new_cluster(server: Server, name: str, masters: int, workers: int, **extra: Any) -> str:
    """A cluster made by the fault-free server; the server is then restarted by the caller."""
    started = time.monotonic()
    ident = server.create(name, masters, workers, **extra)
    server.wait(ident, "CREATE_COMPLETE")
    print(f"{name}: CREATE_COMPLETE in {time.monotonic() - started:.1f} s")
    return ident


# --------------------------------------------------------------------------------------------
# the checks
# --------------------------------------------------------------------------------------------


def test_create_killed_after_nodes_resumes(server: Server) -> None:
    server.restart(fault="nodes")
    ident = server.create("create", 1, 1)
    progress = server.died_after(ident, "create")
    # The containers were made, not yet joined.
    made = sorted(progress["nodes"]["data"]["nodes"])
    assert made == [node(ident, "manager", 0), node(ident, "worker", 0)], progress

    server.start()
    doc = check_settled(server, ident, "CREATE_COMPLETE", made)
    assert doc["node_count"] == 1 and doc["master_count"] == 1, doc


def test_grow_killed_after_nodes_resumes(server: Server) -> None:
    ident = new_cluster(server, "grow", 1, 1)
    server.restart(fault="nodes")
    server.ok("POST", f"/clusters/{ident}/actions/resize", {"node_count": 2})
    progress = server.died_after(ident, "resize")
    added = node(ident, "worker", 1)
    assert progress["plan"]["data"] == {"add": [added], "remove": []}, progress

    server.start()
    nodes = [node(ident, "manager", 0), node(ident, "worker", 0), added]
    doc = check_settled(server, ident, "UPDATE_COMPLETE", nodes)
    assert doc["node_count"] == 2, doc


def test_shrink_killed_after_plan_removes_the_planned_node(server: Server) -> None:
    ident = new_cluster(server, "shrink", 1, 2)
    server.restart(fault="plan")
    server.ok("POST", f"/clusters/{ident}/actions/resize", {"node_count": 1})
    progress = server.died_after(ident, "resize")
    plan = progress["plan"]["data"]
    workers = {node(ident, "worker", 0), node(ident, "worker", 1)}
    assert plan["add"] == [] and len(plan["remove"]) == 1 and set(plan["remove"]) < workers, plan
    # Nothing removed yet: the removal is what the next conductor has to do.
    assert len(labelled("container", ident)) == 3

    server.start()
    nodes = sorted({node(ident, "manager", 0)} | workers - set(plan["remove"]))
    recreated = {plan["remove"][0]: 1}  # created with the cluster, removed, never re-made
    doc = check_settled(server, ident, "UPDATE_COMPLETE", nodes, recreated=recreated)
    assert doc["node_count"] == 1, doc
    assert any(f"Removed 1 node(s): {plan['remove'][0]}" in e for e in server.events(ident))


def test_nodegroup_create_killed_after_nodes_resumes(server: Server) -> None:
    ident = new_cluster(server, "ng", 1, 0)
    server.restart(fault="nodes")
    server.ok("POST", f"/clusters/{ident}/nodegroups", {"name": "extra", "node_count": 1})
    progress = server.died_after(ident, "create-nodegroup")
    extra = node(ident, "extra", 0)
    assert extra in progress["nodes"]["data"]["nodes"], progress

    server.start()
    check_settled(server, ident, "UPDATE_COMPLETE", [node(ident, "manager", 0), extra])
    group = server.ok("GET", f"/clusters/{ident}/nodegroups/extra")
    assert group["status"] == "CREATE_COMPLETE" and group["node_count"] == 1, group


@pytest.mark.parametrize("fault", ["upgrade:*-worker-*", "surge-plan:*"])
def test_upgrade_killed_mid_way_replaces_every_node_once(
    server: Server, node_image: BuiltImage, fault: str
) -> None:
    ident = new_cluster(server, "upgrade", 1, 1)
    server.restart(fault=fault)
    server.ok("POST", f"/clusters/{ident}/actions/upgrade", {"cluster_template": TEMPLATE_V2})
    progress = server.died_after(ident, "upgrade")
    worker, old_manager = node(ident, "worker", 0), node(ident, "manager", 0)
    new_manager = node(ident, "manager", 1)
    # Workers first: the worker is replaced before the managers' surge is planned.
    assert f"upgrade:{worker}" in progress, progress
    if fault.startswith("surge-plan"):
        assert progress[f"surge-plan:{old_manager}"]["data"] == {"new": new_manager}, progress

    server.start()
    v2 = f"{UPGRADE_REPO}:{node_image.ref.rsplit(':', 1)[1]}"
    nodes = [new_manager, worker]
    recreated = {worker: 2, old_manager: 1}  # the worker in place; the old manager removed
    doc = check_settled(server, ident, "UPDATE_COMPLETE", nodes, recreated=recreated, image=v2)
    assert (
        doc["cluster_template_id"] == server.ok("GET", f"/clustertemplates/{TEMPLATE_V2}")["uuid"]
    ), doc


def served_certificate(container: str) -> x509.Certificate:
    """The certificate the node's engine presents on its published TLS port."""
    import ssl

    port = docker("port", container, "2376").splitlines()[0].rsplit(":", 1)[1]
    pem = ssl.get_server_certificate(("127.0.0.1", int(port)), timeout=10)
    return x509.load_pem_x509_certificate(pem.encode())


def test_ca_rotation_killed_after_the_first_manager_resumes(server: Server) -> None:
    ident = new_cluster(server, "rotate", 3, 0, cluster_template_id=TEMPLATE_HA)
    managers = [node(ident, "manager", i) for i in range(3)]
    old_ca = server.ok("GET", f"/certificates/{ident}")["pem"]
    server.restart(fault="tls:*")
    server.ok("PATCH", f"/certificates/{ident}")
    progress = server.died_after(ident, "rotate-ca")
    assert [s for s in progress if s.startswith("tls:")] == [f"tls:{managers[0]}"], progress

    server.start()
    balancer = f"cove-{ident[:8]}-lb"
    check_settled(server, ident, "UPDATE_COMPLETE", managers, services=(balancer,))
    new_ca = server.ok("GET", f"/certificates/{ident}")["pem"]
    assert new_ca != old_ca
    authority = x509.load_pem_x509_certificate(new_ca.encode())
    for manager in managers:
        served = served_certificate(manager)
        try:
            served.verify_directly_issued_by(authority)
        except (ValueError, TypeError, InvalidSignature) as exc:
            pytest.fail(f"{manager} serves a certificate not from the new CA: {exc!r}")


def test_heal_killed_after_forget_remakes_the_dead_node(server: Server) -> None:
    ident = new_cluster(server, "heal", 1, 1, labels={"auto_healing_enabled": "true"})
    server.wait_healthy(ident)
    server.restart(fault="forget")
    victim = node(ident, "worker", 0)
    docker("kill", victim)
    progress = server.died_after(ident, "heal")
    assert progress["forget"]["data"] == {"nodes": [victim]}, progress
    assert victim not in labelled("container", ident)  # forgotten: its container is gone

    server.start()
    nodes = [node(ident, "manager", 0), victim]
    check_settled(server, ident, "UPDATE_COMPLETE", nodes, recreated={victim: 2})


def test_delete_killed_right_after_it_is_accepted_removes_everything(server: Server) -> None:
    ident = new_cluster(server, "delete", 1, 1)
    assert len(labelled("container", ident)) == 2
    resp = server.request("DELETE", f"/clusters/{ident}")
    assert resp.status_code == 204, resp.text
    server.kill()
    assert server.proc is not None and server.proc.returncode == -signal.SIGKILL
    # Killed before the delete finished: the operation is the next conductor's to finish.
    op = server.operation(ident)
    left = labelled("container", ident)
    print(f"killed with the delete {op['state']}, containers left: {left}")
    assert op["kind"] == "delete" and op["state"] in ("pending", "running"), op

    server.start()

    def gone() -> bool:
        resp = server.request("GET", f"/clusters/{ident}")
        if resp.status_code == 200 and resp.json().get("status") == "DELETE_FAILED":
            pytest.fail(f"delete failed\n{server.describe(ident)}")
        return resp.status_code == 404

    poll(gone, OP_TIMEOUT, lambda: f"waiting for 404\n{server.describe(ident)}")
    leftovers = {kind: labelled(kind, ident) for kind in ("container", "network", "volume")}
    assert leftovers == {"container": [], "network": [], "volume": []}, leftovers
