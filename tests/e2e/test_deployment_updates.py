"""End-to-end: updating a deployment on a real swarm-mode cluster made by a real ``cove
serve``, from cove's etcd app image. A key-value service, a task that seeds it and a reader
that reads what the task wrote. An update that changes all three goes in dependency order:
the service healthy at its new version, then the task run again, then the reader, which
reads the new value (cove-gate alone would have let it read before: the old run's ``done``
is in the store). An update whose new service never passes its health check is rolled back
by swarm: UPDATE_FAILED naming the service and why, what requires it left on its old spec,
the old version still answering."""

from __future__ import annotations

import json
import re
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

TIMEOUT = 240.0
ETCDCTL = "etcdctl --endpoints http://kv:2379"
KV_HEALTHY = "[etcdctl, endpoint, health]"
KV_NEVER_HEALTHY = '[etcdctl, --endpoints, "http://127.0.0.1:1", endpoint, health]'


def definition(greeting: str, kv_flags: str = "", kv_health: str = KV_HEALTHY) -> str:
    return f"""
name: rolling
services:
  kv:
    image: cove/app-etcd
    command: [etcd, --data-dir, /tmp/kv, --listen-client-urls, "http://0.0.0.0:2379",
              --advertise-client-urls, "http://kv:2379"{kv_flags}]
    health_check: {{test: {kv_health}, interval_s: 1, retries: 3}}
  reader:
    image: cove/app-etcd
    command: "{ETCDCTL} get greeting --print-value-only > /tmp/seen && echo expects {greeting}
      && exec sleep 3600"
    requires: [{{task: seed}}]
tasks:
  seed:
    image: cove/app-etcd
    command: "{ETCDCTL} put greeting {greeting}"
    requires: [{{service: kv}}]
"""


@pytest.fixture(scope="module")
def etcd_image(docker_engine: None) -> BuiltImage:
    settings = Settings()
    return ensure_app_image("etcd", settings.state_dir, docker_host=settings.docker_host)


@pytest.fixture(scope="module")
def cluster(cove: Cove, etcd_image: BuiltImage) -> str:
    doc = cove.create("rolling", TEMPLATE, 1, 1)
    cove.wait_status(doc["uuid"], "CREATE_COMPLETE", CREATE_TIMEOUT)
    return str(doc["uuid"])


