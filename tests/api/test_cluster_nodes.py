"""GET /v1/clusters/{ident}/nodes (a cove extension): each node of the cluster with its role,
node group, address, readiness and load, through the cluster driver's container host (the
instant driver's in-memory one here); the cluster show's visibility: 404 for unknown and
other projects' clusters."""

from __future__ import annotations

from typing import Any

import pytest

from cove.drivers.memoryhost import MemoryContainerHost
from cove.failures import Temporary
from tests.conftest import Api, error_detail, template_body
from tests.support.drivers import InstantDriver

Catalog = dict[str, Any]


@pytest.fixture
def cluster(api: Api, catalog: Catalog) -> dict[str, Any]:
    """A settled cluster c1: one manager, two workers."""
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    body = {"name": "c1", "cluster_template_id": "swarm-tpl", "node_count": 2}
    assert api.post("/v1/clusters", json=body).status_code == 202
    api.settle()
    return dict(api.get("/v1/clusters/c1").json())


def host_of(api: Api, cluster: dict[str, Any]) -> MemoryContainerHost:
    """The in-memory host the driver made for the cluster (made by the first listing)."""
    assert api.get(f"/v1/clusters/{cluster['uuid']}/nodes").status_code == 200
    return InstantDriver.hosts[cluster["uuid"]]


def test_nodes_show_role_group_address_readiness_and_load(
    api: Api, cluster: dict[str, Any]
) -> None:
    response = api.get("/v1/clusters/c1/nodes")
    assert response.status_code == 200, response.text
    host = host_of(api, cluster)
    nodes = response.json()["nodes"]
    assert [(n["role"], n["nodegroup"]) for n in nodes] == [
        ("manager", "default-master"),
        ("worker", "default-worker"),
        ("worker", "default-worker"),
    ]
    assert [n["address"] for n in nodes] == ["10.0.0.2", "10.1.0.2", "10.1.0.3"]
    assert all(n["ready"] for n in nodes)
    worker = nodes[1]["name"]
    host.set_load(worker, cpu=1.0, cpus=2.0, memory=256 << 20, memory_limit=1 << 30)
    again = {n["name"]: n for n in api.get(f"/v1/clusters/{cluster['uuid']}/nodes").json()["nodes"]}
    assert again[worker]["load"] == {
        "cpu": 1.0, "cpus": 2.0, "memory": 256 << 20, "memory_limit": 1 << 30,
        "containers": 0, "score": 0.375,
    }  # fmt: skip


def test_a_node_whose_engine_does_not_answer_is_not_ready_and_has_no_load(
    api: Api, cluster: dict[str, Any]
) -> None:
    host = host_of(api, cluster)
    names = [n.name for n in host.nodes()]
    host.stop_node(names[2])
    host.lose_node(names[1])
    nodes = api.get("/v1/clusters/c1/nodes").json()["nodes"]
    assert [(n["name"], n["ready"], n["load"] is None) for n in nodes] == [
        (names[0], True, False),
        (names[2], False, True),
    ]


def test_engines_that_do_not_answer_are_a_503_saying_so(api: Api, cluster: dict[str, Any]) -> None:
    host_of(api, cluster).faults.fail("nodes", Temporary("provider engine unreachable"))
    response = api.get("/v1/clusters/c1/nodes")
    assert response.status_code == 503
    assert "do not answer now: provider engine unreachable" in error_detail(response)


def test_unknown_and_other_projects_clusters_are_404(api: Api, cluster: dict[str, Any]) -> None:
    assert api.get("/v1/clusters/nope/nodes").status_code == 404
    other = api.as_project("someone-else")
    response = other.get(f"/v1/clusters/{cluster['uuid']}/nodes")
    assert response.status_code == 404, response.text
    assert "could not be found" in error_detail(response)
    assert api.get("/v1/clusters/c1/nodes?x=1").status_code == 400
