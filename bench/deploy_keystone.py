"""The keystone package's time to ready: cove's gated-parallel deploy against the same
services started one after another in dependency order, the way Kolla-Ansible does, in one run.

Setup (untimed): cove's node image and app images (etcd, mariadb, memcached, keystone) built
or found by content hash; a real ``cove serve`` (SQLite, temporary state directory, as
cluster_create.py starts it, whose helpers this reuses); one swarm-mode cluster of 1 manager
+ 2 workers (flavor m1.medium: in m1.small's 2 GiB, which also holds the node's tmpfs image
store, the manager's engine died loading the fourth app image); every app image loaded into
every node's engine (``docker save | docker exec -i NODE docker load``), so neither side
streams images while timed; a client certificate for the manager's engine from the cluster
CA (what ``cove cluster config`` gives a user).

Then ``--rounds`` rounds per side, alternating which goes first, each followed by an untimed
teardown:

* parallel (cove): ``POST /v1/clusters/<c>/deployments`` with the keystone package; cove makes
  every service and task at once and their cove-gates order them through the deployment's
  etcd. Timed from the POST to the first token keystone issues (``POST /v3/auth/tokens``,
  password of admin, project admin, raw HTTP every 0.1 s to every node's published port),
  and to the first ``GET`` (every 0.1 s) that answers CREATE_COMPLETE. Teardown: DELETE
  until 404.
* serial (plain engine commands): the same package rendered here
  (``cove.domain.deploy.package.render``, secrets generated the same way) and planned
  (``cove.deploy.specs.plan``) into the same swarm services, configs, secrets, network,
  volumes, health checks and placement, with the gate's environment removed (``cove-start``
  without ``COVE_STORE`` execs the command directly) and no store. Sent to the manager's
  engine one element at a time, waiting for each before the next: mariadb, then its health
  command passing (run in its container every 0.1 s), keystone-db-create / keystone-db-sync
  / keystone-bootstrap each until its job completed (task state polled every 0.1 s),
  memcached until running, keystone until the same token poll gets a token. Teardown:
  services, configs, secrets, network, volumes removed by label.

Per-element times on both sides come from the swarm's own task states, read after the
round: when each job's task completed, when each service's task started running (healthy,
for a health-checked one).

    .venv/bin/python bench/deploy_keystone.py [--rounds 3]

Prints a markdown report and writes bench/results/deploy_keystone.md. Exits 1 on any
failure; the deployments, the cluster and ``cove serve`` are removed also after a failure,
SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import secrets
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuids
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
from cluster_create import (  # the shared helpers of bench/ (run as bench/deploy_keystone.py)
    COVE_LABEL_CLUSTER,
    LABEL,
    RUN_ID,
    Cove,
    Monitor,
    Serve,
    build_image,
    leftovers,
    load1,
    log,
    now,
    parallel,
    sweep,
)
from cluster_create import docker as docker_cli

from cove.cli import tlsconfig
from cove.deploy.specs import Identity, Plan, plan
from cove.domain.deploy.package import render
from cove.drivers.apphost import DEPLOYMENT_LABEL, ELEMENT_LABEL, ServiceSpec
from cove.drivers.swarm_mode import appspecs, nodeengines
from cove.images.apps import ensure_app_image
from cove.images.apps import refs as app_refs
from cove.services.deployments import package as catalog_package
from cove.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "deploy_keystone.md"
PACKAGE = "keystone"
APPS = ("etcd", "mariadb", "memcached", "keystone")
PORT = 5000
FLAVOR = "m1.medium"  # 2 vCPU, 4 GiB: m1.small's 2 GiB cannot hold the four images in its tmpfs
POLL = 0.1  # every wait on both sides: API GETs, task states, health command, token
TIMEOUT = 900.0
TEARDOWN_TIMEOUT = 180.0
OSC = Path("/work/main/.venv-clients/osc/bin/openstack")
# The serial order (Kolla-Ansible's: each role's containers up and checked before the next).
ORDER = (
    ("mariadb", "healthy"),
    ("keystone-db-create", "done"),
    ("keystone-db-sync", "done"),
    ("keystone-bootstrap", "done"),
    ("memcached", "running"),
    ("keystone", "token"),
)
GATE_ENV = (
    "COVE_STORE",
    "COVE_PREFIX",
    "COVE_ELEMENT",
    "COVE_KIND",
    "COVE_NODE",
    "COVE_REQUIRES",
    "COVE_HEALTH",
    "COVE_TIMEOUT",
)


class BenchFailed(Exception):
    """A deployment failed or did not finish; the message says which and why."""


# -- the cluster ----------------------------------------------------------------------------------


@dataclass
class Cluster:
    uuid: str
    nodes: dict[str, str]  # node container name -> address on the cluster network
    api: docker.APIClient  # the manager's engine, over the cluster's TLS

    def node_of(self, node_id: str) -> str:
        """The node container running a swarm node (its hostname is the container's name)."""
        hostname = str(self.api.inspect_node(node_id)["Description"]["Hostname"])
        if hostname not in self.nodes:
            raise BenchFailed(f"swarm node {hostname} is none of {sorted(self.nodes)}")
        return hostname


def manager_client(cove: Cove, cluster: dict[str, Any], folder: Path) -> docker.APIClient:
    """A client of the manager's engine with a certificate the cluster CA signed (as ``cove
    cluster config`` makes it)."""
    key_pem, csr_pem = tlsconfig.key_and_csr()
    signed = cove.http.post(
        "/v1/certificates", json={"cluster_uuid": cluster["uuid"], "csr": csr_pem}
    )
    signed.raise_for_status()
    ca = cove.http.get(f"/v1/certificates/{cluster['uuid']}")
    ca.raise_for_status()
    files = {"ca.pem": ca.json()["pem"], "cert.pem": signed.json()["pem"], "key.pem": key_pem}
    tlsconfig.write(folder, files)
    context = ssl.create_default_context(cadata=files["ca.pem"])
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    address = str(cluster["api_address"]).replace("tcp://", "https://")
    api = docker.APIClient(base_url=address, version=nodeengines.API_VERSION, timeout=60)
    api.trust_env = False
    # The manager's certificate names the node, not the published address (as cove connects).
    api.mount("https://", nodeengines.NodeTLSAdapter(context, Cove.manager(cluster["uuid"])))
    api.ping()
    return api


def node_addresses(uuid: str) -> dict[str, str]:
    names = docker_cli(
        "ps", "--filter", f"label={COVE_LABEL_CLUSTER}={uuid}", "--format", "{{.Names}}"
    ).stdout.split()
    network = f"cove-{uuid[:8]}-net"
    found = {}
    for name in names:
        template = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
        found[name] = docker_cli("inspect", "-f", template, name).stdout.strip()
    return dict(sorted(found.items()))


def load_images(images: Sequence[str], nodes: Sequence[str]) -> dict[str, float]:
    """Every image into every node's engine: seconds per image."""
    took = {}
    for image in images:
        started = now()
        saved = subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout

        def load(node: str, saved: bytes = saved, image: str = image) -> None:
            result = subprocess.run(
                ["docker", "exec", "-i", node, "docker", "load"],
                input=saved,
                capture_output=True,
                check=False,
            )
            if result.returncode != 0:
                raise BenchFailed(f"loading {image} into {node}: {result.stderr.decode()}")

        parallel(load, list(nodes))
        took[image] = now() - started
        log(f"{image} loaded into {len(nodes)} nodes ({took[image]:.1f}s)")
    return took


# -- readiness as a user sees it -------------------------------------------------------------------


def token_body(password: str) -> dict[str, Any]:
    default = {"id": "default"}
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "admin", "domain": default, "password": password}},
            },
            "scope": {"project": {"name": "admin", "domain": default}},
        }
    }


