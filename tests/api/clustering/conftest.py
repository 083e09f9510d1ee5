"""Fixtures for the clustering API: a swarm-mode cove cluster to place containers on, and
a client speaking Senlin's microversion header under ``/clustering/v1``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Api, Response, template_body

SENLIN = {"OpenStack-API-Version": "clustering 1.14"}


@dataclass
class Senlin:
    api: Api
    host: str  # the host cluster's uuid
    host_name: str

    def as_project(self, project: str, roles: str = "member,reader") -> Senlin:
        return Senlin(self.api.as_project(project, roles), self.host, self.host_name)

    def request(self, method: str, path: str, **kw: Any) -> Response:
        headers = {**SENLIN, **kw.pop("headers", {})}
        return self.api.request(method, f"/clustering/v1{path}", headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def node(self, index: int = 0) -> str:
        return f"cove-{self.host[:8]}-worker-{index}"

    def profile(self, name: str = "web", **props: Any) -> dict[str, Any]:
        r = self.post(
            "/profiles", json={"profile": {"name": name, "spec": spec(self.host_name, **props)}}
        )
        assert r.status_code == 201, r.text
        return dict(r.json()["profile"])

    def cluster(self, name: str = "c1", profile: str | None = None, **body: Any) -> dict[str, Any]:
        profile = profile or self.profile()["id"]
        r = self.post("/clusters", json={"cluster": {"name": name, "profile_id": profile, **body}})
        assert r.status_code == 202, r.text
        return dict(r.json()["cluster"])


def spec(host: str | None, **props: Any) -> dict[str, Any]:
    properties = {"image": "nginx:alpine", **props}
    if host is not None:
        properties.setdefault("host_cluster", host)
    return {"type": "container.dockerinc.docker", "version": 1.0, "properties": properties}


def fault(response: Response, status: int, kind: str | None = None) -> str:
    """The message of Senlin's fault body, after checking the status and the kind."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status and body["error"]["code"] == status
    if kind is not None:
        assert body["error"]["type"] == kind, body
    return str(body["error"]["message"])


def host_cluster(api: Api, name: str = "host1", nodes: int = 2) -> str:
    if api.get("/v1/clustertemplates/swarm-tpl").status_code == 404:
        assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    r = api.post(
        "/v1/clusters", json={"name": name, "cluster_template_id": "swarm-tpl", "node_count": nodes}
    )
    assert r.status_code == 202, r.text
    api.settle()
    return str(r.json()["uuid"])


@pytest.fixture
def senlin(api: Api, catalog: dict[str, Any]) -> Senlin:
    return Senlin(api, host_cluster(api), "host1")
