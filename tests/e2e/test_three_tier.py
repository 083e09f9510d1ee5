"""End-to-end: the three-tier catalog package installed by name on a real swarm-mode cluster
made by a real ``cove serve``, from cove's postgres and items app images (built from Debian
packages), with no option but its port: the database password is generated. Everything is
created at once; the gates order it: PostgreSQL, then the schema task, then the API, then
the web tier. Through the web tier's published port an item goes in and comes back out (web
→ API → database), the schema task ran once, the password is in no service's spec, and an
undeploy leaves none of the deployment's services, files, network or volumes.

Figures (image builds or cache look-ups, deploy, undeploy) are printed at the end (``-s``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cove.images import BuiltImage
from cove.images.apps import ensure_app_image
from cove.settings import Settings
from tests.e2e.conftest import docker, until
from tests.e2e.test_deployments import api, services
from tests.e2e.test_swarm_cluster import CREATE_TIMEOUT, TEMPLATE, Cove

pytestmark = pytest.mark.e2e

DEPLOY_TIMEOUT = 300.0  # a cold node loads the postgres image (about 400 MB) first
WEB_PORT = 18080
OPTIONS = {"web_port": WEB_PORT}
FIGURES: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    print("\nthree-tier figures (s):", json.dumps({k: round(v, 1) for k, v in FIGURES.items()}))


@pytest.fixture(scope="module")
def images(docker_engine: None) -> list[BuiltImage]:
    """The package's images and the store's, built once (cached by content hash after)."""
    settings = Settings()
    built = []
    for name in ("etcd", "postgres", "items"):
        started = time.monotonic()
        built.append(ensure_app_image(name, settings.state_dir, docker_host=settings.docker_host))
        FIGURES[f"image {name}"] = time.monotonic() - started
    return built


@pytest.fixture(scope="module")
def cluster(cove: Cove, images: list[BuiltImage]) -> str:
    doc = cove.create("three", TEMPLATE, 1, 1)
    cove.wait_status(doc["uuid"], "CREATE_COMPLETE", CREATE_TIMEOUT)
    return str(doc["uuid"])


@pytest.fixture(scope="module")
def deployed(cove: Cove, cluster: str) -> dict[str, Any]:
    started = time.monotonic()
    body = {"name": "shop", "package": "three-tier", "options": OPTIONS}
    r = api(cove, "POST", f"/v1/clusters/{cluster}/deployments", json=body)
    assert r.status_code == 202, r.text
    seen: dict[str, Any] = {}

    def done() -> dict[str, Any] | None:
        seen.update(api(cove, "GET", f"/v1/clusters/{cluster}/deployments/shop").json())
        return seen if seen["status"] in ("CREATE_COMPLETE", "CREATE_FAILED") else None

    try:
        doc = until(done, DEPLOY_TIMEOUT, "three-tier deployment settled")
    finally:
        if seen.get("status") != "CREATE_COMPLETE":
            print(json.dumps(seen.get("progress"), indent=1), logs(cluster, seen.get("uuid", "")))
    assert doc["status"] == "CREATE_COMPLETE", (doc["status_reason"], doc["progress"])
    FIGURES["deploy to CREATE_COMPLETE"] = time.monotonic() - started
    return doc


def manager(cluster: str) -> str:
    return f"cove-{cluster[:8]}-manager-0"


def logs(cluster: str, uuid: str, tail: int = 15) -> str:
    out = []
    for service in services(cluster, f"cove.deployment={uuid}"):
        name = service["Spec"]["Name"]
        text = docker(
            "exec", manager(cluster), "docker", "service", "logs", "--raw", "--tail", str(tail),
            name, check=False,
        )  # fmt: skip
        out.append(f"--- {name}\n{text}")
    return "\n".join(out)


def web_address(cluster: str, uuid: str) -> str:
    """The address of the node the web tier runs on (its port is published on that node)."""
    nodes = docker(
        "exec", manager(cluster), "docker", "service", "ps", f"cove-{uuid[:8]}-web",
        "--filter", "desired-state=running", "--format", "{{.Node}}",
    ).split()  # fmt: skip
    assert len(nodes) == 1, nodes
    return docker(
        "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", nodes[0]
    )


def in_container(cluster: str, service: str, *argv: str) -> str:
    """``argv``'s output in the running container of ``service``, on its node."""
    (node,) = docker(
        "exec", manager(cluster), "docker", "service", "ps", service,
        "--filter", "desired-state=running", "--format", "{{.Node}}",
    ).split()  # fmt: skip
    label = f"label=com.docker.swarm.service.name={service}"
    (container,) = docker("exec", node, "docker", "ps", "-q", "--filter", label).split()
    return docker("exec", node, "docker", "exec", container, *argv)