def wait_token(addresses: Sequence[str], password: str, t0: float, stop: threading.Event) -> float:
    """Seconds from ``t0`` to the first token from keystone on any node's published port
    (only the node running keystone publishes it: the others refuse at once)."""
    body = token_body(password)
    with httpx.Client(timeout=httpx.Timeout(5.0, connect=1.0)) as http:
        while not stop.is_set():
            for address in addresses:
                try:
                    answer = http.post(f"http://{address}:{PORT}/v3/auth/tokens", json=body)
                except httpx.HTTPError:
                    continue
                if answer.status_code == 201 and answer.headers.get("X-Subject-Token"):
                    return now() - t0
            if now() - t0 > TIMEOUT:
                raise BenchFailed(f"no token from keystone within {TIMEOUT:.0f}s")
            stop.wait(POLL)
    raise BenchFailed("stopped before keystone issued a token")


def osc_token(addresses: Sequence[str], password: str) -> str:
    """The real ``openstack token issue`` against the deployed keystone (untimed check)."""
    if not OSC.exists():
        return f"not run: {OSC} is not installed (scripts/install-clients.sh)"
    env = {
        **os.environ,
        "OS_AUTH_URL": "",
        "OS_USERNAME": "admin",
        "OS_PASSWORD": password,
        "OS_PROJECT_NAME": "admin",
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_IDENTITY_API_VERSION": "3",
    }
    errors = []
    for address in addresses:
        env["OS_AUTH_URL"] = f"http://{address}:{PORT}/v3"
        result = subprocess.run(
            [str(OSC), "token", "issue", "-f", "value", "-c", "expires"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode == 0:
            return f"token issued by {address} (expires {result.stdout.strip()})"
        errors.append(result.stderr.strip().splitlines()[-1:] or ["?"])
    raise BenchFailed(f"openstack token issue failed on every node: {errors}")


def stamp(value: str) -> float:
    """RFC 3339 with nanoseconds (the engine's) as a POSIX time."""
    match = re.fullmatch(r"(.+?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", value)
    if match is None:
        raise ValueError(value)
    base, frac, zone = match.groups()
    parsed = dt.datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return parsed.timestamp() + float(f"0.{frac or 0}")


def swarm_times(
    api: docker.APIClient, deployment: str, t0: float
) -> tuple[dict[str, float], dict[str, int]]:
    """Per element, seconds from ``t0`` to when its job's task completed or its service's task
    began running (healthy, with a health check): the swarm's own task timestamps; and how
    many of its tasks ended otherwise (failed and restarted)."""
    out, ended = {}, {}
    for service in api.services(filters={"label": f"{DEPLOYMENT_LABEL}={deployment}"}):
        element = service["Spec"]["Labels"].get(ELEMENT_LABEL, "?")
        tasks = api.tasks(filters={"service": service["ID"]})
        ends = [
            stamp(t["Status"]["Timestamp"])
            for t in tasks
            if t["Status"]["State"] in ("complete", "running")
        ]
        if ends:
            out[element] = min(ends) - t0
        failed = [t for t in tasks if t["Status"]["State"] in ("failed", "rejected")]
        if failed:
            ended[element] = len(failed)
    return out, ended


# -- the two sides --------------------------------------------------------------------------------


@dataclass
class Round:
    side: str  # parallel | serial
    index: int
    token: float  # POST (or first command) -> first token
    complete: float | None = None  # parallel: -> CREATE_COMPLETE seen
    post: float | None = None  # parallel: the POST's own time
    elements: dict[str, float] = field(default_factory=dict)  # swarm times, from t0
    issued: dict[str, float] = field(default_factory=dict)  # serial: element sent, from t0
    load: float = 0.0
    teardown: float = 0.0
    check: str = ""
    t0: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds from t0 to the token
    failed: dict[str, int] = field(default_factory=dict)  # tasks that ended and were replaced


Meter = Callable[[], dict[str, float]]


def cpu_meter(nodes: Sequence[str], serve_pid: int) -> Meter:
    """CPU seconds used so far (cgroup v1 cpuacct): by the workloads the nodes' engines run
    (their containers sit under a cgroup parent named after the node), by the node containers
    themselves (engine, containerd, shims, execs) and by ``cove serve`` (API and conductor)."""
    ids = {n: docker_cli("inspect", "-f", "{{.Id}}", n).stdout.strip() for n in nodes}
    root = Path("/sys/fs/cgroup/cpuacct")
    tick = os.sysconf("SC_CLK_TCK")

    def usage(path: Path) -> float:
        try:
            return int((path / "cpuacct.usage").read_text()) / 1e9
        except FileNotFoundError:  # made with the node's first container: none used yet
            return 0.0

    def meter() -> dict[str, float]:
        stat = Path(f"/proc/{serve_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return {
            "workloads": sum(usage(root / n) for n in nodes),
            "nodes": sum(usage(root / "docker" / i) for i in ids.values()),
            "cove serve": (int(stat[11]) + int(stat[12])) / tick,
        }

    return meter


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in before}


def parallel_round(
    cove: Cove, cluster: Cluster, index: int, password: str, osc: bool, meter: Meter
) -> Round:
    base = f"/v1/clusters/{cluster.uuid}/deployments"
    name = f"ks-{index}"
    body = {
        "name": name,
        "package": PACKAGE,
        "options": {"admin_password": password, "public_port": PORT},
    }
    stop = threading.Event()
    found: dict[str, Any] = {}
    load = load1()
    before = meter()
    t0 = now()

    def token() -> None:
        try:
            found["token"] = wait_token(list(cluster.nodes.values()), password, t0, stop)
            found["cpu"] = spent(before, meter())
        except BaseException as exc:  # reported by the main thread
            found["error"] = exc

    answer = cove.http.post(base, json=body)
    post = now() - t0
    if answer.status_code != 202:
        raise BenchFailed(f"POST {base}: {answer.status_code} {answer.text[:400]}")
    deployment = str(answer.json()["uuid"])
    waiter = threading.Thread(target=token, daemon=True)
    waiter.start()
    try:
        while True:
            doc = cove.http.get(f"{base}/{name}").json()
            if doc["status"] == "CREATE_COMPLETE":
                complete = now() - t0
                break
            if doc["status"] != "CREATE_IN_PROGRESS" or now() - t0 > TIMEOUT:
                raise BenchFailed(
                    f"deployment {name}: {doc['status']} {doc.get('status_reason')}"
                    f" {doc.get('progress')}"
                )
            time.sleep(POLL)
        waiter.join(TIMEOUT)
    finally:
        stop.set()
    if "error" in found:
        raise BenchFailed(f"deployment {name}: {found['error']}")
    got = Round("parallel", index, found["token"], complete, post, load=load, t0=t0)
    got.cpu = found["cpu"]
    got.elements, got.failed = swarm_times(cluster.api, deployment, t0)
    if osc:
        got.check = osc_token(list(cluster.nodes.values()), password)
    started = now()
    gone = cove.http.delete(f"{base}/{name}")
    if gone.status_code != 202:
        raise BenchFailed(f"DELETE {base}/{name}: {gone.status_code} {gone.text[:400]}")
    while cove.http.get(f"{base}/{name}").status_code != 404:
        if now() - started > TEARDOWN_TIMEOUT:
            raise BenchFailed(f"undeploy of {name} not done within {TEARDOWN_TIMEOUT:.0f}s")
        time.sleep(POLL)
    got.teardown = now() - started
    left = cluster.api.services(filters={"label": f"{DEPLOYMENT_LABEL}={deployment}"})
    if left:
        raise BenchFailed(f"undeploy of {name} left services {[s['Spec']['Name'] for s in left]}")
    return got


def render_serial(deployment: str, password: str) -> Plan:
    """The keystone package's specs as cove makes them, without the gate: the same images,
    commands, files, secrets, volumes, health checks, ports and placement."""
    installed = render(catalog_package(PACKAGE), {"admin_password": password, "public_port": PORT})
    definition = installed.definition
    secret = [n for n, v in definition.variables.items() if v.secret]
    who = Identity(deployment, "bench")
    made = plan(
        definition,
        installed.values,
        secret,
        who,
        app_refs.resolve("cove/app-etcd"),
        image_of=app_refs.resolve,
    )

    def ungated(spec: ServiceSpec) -> ServiceSpec:
        env = {k: v for k, v in spec.env.items() if k not in GATE_ENV}
        return replace(spec, env=env, labels={**spec.labels, LABEL: RUN_ID})

    return replace(
        made,
        services={k: ungated(v) for k, v in made.services.items()},
        tasks={k: ungated(v) for k, v in made.tasks.items()},
    )


class Serial:
    """The package started element by element through the manager's engine API (the
    requests ``docker config/secret/service create`` send), each waited for."""

    def __init__(self, cluster: Cluster, meter: Meter) -> None:
        self.cluster = cluster
        self.meter = meter
        self.api = cluster.api

    def run(self, index: int, password: str, osc: bool) -> Round:
        deployment = str(uuids.uuid4())
        load = load1()
        before = self.meter()
        t0 = now()
        made = render_serial(deployment, password)
        who = Identity(deployment, "bench")
        self.api.create_network(
            who.network,
            driver="overlay",
            attachable=True,
            labels={DEPLOYMENT_LABEL: deployment, LABEL: RUN_ID},
        )
        got = Round("serial", index, 0.0, load=load, t0=t0)
        try:
            for element, wait in ORDER:
                spec = made.services.get(element) or made.tasks[element]
                got.issued[element] = now() - t0
                self.create(spec)
                if wait == "healthy":
                    self.wait_healthy(spec, t0)
                elif wait == "done":
                    self.wait_done(spec, t0)
                elif wait == "running":
                    self.wait_running(spec, t0)
                else:
                    stop = threading.Event()
                    got.token = wait_token(list(self.cluster.nodes.values()), password, t0, stop)
                    got.cpu = spent(before, self.meter())
            got.elements, got.failed = swarm_times(self.api, deployment, t0)
            if osc:
                got.check = osc_token(list(self.cluster.nodes.values()), password)
        finally:
            started = now()
            self.remove(deployment)
            got.teardown = now() - started
        return got

    def create(self, spec: ServiceSpec) -> None:
        ids = {}
        for file in spec.files:
            make = self.api.create_secret if file.secret else self.api.create_config
            ids[file.name] = str(
                make(file.name, file.data, labels=appspecs.file_labels(spec))["ID"]
            )
        self.api.create_service(**appspecs.service_arguments(spec, ids))

    def tasks(self, spec: ServiceSpec) -> list[dict[str, Any]]:
        return list(self.api.tasks(filters={"service": spec.name}))

    def _until(self, spec: ServiceSpec, t0: float, check: Callable[[], bool]) -> None:
        attempts = (spec.restart_attempts or 0) + 1
        while not check():
            tasks = self.tasks(spec)
            failed = [t for t in tasks if t["Status"]["State"] in ("failed", "rejected")]
            if spec.mode == "job" and len(failed) >= attempts:
                raise BenchFailed(
                    f"serial: {spec.name} failed: {failed[-1]['Status']}; {self.logs(spec.name)}"
                )
            if now() - t0 > TIMEOUT:
                raise BenchFailed(
                    f"serial: {spec.name} not ready within {TIMEOUT:.0f}s: "
                    f"{[t['Status'] for t in tasks]}; {self.logs(spec.name)}"
                )
            time.sleep(POLL)

    def wait_done(self, spec: ServiceSpec, t0: float) -> None:
        self._until(
            spec, t0, lambda: any(t["Status"]["State"] == "complete" for t in self.tasks(spec))
        )

    def wait_running(self, spec: ServiceSpec, t0: float) -> None:
        self._until(
            spec, t0, lambda: any(t["Status"]["State"] == "running" for t in self.tasks(spec))
        )

    def wait_healthy(self, spec: ServiceSpec, t0: float) -> None:
        """Until the service's own health command passes in its container (run every 0.1 s
        through the node's engine), or the swarm reports the task running (healthy)."""
        assert spec.health is not None
        test = list(spec.health.test)
        argv = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]

        def healthy() -> bool:
            for task in self.tasks(spec):
                status = task["Status"]
                if status["State"] == "running":
                    return True
                container = (status.get("ContainerStatus") or {}).get("ContainerID")
                if status["State"] == "starting" and container and task.get("NodeID"):
                    node = self.cluster.node_of(task["NodeID"])
                    probe = subprocess.run(
                        ["docker", "exec", node, "docker", "exec", container, *argv],
                        capture_output=True,
                        timeout=30,
                        check=False,
                    )
                    if probe.returncode == 0:
                        return True
            return False

        self._until(spec, t0, healthy)

    def logs(self, name: str) -> str:
        try:
            chunks = self.api.service_logs(name, stdout=True, stderr=True, tail=10)
            return " | ".join(appspecs.log_lines(chunks, 10))
        except docker.errors.APIError as exc:
            return f"(no logs: {exc})"

    def remove(self, deployment: str) -> None:
        """Everything labelled with the serial deployment: services, then (as their tasks
        stop) configs, secrets, the network and each node's volumes."""
        selector = {"label": f"{DEPLOYMENT_LABEL}={deployment}"}
        for service in self.api.services(filters=selector):
            self.api.remove_service(service["ID"])
        deadline = now() + TEARDOWN_TIMEOUT
        removals: list[tuple[str, Callable[[], list[str]], Callable[[str], Any]]] = [
            (
                "config",
                lambda: [c["ID"] for c in self.api.configs(filters=selector)],
                self.api.remove_config,
            ),
            (
                "secret",
                lambda: [c["ID"] for c in self.api.secrets(filters=selector)],
                self.api.remove_secret,
            ),
            (
                "network",
                lambda: [n["Id"] for n in self.api.networks(filters=selector)],
                self.api.remove_network,
            ),
        ]
        for node in self.cluster.nodes:
            removals.append((f"volume on {node}", volumes_of(node, deployment), volume_rm(node)))
        for kind, listing, remove in removals:
            while ids := listing():
                for ident in ids:
                    # in use while the services' tasks stop: tried again
                    with contextlib.suppress(docker.errors.APIError, RuntimeError):
                        remove(ident)
                if not listing():
                    break
                if now() > deadline:
                    raise BenchFailed(f"serial teardown: {kind} {ids} still there")
                time.sleep(0.5)