def api(cove: Cove, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{cove.server.url}{path}", headers=HEADERS, timeout=30, **kw)


def settled(cove: Cove, cluster: str, ends: tuple[str, ...]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def done() -> dict[str, Any] | None:
        seen.update(api(cove, "GET", f"/v1/clusters/{cluster}/deployments/rolling").json())
        return seen if seen["status"] in ends else None

    try:
        return until(done, TIMEOUT, f"deployment rolling in {ends}")
    finally:
        print(seen.get("status"), seen.get("status_reason"), json.dumps(seen.get("progress")))


def manager(cluster: str) -> str:
    return f"cove-{cluster[:8]}-manager-0"


def inspect(cluster: str, uuid: str, element: str) -> dict[str, Any]:
    out = docker("exec", manager(cluster), "docker", "service", "inspect", _name(uuid, element))
    return dict(json.loads(out)[0])


def _name(uuid: str, element: str) -> str:
    return f"cove-{uuid[:8]}-{element}"


def at(stamp: str) -> datetime:
    """A swarm timestamp (nanoseconds, ``Z``) as a datetime."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{whole}.{(fraction + '000000')[:6]}+00:00")


def reader_container(cluster: str, uuid: str) -> tuple[str, str]:
    """(node, container id) of the running reader."""
    nodes = docker(
        "exec", manager(cluster), "docker", "service", "ps", _name(uuid, "reader"),
        "--filter", "desired-state=running", "--format", "{{.Node}}",
    ).split()  # fmt: skip
    assert nodes, "no running reader"
    label = f"label=com.docker.swarm.service.name={_name(uuid, 'reader')}"
    container = docker("exec", nodes[0], "docker", "ps", "-q", "--filter", label).split()[0]
    return nodes[0], container


def in_reader(cluster: str, uuid: str, *argv: str) -> str:
    node, container = reader_container(cluster, uuid)
    return docker("exec", node, "docker", "exec", container, *argv)


def seen(cluster: str, uuid: str) -> str:
    """What the reader read. Its shell makes /tmp/seen (empty) before etcdctl answers, and
    the reader is ready once started: the value may land a moment after the deployment
    completes."""
    return until(lambda: in_reader(cluster, uuid, "cat", "/tmp/seen"), 30, "the reader's value")


def test_an_update_goes_in_order_and_a_failing_one_is_rolled_back(cove: Cove, cluster: str) -> None:
    r = api(cove, "POST", f"/v1/clusters/{cluster}/deployments",
            json={"name": "rolling", "definition": definition("hello")})  # fmt: skip
    assert r.status_code == 202, r.text
    uuid = r.json()["uuid"]
    assert settled(cove, cluster, ("CREATE_COMPLETE", "CREATE_FAILED"))["status"] == (
        "CREATE_COMPLETE"
    )
    assert seen(cluster, uuid) == "hello"
    store = inspect(cluster, uuid, "cove-store")["Version"]["Index"]

    # 1. Everything changes: kv's command, the value seed writes, the reader.
    v2 = definition("hello-v2", kv_flags=', --auto-compaction-retention, "1h"')
    r = api(cove, "PATCH", f"/v1/clusters/{cluster}/deployments/rolling", json={"definition": v2})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "UPDATE_IN_PROGRESS"
    doc = settled(cove, cluster, ("UPDATE_COMPLETE", "UPDATE_FAILED"))
    assert doc["status"] == "UPDATE_COMPLETE", doc["status_reason"]
    kv, seed, reader = (inspect(cluster, uuid, e) for e in ("kv", "seed", "reader"))
    # kv converged (healthy at its new version, the rollout over) before seed was made
    # again, and seed ran before the reader changed: the new reader read the new value,
    # though kv's new instance started empty.
    assert at(kv["UpdateStatus"]["CompletedAt"]) <= at(seed["CreatedAt"])
    assert at(seed["CreatedAt"]) <= at(reader["UpdateStatus"]["StartedAt"])
    assert seen(cluster, uuid) == "hello-v2"
    assert inspect(cluster, uuid, "cove-store")["Version"]["Index"] == store  # untouched

    # 2. kv's new version never passes its health check; seed and the reader would follow.
    v3 = definition("hello-v3", kv_flags=', --auto-compaction-retention, "2h"',
                    kv_health=KV_NEVER_HEALTHY)  # fmt: skip
    before = {e: inspect(cluster, uuid, e) for e in ("kv", "seed", "reader")}
    r = api(cove, "PATCH", f"/v1/clusters/{cluster}/deployments/rolling", json={"definition": v3})
    assert r.status_code == 202, r.text
    doc = settled(cove, cluster, ("UPDATE_COMPLETE", "UPDATE_FAILED"))
    assert doc["status"] == "UPDATE_FAILED"
    reason = doc["status_reason"]
    assert "service kv was rolled back to its previous version" in reason, reason
    assert "it never passed its health check" in reason, reason
    assert "reader, seed left on the previous version" in reason, reason
    assert doc["progress"]["kv"]["state"] == "failed"
    kv = inspect(cluster, uuid, "kv")
    assert kv["UpdateStatus"]["State"] == "rollback_completed"
    assert kv["Spec"]["Labels"] == before["kv"]["Spec"]["Labels"]  # the v2 spec runs
    for element in ("seed", "reader"):  # not touched
        assert inspect(cluster, uuid, element)["Version"] == before[element]["Version"]
    # The old version still answers, and the reader still has what it read.
    health = in_reader(cluster, uuid, "sh", "-c", f"{ETCDCTL} endpoint health 2>&1")
    assert re.search(r"is healthy", health), health
    assert seen(cluster, uuid) == "hello-v2"