def test_an_item_added_through_the_web_tier_is_read_back_from_the_database(
    cluster: str, deployed: dict[str, Any]
) -> None:
    assert {k: v["state"] for k, v in deployed["progress"].items()} == {
        "cove-store": "ready", "db": "ready", "db-schema": "done", "api": "ready", "web": "ready",
    }  # fmt: skip
    assert deployed["progress"]["api"]["detail"] == "2/2 running and healthy"
    base = f"http://{web_address(cluster, deployed['uuid'])}:{WEB_PORT}"
    with httpx.Client(base_url=base, timeout=10) as web:
        page = web.get("/")
        assert page.status_code == 200 and "<h1>Items</h1>" in page.text
        made = web.post("/api/items", json={"name": "crossed three tiers"})
        assert made.status_code == 201, made.text
        listed = web.get("/api/items").json()["items"]
        assert [i["name"] for i in listed] == ["crossed three tiers"]
        refused = web.post("/api/items", json={"name": ""})
        assert refused.status_code == 400 and "name" in refused.json()["error"]


def test_the_schema_task_ran_exactly_once(cluster: str, deployed: dict[str, Any]) -> None:
    uuid = deployed["uuid"]
    base = f"http://{web_address(cluster, uuid)}:{WEB_PORT}"
    schema = httpx.get(f"{base}/api/schema", timeout=10).json()
    assert schema["version"] == 1 and len(schema["runs"]) == 1, schema
    task_log = docker(
        "exec", manager(cluster), "docker", "service", "logs", "--raw", f"cove-{uuid[:8]}-db-schema"
    )  # fmt: skip
    states = docker(
        "exec", manager(cluster), "docker", "service", "ps", f"cove-{uuid[:8]}-db-schema",
        "--format", "{{.CurrentState}} {{.Error}}",
    ).splitlines()  # fmt: skip
    # One attempt: the gate started it only once the database was healthy.
    assert len(states) == 1 and states[0].startswith("Complete"), (states, task_log)
    assert task_log.count("schema version 1 applied") == 1, task_log
    FIGURES["schema task: database not reachable yet"] = task_log.count("not reachable yet")
    assert "(run 1)" in task_log
    # The generated password reached the database in a file, and no service's spec.
    password = in_container(cluster, f"cove-{uuid[:8]}-db", "cat", "/run/secrets/db-password")
    assert len(password) >= 32
    assert password not in json.dumps(services(cluster, f"cove.deployment={uuid}"))


def test_undeploy_leaves_nothing_of_it(cove: Cove, cluster: str, deployed: dict[str, Any]) -> None:
    uuid = deployed["uuid"]
    nodes = [manager(cluster), f"cove-{cluster[:8]}-worker-0"]
    assert any(volumes(node, uuid) for node in nodes), "the database's volume is not labelled"
    started = time.monotonic()
    gone = api(cove, "DELETE", f"/v1/clusters/{cluster}/deployments/shop")
    assert gone.status_code == 202, gone.text

    def removed() -> bool:
        return api(cove, "GET", f"/v1/clusters/{cluster}/deployments/shop").status_code == 404

    try:
        until(removed, DEPLOY_TIMEOUT, "undeploy of shop")
    finally:
        if not removed():  # what it waits on: the deployment's state and its leftovers
            print(api(cove, "GET", f"/v1/clusters/{cluster}/deployments/shop").text)
            for node in nodes:
                print(node, docker("exec", node, "docker", "ps", "-a", "--filter",
                                   f"label=cove.deployment={uuid}", check=False))  # fmt: skip
    FIGURES["undeploy"] = time.monotonic() - started
    assert services(cluster, f"cove.deployment={uuid}") == []
    for kind in ("config", "secret", "network"):
        left = docker(
            "exec", manager(cluster), "docker", kind, "ls", "-q",
            "--filter", f"label=cove.deployment={uuid}",
        )  # fmt: skip
        assert left == "", f"{kind}s left: {left}"
    assert {node: volumes(node, uuid) for node in nodes} == {node: [] for node in nodes}


def volumes(node: str, uuid: str) -> list[str]:
    filtered = ("--filter", f"label=cove.deployment={uuid}")
    return docker("exec", node, "docker", "volume", "ls", "-q", *filtered).split()