def volumes_of(node: str, deployment: str) -> Callable[[], list[str]]:
    def listing() -> list[str]:
        out = docker_cli(
            "exec",
            node,
            "docker",
            "volume",
            "ls",
            "-q",
            "--filter",
            f"label={DEPLOYMENT_LABEL}={deployment}",
        )
        return out.stdout.split()

    return listing


def volume_rm(node: str) -> Callable[[str], Any]:
    return lambda volume: docker_cli("exec", node, "docker", "volume", "rm", volume)


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Results:
    rounds: list[Round] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failure: str = ""


def make_cluster(cove: Cove, folder: Path) -> Cluster:
    response = cove.http.post(
        "/v1/clusters",
        json={
            "cluster_template_id": cove.template,
            "name": f"ks-{RUN_ID}",
            "master_count": 1,
            "node_count": 2,
            "flavor_id": FLAVOR,
            "master_flavor_id": FLAVOR,
        },
    )
    if response.status_code != 202:
        raise BenchFailed(f"POST /v1/clusters: {response.status_code} {response.text}")
    uuid = str(response.json()["uuid"])
    cove.uuids.append(uuid)
    doc = cove.wait(uuid, "CREATE_IN_PROGRESS", "CREATE_COMPLETE")
    api = manager_client(cove, doc, folder / "tls")
    return Cluster(uuid, node_addresses(uuid), api)


