# ruff: noqa: E501  (the SDK script is one string; its lines read as the user writes them)
"""Senlin's clients against cove's clustering API (``/clustering/v1``):

- ``openstack --os-auth-type none --os-endpoint URL/clustering/v1 cluster …`` (python-senlinclient
  3.1.0 in the ``senlin`` venv: with ``auth_type none`` the endpoint serves every service type);
- openstacksdk's ``conn.clustering`` with a clouds.yaml whose ``auth.endpoint`` is the same URL.

The server's conductor carries the actions out on the instant driver's in-memory container
host, so clusters grow, shrink and answer webhooks as they would on real engines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import LATEST, Api, Cli, Sdk, _client_env, unique

pytestmark = pytest.mark.compat

SEED_SPEC = """\
type: container.dockerinc.docker
version: 1.0
properties:
  image: nginx:alpine
  command: sleep 1000
  host_node: {node}
  host_cluster: {cluster}
  port: 2375
"""


@pytest.fixture(scope="module")
def host(api: Api, world: dict[str, str]) -> dict[str, str]:
    """A swarm-mode cove cluster (instant driver) to place containers on."""
    template = unique("cl-tpl")
    r = httpx.post(
        f"{api.base}/v1/clustertemplates",
        headers=LATEST,
        json={
            "name": template, "coe": "swarm-mode", "image_id": world["image"],
            "external_network_id": world["network"], "flavor_id": world["flavor"],
            "master_flavor_id": world["flavor"], "keypair_id": world["keypair"],
        },
        timeout=10,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    name = unique("cl-host")
    r = httpx.post(
        f"{api.base}/v1/clusters",
        headers=LATEST,
        json={"name": name, "cluster_template_id": template, "node_count": 1},
        timeout=10,
    )
    assert r.status_code == 202, r.text
    uuid = r.json()["uuid"]
    api.settled(f"/v1/clusters/{uuid}")
    return {"name": name, "uuid": uuid, "node": f"cove-{uuid[:8]}-worker-0"}


@pytest.fixture(scope="module")
def cluster_cli(clients: Path, cove_url: str, client_home: Path) -> Cli:
    binary = clients / "senlin" / "bin" / "openstack"
    prefix = [str(binary), "--os-auth-type", "none", "--os-endpoint", f"{cove_url}/clustering/v1"]
    return Cli(prefix, _client_env(client_home), client_home)


@pytest.fixture(scope="module")
def clustering_sdk(clients: Path, cove_url: str, tmp_path_factory: pytest.TempPathFactory) -> Sdk:
    home = tmp_path_factory.mktemp("sdk-clustering-home")
    clouds = home / "clouds.yaml"
    clouds.write_text(
        f"clouds:\n  cove:\n    auth_type: none\n    auth:\n      endpoint: {cove_url}/clustering/v1\n"
    )
    env = _client_env(home)
    env["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    return Sdk(clients / "sdk" / "bin" / "python", env, home)


def test_openstack_cluster_commands(
    cluster_cli: Cli, api: Api, host: dict[str, str], tmp_path: Path
) -> None:
    cli = cluster_cli
    info = cli("cluster build info").stdout
    assert "revision" in info
    types = cli.json("cluster profile type list")
    assert {"name": "container.dockerinc.docker", "version": "1.0"}.items() <= types[0].items()
    shown = cli.json("cluster profile type show container.dockerinc.docker-1.0")
    assert "host_cluster" in shown["schema"]

    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(SEED_SPEC.format(node=host["node"], cluster=host["name"]))
    name = unique("prof")
    profile = cli.json(f"cluster profile create --spec-file {spec_file} {name}")
    assert profile["type"] == "container.dockerinc.docker-1.0"
    assert name in {p["name"] for p in cli.json("cluster profile list")}
    assert cli.json(f"cluster profile show {name}")["id"] == profile["id"]
    renamed = unique("prof")
    assert cli.json(f"cluster profile update --name {renamed} {name}")["name"] == renamed
    assert (
        cli.json(f"cluster profile validate --spec-file {spec_file}")["name"] == "validated_profile"
    )

    bad = tmp_path / "bad.yaml"
    bad.write_text(SEED_SPEC.format(node="nowhere-0", cluster=host["name"]))
    refused = cli(f"cluster profile create --spec-file {bad} {unique('bad')}", ok=False)
    assert "is not a node of host_cluster" in refused.output

    policy_types = {(t["name"], t["version"]) for t in cli.json("cluster policy type list")}
    assert ("senlin.policy.scaling", "1.0") in policy_types
    assert cli.json("cluster policy type show senlin.policy.scaling-1.0")["name"].startswith(
        "senlin"
    )
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        "type: senlin.policy.deletion\nversion: 1.1\nproperties:\n  criteria: OLDEST_FIRST\n"
    )
    policy = unique("pol")
    created = cli.json(f"cluster policy create --spec-file {policy_file} {policy}")
    assert created["type"] == "senlin.policy.deletion-1.1"
    assert policy in {p["name"] for p in cli.json("cluster policy list")}
    assert cli.json(f"cluster policy show {policy}")["id"] == created["id"]
    assert cli.json(f"cluster policy validate --spec-file {policy_file}")["name"]

    cname = unique("cc")
    cluster = cli.json(
        f"cluster create --profile {renamed} --desired-capacity 1 --max-size 3 {cname}"
    )
    # The client shows the cluster it reads back: the conductor may have started on it.
    assert cluster["status"] in ("INIT", "CREATING", "ACTIVE") and cluster["desired_capacity"] == 1
    assert cname in {c["name"] for c in cli.json("cluster list")}
    assert cli.json(f"cluster show {cname}")["id"] == cluster["id"]

    rname = unique("rcv")
    receiver = cli.json(
        f"cluster receiver create --cluster {cname} --action CLUSTER_SCALE_OUT --params count=1 {rname}"
    )
    channel = receiver["channel"]
    channel = json.loads(channel) if isinstance(channel, str) else channel
    assert "/clustering/v1/webhooks/" in channel["alarm_url"]
    assert receiver["id"] not in channel["alarm_url"]  # a secret of its own, not the id
    assert rname in {r["name"] for r in cli.json("cluster receiver list")}
    assert cli.json(f"cluster receiver show {rname}")["action"] == "CLUSTER_SCALE_OUT"

    active = _until(api, f"/clustering/v1/clusters/{cluster['id']}", "ACTIVE")
    assert len(active["nodes"]) == 1
    cli(f"cluster expand --count 2 {cname}")
    assert len(_until(api, f"/clustering/v1/clusters/{cluster['id']}", "ACTIVE", 3)["nodes"]) == 3
    members = cli.json(f"cluster members list {cname}")
    assert len(members) == 3 and {m["status"] for m in members} == {"ACTIVE"}
    cli(f"cluster shrink --count 1 {cname}")
    assert len(_until(api, f"/clustering/v1/clusters/{cluster['id']}", "ACTIVE", 2)["nodes"]) == 2
    cli(f"cluster check {cname}")
    _until(api, f"/clustering/v1/clusters/{cluster['id']}", "ACTIVE", 2)
    fired = httpx.post(channel["alarm_url"], timeout=10)  # no credentials: the URL is the secret
    assert fired.status_code == 202, fired.text
    assert len(_until(api, f"/clustering/v1/clusters/{cluster['id']}", "ACTIVE", 3)["nodes"]) == 3

    listed = cli.json("cluster action list")
    mine = [
        a
        for a in listed
        if a["action"] == "CLUSTER_CREATE" and cluster["id"].startswith(a["target_id"][:8])
    ]
    assert mine and mine[0]["status"] == "SUCCEEDED"
    action = cli.json(f"cluster action show {mine[0]['id']}")
    assert action["action"] == "CLUSTER_CREATE" and action["cause"] == "RPC Request"
    events = cli.json("cluster event list")
    assert any(e["action"] == "CLUSTER_CREATE" for e in events)

    cli(f"cluster receiver delete {rname}")
    cli(f"cluster policy delete {policy}")
    in_use = cli(f"cluster profile delete {renamed}", ok=None)
    assert "still referenced" in in_use.output


def test_openstacksdk_clustering(clustering_sdk: Sdk, host: dict[str, str]) -> None:
    spec = {
        "type": "container.dockerinc.docker",
        "version": 1.0,
        "properties": {"image": "nginx:alpine", "host_cluster": host["uuid"], "port": 2375},
    }
    name = unique("sdkp")
    values: list[Any] = clustering_sdk.values(
        f"""
        cl = conn.clustering
        emit(cl.get_build_info().api)
        emit([t.name for t in cl.profile_types()])
        spec = {spec!r}
        p = cl.create_profile(name={name!r}, spec=spec)
        emit(p.type)
        emit(cl.post("/profiles/validate", json={{"profile": {{"spec": spec}}}}, microversion="1.2").status_code)
        emit(cl.update_profile(p, name={name!r} + "-2").name)
        pol = cl.create_policy(name={name!r}, spec={{"type": "senlin.policy.scaling", "version": "1.0",
                                                      "properties": {{"event": "CLUSTER_SCALE_OUT"}}}})
        emit(cl.get_policy(pol.id).type)
        c = cl.create_cluster(name={name!r}, profile_id=p.id, max_size=3, desired_capacity=1)
        emit(c.status)
        emit(cl.get_cluster(c.id).desired_capacity)
        r = cl.create_receiver(name={name!r}, type="webhook", cluster_id=c.id,
                               action="CLUSTER_SCALE_IN", params={{"count": 1}})
        emit(r.channel["alarm_url"])
        acts = [a for a in cl.actions() if a.target_id == c.id]
        emit([(a.action, a.status) for a in acts])
        emit(cl.get_action(acts[0].id).cause)
        emit(len(list(cl.events(obj_id=c.id))) > 0)
        cl.delete_receiver(r.id)
        cl.delete_policy(pol.id)
        emit(cl.delete_cluster(c.id).id != acts[0].id)
        """
    )
    (
        api_revision,
        types,
        ptype,
        validated,
        renamed,
        poltype,
        status,
        desired,
        url,
        acts,
        cause,
        has_events,
        deleted,
    ) = values
    assert "revision" in api_revision
    assert types == ["container.dockerinc.docker-1.0"]
    assert ptype == "container.dockerinc.docker-1.0"
    assert validated == 200
    assert renamed == f"{name}-2"
    assert poltype == "senlin.policy.scaling-1.0"
    assert status in ("INIT", "CREATING", "ACTIVE") and desired == 1
    assert "/clustering/v1/webhooks/" in url and url.endswith("trigger?V=2")
    assert (
        acts and acts[0][0] == "CLUSTER_CREATE" and acts[0][1] in ("READY", "RUNNING", "SUCCEEDED")
    )  # the SDK script does not wait for the conductor
    assert cause == "RPC Request"
    assert has_events is True
    assert deleted is True


def _until(api: Api, path: str, status: str, members: int | None = None) -> dict[str, Any]:
    """The container cluster once it has ``status`` (and ``members`` nodes)."""

    def done(resp: httpx.Response) -> bool:
        body = resp.json().get("cluster", {}) if resp.status_code == 200 else {}
        return body.get("status") == status and (
            members is None or len(body.get("nodes") or []) == members
        )

    return dict(api.wait(path, done).json()["cluster"])
