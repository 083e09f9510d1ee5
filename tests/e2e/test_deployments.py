"""End-to-end: a deployment on a real swarm-mode cluster made by a real ``cove serve``, from
cove's etcd app image (built from Debian packages; the smallest). Everything is created at
once and gated in the containers through the deployment's own etcd: a key-value service,
a task that seeds it once the service is healthy, a reader that starts only once the task
is done. Then an undeploy leaves nothing of it while another deployment stays."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from cove.images import BuiltImage
from cove.images.apps import ensure_app_image
from cove.settings import Settings
from tests.e2e.conftest import docker, until
from tests.e2e.test_swarm_cluster import CREATE_TIMEOUT, HEADERS, TEMPLATE, Cove

pytestmark = pytest.mark.e2e

DEPLOY_TIMEOUT = 180.0
ETCDCTL = "etcdctl --endpoints http://kv:2379"
DEFINITION = f"""
name: gated
services:
  kv:
    image: cove/app-etcd
    command: [etcd, --data-dir, /tmp/kv, --listen-client-urls, "http://0.0.0.0:2379",
              --advertise-client-urls, "http://kv:2379"]
    health_check: {{test: [etcdctl, endpoint, health], interval_s: 1, retries: 30}}
  reader:
    image: cove/app-etcd
    command: "{ETCDCTL} get greeting --print-value-only > /tmp/seen && exec sleep 3600"
    requires: [{{task: seed}}]
tasks:
  seed:
    image: cove/app-etcd
    command: "{ETCDCTL} put greeting hello"
    requires: [{{service: kv}}]
"""


@pytest.fixture(scope="module")
def etcd_image(docker_engine: None) -> BuiltImage:
    settings = Settings()
    return ensure_app_image("etcd", settings.state_dir, docker_host=settings.docker_host)


@pytest.fixture(scope="module")
def cluster(cove: Cove, etcd_image: BuiltImage) -> str:
    doc = cove.create("apps", TEMPLATE, 1, 1)
    cove.wait_status(doc["uuid"], "CREATE_COMPLETE", CREATE_TIMEOUT)
    return str(doc["uuid"])


def api(cove: Cove, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{cove.server.url}{path}", headers=HEADERS, timeout=30, **kw)


def settled(cove: Cove, cluster: str, name: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def done() -> dict[str, Any] | None:
        seen.update(api(cove, "GET", f"/v1/clusters/{cluster}/deployments/{name}").json())
        return seen if seen["status"] in ("CREATE_COMPLETE", "CREATE_FAILED") else None

    try:
        doc = until(done, DEPLOY_TIMEOUT, f"deployment {name} settled")
    finally:
        if seen.get("status") != "CREATE_COMPLETE":
            print(json.dumps(seen.get("progress"), indent=1), _logs(cluster, seen.get("uuid", "")))
    assert doc["status"] == "CREATE_COMPLETE", (doc["status_reason"], doc["progress"])
    return doc


def _logs(cluster: str, uuid: str) -> str:
    """What each of the deployment's services wrote (for a failure's report)."""
    manager = f"cove-{cluster[:8]}-manager-0"
    out = []
    for service in services(cluster, f"cove.deployment={uuid}"):
        name = service["Spec"]["Name"]
        logs = docker(
            "exec", manager, "docker", "service", "logs", "--tail", "15", name, check=False
        )  # fmt: skip
        out.append(f"--- {name}\n{logs}")
    return "\n".join(out)


def services(cluster: str, label: str) -> list[dict[str, Any]]:
    """The swarm's services carrying ``label``, from a manager of the cluster."""
    manager = f"cove-{cluster[:8]}-manager-0"
    out = docker(
        "exec", manager, "docker", "service", "ls", "--filter", f"label={label}",
        "--format", "{{.Name}}",
    )  # fmt: skip
    names = out.split()
    if not names:
        return []
    inspected = docker("exec", manager, "docker", "service", "inspect", *names)
    return list(json.loads(inspected))


def test_everything_starts_at_once_and_the_gates_order_it(cove: Cove, cluster: str) -> None:
    r = api(cove, "POST", f"/v1/clusters/{cluster}/deployments",
            json={"name": "gated", "definition": DEFINITION})  # fmt: skip
    assert r.status_code == 202, r.text
    uuid = r.json()["uuid"]
    doc = settled(cove, cluster, "gated")
    assert {k: v["state"] for k, v in doc["progress"].items()} == {
        "cove-store": "ready", "kv": "ready", "reader": "ready", "seed": "done",
    }  # fmt: skip
    made = services(cluster, f"cove.deployment={uuid}")
    created = sorted(datetime.fromisoformat(s["CreatedAt"][:19]) for s in made)
    assert len(made) == 4
    # All four made together: the conductor does not wait for one to be ready (the store and
    # kv take seconds to be healthy) before making the next; their gates order them.
    assert (created[-1] - created[0]).total_seconds() < 10, created
    # The reader ran its command only after the seed task was done: it read the value.
    manager = f"cove-{cluster[:8]}-manager-0"
    tasks = docker(
        "exec", manager, "docker", "service", "ps", f"cove-{uuid[:8]}-reader",
        "--filter", "desired-state=running", "--format", "{{.Node}}",
    ).split()  # fmt: skip
    assert tasks, "no running reader"
    node = tasks[0]
    service = f"label=com.docker.swarm.service.name=cove-{uuid[:8]}-reader"
    container = docker("exec", node, "docker", "ps", "-q", "--filter", service).split()[0]
    assert docker("exec", node, "docker", "exec", container, "cat", "/tmp/seen") == "hello"


def test_undeploy_leaves_nothing_and_another_deployment_stays(cove: Cove, cluster: str) -> None:
    body = {"name": "other", "definition": DEFINITION.replace("name: gated", "name: other")}
    other = api(cove, "POST", f"/v1/clusters/{cluster}/deployments", json=body)
    assert other.status_code == 202, other.text
    settled(cove, cluster, "other")
    gone = api(cove, "DELETE", f"/v1/clusters/{cluster}/deployments/gated")
    assert gone.status_code == 202, gone.text
    uuid = gone.json()["uuid"]

    def removed() -> bool:
        return api(cove, "GET", f"/v1/clusters/{cluster}/deployments/gated").status_code == 404

    until(removed, DEPLOY_TIMEOUT, "undeploy of gated")
    assert services(cluster, f"cove.deployment={uuid}") == []
    assert len(services(cluster, f"cove.deployment={other.json()['uuid']}")) == 4