def run(args: argparse.Namespace, res: Results, meta: dict[str, Any]) -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="cove-bench-"))
    serve: Serve | None = None
    cove: Cove | None = None
    monitor: Monitor | None = None
    try:
        meta["node_image"] = build_image(state_dir).line
        settings = Settings()
        images = []
        for app in APPS:
            built = ensure_app_image(
                app, settings.state_dir, docker_host=settings.docker_host, log=log
            )
            images.append(built.ref)
        meta["images"] = images
        meta["engine"] = docker_cli("version", "--format", "{{.Server.Version}}").stdout.strip()
        serve = Serve(state_dir)
        cove = Cove(serve.url)
        cove.make_template()
        cluster = make_cluster(cove, state_dir)
        uuid = cluster.uuid
        meta["nodes"] = cluster.nodes
        log(f"cluster {uuid}: {cluster.nodes}")
        meta["loaded"] = load_images(images, list(cluster.nodes))
        monitor = Monitor(lambda bench, owner: bench == RUN_ID or owner == uuid)
        meta["started"] = dt.datetime.now(dt.UTC)
        meta["uptime_start"] = uptime()
        meter = cpu_meter(list(cluster.nodes), serve.proc.pid)
        serial = Serial(cluster, meter)
        for i in range(1, args.rounds + 1):
            for side in ("parallel", "serial") if i % 2 else ("serial", "parallel"):
                password = secrets.token_urlsafe(18)
                osc = i == 1
                if side == "parallel":
                    got = parallel_round(cove, cluster, i, password, osc, meter)
                else:
                    got = serial.run(i, password, osc)
                res.rounds.append(got)
                extra = f", CREATE_COMPLETE {got.complete:.1f}s" if got.complete else ""
                log(
                    f"round {i} {side}: token {got.token:.1f}s{extra} (load {got.load:.2f}; "
                    f"teardown {got.teardown:.1f}s) {got.check}"
                )
        meta["finished"] = dt.datetime.now(dt.UTC)
        meta["uptime_end"] = uptime()
    except Exception as exc:  # reported, after the cleanup below
        res.failure = f"{type(exc).__name__}: {exc}"
        log(f"FAILED: {res.failure}")
    finally:
        if monitor is not None:
            monitor.stop()
            meta["samples"] = monitor.samples
            meta["others"] = monitor.others
        if cove is not None:
            for uuid in cove.uuids:  # the cluster goes through the API first (not only swept)
                try:
                    meta["delete_s"] = cove.delete([uuid])
                except Exception as exc:  # swept below anyway
                    res.notes.append(f"cluster delete through the API failed: {exc}")
        if serve is not None:
            serve.stop()
            meta["serve_errors"] = serve.grep(r" (ERROR|CRITICAL) ")
        if cove is not None:
            cove.http.close()
        labels = [f"{LABEL}={RUN_ID}"]
        labels += [f"{COVE_LABEL_CLUSTER}={u}" for u in (cove.uuids if cove else [])]
        meta["swept"] = sweep(labels)
        meta["left"] = sum(len(leftovers(label)) for label in labels)
        shutil.rmtree(state_dir, ignore_errors=True)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


# -- the report ----------------------------------------------------------------------------------


def p50(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rng(values: Sequence[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f}" if values else "-"


CPU_KINDS = ("workloads", "nodes", "cove serve")


def med(values: Sequence[float]) -> str:
    return f"{p50(values):.1f}" if values else "-"


def stamped(when: dt.datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else "?"


def render_report(res: Results, meta: dict[str, Any], args: argparse.Namespace) -> str:
    par = [r for r in res.rounds if r.side == "parallel"]
    ser = [r for r in res.rounds if r.side == "serial"]
    samples = meta.get("samples") or []
    out = [
        "# The keystone package: gated-parallel (cove) against serial (plain engine commands)",
        "",
        f"Run `{RUN_ID}`, {stamped(meta.get('started'))} to {stamped(meta.get('finished'))} "
        f"UTC, `--rounds {args.rounds}`; engine {meta.get('engine', '?')}; "
        f"{os.cpu_count()} cores; a cluster of 1 manager + 2 workers ({FLAVOR}: 2 vCPU, 4 GiB "
        "each).",
        f"Images: {', '.join(f'`{i}`' for i in meta.get('images', []))}; node image: "
        f"{meta.get('node_image', '?')}.",
        "",
    ]
    if res.failure:
        out += [f"**FAILED**: {res.failure}", ""]
    out += [
        "| time to (s) | parallel (cove) median | min-max | serial median | min-max | "
        "parallel / serial |",
        "|---|---:|---|---:|---|---:|",
    ]
    tp, ts = [r.token for r in par], [r.token for r in ser]
    if tp and ts:
        out.append(
            f"| token issued | {p50(tp):.1f} | {rng(tp)} | {p50(ts):.1f} | {rng(ts)} | "
            f"{p50(tp) / p50(ts):.2f} |"
        )
    cp = [r.complete for r in par if r.complete is not None]
    if cp and ts:
        out.append(
            f"| CREATE_COMPLETE (parallel) / token (serial) | {p50(cp):.1f} | {rng(cp)} "
            f"| {p50(ts):.1f} | {rng(ts)} | {p50(cp) / p50(ts):.2f} |"
        )
    pairs = [(a.token / b.token) for a in par for b in ser if a.index == b.index]
    if pairs:
        out += [
            "",
            "Paired ratios (parallel / serial token, same round): "
            f"{', '.join(f'{p:.2f}' for p in pairs)}.",
        ]
    if par and ser:
        out += [
            "",
            "CPU seconds from the start to the token, median: "
            + "; ".join(
                f"{k} {p50([r.cpu[k] for r in par if k in r.cpu]):.1f} parallel, "
                f"{p50([r.cpu[k] for r in ser if k in r.cpu]):.1f} serial"
                for k in CPU_KINDS
            )
            + ".",
        ]
    out += [
        "",
        "Per round. Load: the 1-minute load average when the round started, and the highest "
        "until the token (sampled every second). CPU: seconds of CPU from the start to the "
        "token used by the deployed containers (`workloads`), by the node containers' engines "
        "and execs (`nodes`) and by `cove serve` (cgroup v1 `cpuacct`, /proc).",
        "",
        "| round | side | token s | CREATE_COMPLETE s | POST s | teardown s | load start / max "
        "| CPU s workloads / nodes / cove serve |",
        "|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for r in res.rounds:
        complete = f"{r.complete:.1f}" if r.complete is not None else "-"
        post = f"{r.post:.3f}" if r.post is not None else "-"
        during = [x[1] for x in samples if r.t0 <= x[0] <= r.t0 + r.token] or [r.load]
        cpu = " / ".join(f"{r.cpu.get(k, float('nan')):.1f}" for k in CPU_KINDS)
        out.append(
            f"| {r.index} | {r.side} | {r.token:.1f} | {complete} | {post} | "
            f"{r.teardown:.1f} | {r.load:.1f} / {max(during):.1f} | {cpu} |"
        )
    out += [
        "",
        "Per element, seconds from the POST (serial: the first command) to the swarm's task "
        "timestamp: a job's task complete, a service's task running (for mariadb and "
        "keystone: healthy by the swarm's health check, every 2 s). Serial: also when the "
        "bench sent it. Medians.",
        "",
        "| element | parallel | min-max | serial | min-max | serial sent at |",
        "|---|---:|---|---:|---|---:|",
    ]
    for element in ["cove-store", *[e for e, _ in ORDER]]:
        ep = [r.elements[element] for r in par if element in r.elements]
        es = [r.elements[element] for r in ser if element in r.elements]
        sent = [r.issued[element] for r in ser if element in r.issued]
        out.append(f"| {element} | {med(ep)} | {rng(ep)} | {med(es)} | {rng(es)} | {med(sent)} |")
    short = {"cove-store": "store", "keystone-db-create": "db-create",
             "keystone-db-sync": "db-sync", "keystone-bootstrap": "bootstrap"}  # fmt: skip
    names = ["cove-store", *[e for e, _ in ORDER]]
    out += [
        "",
        "Per round and element (same timestamps; `+n`: n of its tasks failed and were "
        "restarted by the swarm):",
        "",
        "| round | side | " + " | ".join(short.get(n, n) for n in names) + " | token |",
        "|---:|---|" + "---:|" * (len(names) + 1),
    ]
    for r in res.rounds:
        cells = [
            (f"{r.elements[n]:.1f}" if n in r.elements else "-")
            + (f" +{r.failed[n]}" if n in r.failed else "")
            for n in names
        ]
        out.append(f"| {r.index} | {r.side} | " + " | ".join(cells) + f" | {r.token:.1f} |")
    if samples:
        loads = [x[1] for x in samples]
        others = meta.get("others") or [0]
        out += [
            "",
            "1-minute load average while the rounds ran (sampled every second): "
            f"{min(loads):.1f}-{max(loads):.1f}, median {p50(loads):.1f}. Other engineers' "
            f"running containers (every 5 s): {min(others)}-{max(others)}.",
        ]
    out += [
        "",
        f"`uptime` at the start: `{meta.get('uptime_start', '?')}`; at the end: "
        f"`{meta.get('uptime_end', '?')}`.",
    ]
    checks = [f"{r.side}: {r.check}" for r in res.rounds if r.check]
    if checks:
        out += [
            "",
            "Real client (`openstack token issue`, untimed, first round of each side): "
            + "; ".join(checks)
            + ".",
        ]
    loaded = meta.get("loaded") or {}
    if loaded:
        out += [
            "",
            "Images loaded into every node before timing: "
            + ", ".join(f"`{k}` {v:.0f} s" for k, v in loaded.items())
            + ".",
        ]
    out += [
        "",
        f"Cleanup: cluster deleted through the API in {meta.get('delete_s', float('nan')):.1f}"
        f" s; {meta.get('swept', '?')} labelled objects swept, {meta.get('left', '?')} left.",
    ]
    out += [f"- {n}" for n in res.notes]
    if meta.get("serve_errors"):
        out += ["", "Errors in cove serve's log:", ""] + [
            f"    {e}" for e in meta["serve_errors"][:10]
        ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side (default 3)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    res = Results()
    meta: dict[str, Any] = {}
    started = now()
    run(args, res, meta)
    report = render_report(res, meta, args)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    log(f"done in {now() - started:.0f}s (run id {RUN_ID})")
    return 1 if res.failure or meta.get("left") else 0


if __name__ == "__main__":
    sys.exit(main())
