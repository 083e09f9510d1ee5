# ruff: noqa: E501  (the SDK script is one string; its lines read as the user writes them)
"""Senlin's clients against cove's clustering API (``/clustering/v1``):

- ``openstack --os-auth-type none --os-endpoint URL/clustering/v1 cluster …`` (python-senlinclient
  3.1.0 in the ``senlin`` venv: with ``auth_type none`` the endpoint serves every service type);
- openstacksdk's ``conn.clustering`` with a clouds.yaml whose ``auth.endpoint`` is the same URL.

The server's conductor carries the actions out on the instant driver's in-memory container
host, so clusters grow, shrink and answer webhooks as they would on real engines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Api, Cli, Login, Result, Sdk, _client_env, unique

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
        headers=api.headers,
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
        headers=api.headers,
        json={"name": name, "cluster_template_id": template, "node_count": 1},
        timeout=10,
    )
    assert r.status_code == 202, r.text
    uuid = r.json()["uuid"]
    api.settled(f"/v1/clusters/{uuid}")
    return {"name": name, "uuid": uuid, "node": f"cove-{uuid[:8]}-worker-0"}


@pytest.fixture(scope="module")
def cluster_cli(clients: Path, cove_url: str, client_home: Path, login: Login) -> Cli:
    binary = clients / "senlin" / "bin" / "openstack"
    prefix = [str(binary), *login.options(f"{cove_url}/clustering/v1")]
    return Cli(prefix, _client_env(client_home), client_home)


@pytest.fixture(scope="module")
def clustering_sdk(
    clients: Path, cove_url: str, tmp_path_factory: pytest.TempPathFactory, login: Login
) -> Sdk:
    home = tmp_path_factory.mktemp("sdk-clustering-home")
    clouds = home / "clouds.yaml"
    clouds.write_text(login.clouds_yaml(f"{cove_url}/clustering/v1"))
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


def test_openstack_cluster_update_resize_bindings_and_delete(
    cluster_cli: Cli, api: Api, host: dict[str, str], tmp_path: Path
) -> None:
    """The cluster commands beyond create/expand/shrink: update, resize, policy bindings,
    receiver and policy update, recover, op, collect, action update, service list, event
    show, profile type ops, and delete (refused while a receiver points at the cluster)."""
    cli = cluster_cli
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(SEED_SPEC.format(node=host["node"], cluster=host["name"]))
    first, second = unique("prof"), unique("prof")
    cli(f"cluster profile create --spec-file {spec_file} {first}")
    cli(f"cluster profile create --spec-file {spec_file} {second}")
    ops = cli.json("cluster profile type ops container.dockerinc.docker-1.0")["operations"]
    assert {"restart", "pause", "unpause"} <= set(ops)

    cname = unique("cc")
    cid = cli.json(f"cluster create --profile {first} --desired-capacity 2 --max-size 4 {cname}")[
        "id"
    ]
    path = f"/clustering/v1/clusters/{cid}"
    _until(api, path, "ACTIVE", 2)

    # update: name, timeout and metadata at once, then the profile (members follow it)
    renamed = unique("cc")
    updated = cli.json(
        f"cluster update --name {renamed} --timeout 1200 --metadata 'tier=web;team=ops' {cname}"
    )
    assert updated["name"] == renamed and updated["status"] in ("UPDATING", "ACTIVE")
    _until(api, path, "ACTIVE", 2)
    shown = cli.json(f"cluster show {renamed}")
    assert shown["timeout"] == 1200 and _doc(shown["metadata"]) == {"tier": "web", "team": "ops"}
    cli(f"cluster update --profile {second} {renamed}")
    _until(api, path, "ACTIVE", 2)
    assert cli.json(f"cluster show {renamed}")["profile_name"] == second
    nodes = cli.json(f"cluster node list --cluster {renamed}")
    assert [n["profile_name"] for n in nodes] == [second, second]
    assert {n["status"] for n in nodes} == {"ACTIVE"}

    # resize: bounds, exact capacity, adjustment, percentage with min-step, and a refusal
    def resized(args: str, desired: int) -> dict[str, Any]:
        _finished(api, cli(f"cluster resize {args} {renamed}"))
        cluster = _until(api, path, "ACTIVE", desired)
        assert cluster["desired_capacity"] == desired
        return cluster

    bounds = resized("--min-size 1 --max-size 6", 2)
    assert (bounds["min_size"], bounds["max_size"]) == (1, 6)
    resized("--capacity 4", 4)
    resized("--adjustment -2", 2)
    resized("--percentage 10 --min-step 2", 4)  # 10 % of 2 is under one node: min-step 2
    # The client prints Senlin's fault and exits 0 (python-senlinclient 3.1.0 does so).
    refused = cli(f"cluster resize --capacity 9 --strict {renamed}")
    assert "Request error" in refused.output
    assert "The target capacity (9) is greater than the cluster's max_size (6)." in refused.output
    refused = cli(f"cluster resize --min-size 7 {renamed}")
    assert "min_size (7) is greater than the current max_size (6)" in refused.output
    assert cli.json(f"cluster show {renamed}")["desired_capacity"] == 4

    # policy bindings: attach, list, show, update (disable), filter, rename, detach
    policy_file = tmp_path / "deletion.yaml"
    policy_file.write_text(
        "type: senlin.policy.deletion\nversion: 1.1\nproperties:\n  criteria: OLDEST_FIRST\n"
    )
    policy = unique("pol")
    cli(f"cluster policy create --spec-file {policy_file} {policy}")
    _finished(api, cli(f"cluster policy attach --policy {policy} {renamed}"))
    (binding,) = cli.json(f"cluster policy binding list {renamed}")
    assert binding["policy_name"] == policy and binding["is_enabled"] is True
    assert binding["policy_type"] == "senlin.policy.deletion-1.1"
    shown = cli.json(f"cluster policy binding show --policy {policy} {renamed}")
    assert shown["cluster_name"] == renamed and shown["is_enabled"] is True
    _finished(
        api, cli(f"cluster policy binding update --policy {policy} --enabled false {renamed}")
    )
    assert (
        cli.json(f"cluster policy binding show --policy {policy} {renamed}")["is_enabled"] is False
    )
    assert cli.json(f"cluster policy binding list --filters is_enabled=true {renamed}") == []
    policy2 = unique("pol")
    assert cli.json(f"cluster policy update --name {policy2} {policy}")["name"] == policy2
    assert cli.json(f"cluster policy binding list {renamed}")[0]["policy_name"] == policy2
    _finished(api, cli(f"cluster policy detach --policy {policy2} {renamed}"))
    assert cli.json(f"cluster policy binding list {renamed}") == []
    cli(f"cluster policy delete {policy2}")

    # receiver update: the same webhook URL now scales in by two
    rname = unique("rcv")
    receiver = cli.json(
        f"cluster receiver create --cluster {renamed} --action CLUSTER_SCALE_OUT --params count=1 {rname}"
    )
    url = _doc(receiver["channel"])["alarm_url"]
    rname2 = unique("rcv")
    changed = cli.json(
        f"cluster receiver update --name {rname2} --action CLUSTER_SCALE_IN --params count=2 {rname}"
    )
    assert changed["name"] == rname2 and changed["action"] == "CLUSTER_SCALE_IN"
    assert _doc(changed["params"]) == {"count": "2"}
    assert httpx.post(url, timeout=10).status_code == 202
    assert _until(api, path, "ACTIVE", 2)["desired_capacity"] == 2

    # recover, op and collect
    recovered = cli(f"cluster recover --check true {renamed}")
    assert f"Cluster recover request on cluster {renamed} is accepted" in recovered.stdout
    _finished(api, recovered)
    _finished(api, cli(f"cluster op --operation pause {renamed}"))
    _finished(api, cli(f"cluster op --operation unpause {renamed}"))
    _finished(api, cli(f"cluster op --operation restart --params wait_time=1 {renamed}"))
    collected = cli.json(f"cluster collect --path status {renamed}")
    assert [c["attr_value"] for c in collected] == ["ACTIVE", "ACTIVE"]
    some = cli.json(f"cluster node show {collected[0]['node_id']}")
    assert some["status_reason"] == "Operation restart succeeded"
    names = {c["attr_value"] for c in cli.json(f"cluster collect --path name {renamed}")}
    assert names == {m["name"] for m in cli.json(f"cluster members list {renamed}")}
    hosts = cli.json(f"cluster collect --full-id --path details.host_node {renamed}")
    assert [h["attr_value"] for h in hosts] == [host["node"]] * 2
    assert {len(h["node_id"]) for h in hosts} == {36}
    _until(api, path, "ACTIVE", 2)

    # an action that has ended cannot be cancelled (the client has no "action cancel";
    # "action update --status CANCELLED" is Senlin's cancel)
    done = next(a for a in cli.json("cluster action list") if a["target_id"] == cid[:8])
    cancel = cli(f"cluster action update --status CANCELLED {done['id']}", ok=False)
    assert "is in status (SUCCEEDED) and cannot be cancelled" in cancel.output

    event = next(e for e in cli.json("cluster event list") if e["obj_id"] == cid[:8])
    assert cli.json(f"cluster event show {event['id']}")["obj_name"] in (cname, renamed)
    assert "binary" in cli("cluster service list -f csv").stdout  # cove lists no services

    # delete: refused while a receiver points at the cluster, then gone; the profiles too
    refused = cli(f"cluster delete --force {renamed}")
    assert "there is still receiver(s) associated with it" in refused.output
    cli(f"cluster receiver delete {rname2}")
    deleted = cli(f"cluster delete --force {renamed}")
    assert f"{renamed}: accepted by action" in deleted.output
    api.gone(path)
    assert renamed not in {c["name"] for c in cli.json("cluster list")}
    cli(f"cluster profile delete {first} {second}")
    assert not {first, second} & {p["name"] for p in cli.json("cluster profile list")}


def test_openstack_cluster_node_and_members_commands(
    cluster_cli: Cli, api: Api, host: dict[str, str], tmp_path: Path
) -> None:
    """``openstack cluster node …`` (create in a cluster and alone, list, show, update,
    check, recover, op, delete) and ``cluster members add/del/replace``."""
    cli = cluster_cli
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(SEED_SPEC.format(node=host["node"], cluster=host["name"]))
    profile = unique("prof")
    cli(f"cluster profile create --spec-file {spec_file} {profile}")
    cname = unique("cc")
    cid = cli.json(f"cluster create --profile {profile} --desired-capacity 1 --max-size 4 {cname}")[
        "id"
    ]
    path = f"/clustering/v1/clusters/{cid}"
    _until(api, path, "ACTIVE", 1)

    member = unique("nd")
    made = cli.json(
        f"cluster node create --profile {profile} --cluster {cname} --role worker --metadata a=b {member}"
    )
    assert made["cluster_id"] == cid and made["role"] == "worker" and made["index"] == 2
    _node(api, made["id"], "ACTIVE")
    assert _until(api, path, "ACTIVE", 2)["desired_capacity"] == 2
    loner = unique("nd")
    alone = cli.json(f"cluster node create --profile {profile} {loner}")
    assert alone["cluster_id"] == "" and alone["index"] == -1
    _node(api, alone["id"], "ACTIVE")

    listed = {n["name"]: n for n in cli.json("cluster node list")}
    assert listed[member]["cluster_id"] == cid[:8] and listed[loner]["cluster_id"] == ""
    assert member in {n["name"] for n in cli.json(f"cluster node list --cluster {cname}")}
    shown = cli.json(f"cluster node show {member}")
    assert shown["status"] == "ACTIVE" and shown["role"] == "worker"
    assert _doc(shown["metadata"]) == {"a": "b"} and shown["profile_name"] == profile
    assert host["node"] in str(cli.json(f"cluster node show --details {member}")["details"])

    renamed = unique("nd")
    updated = cli.json(f"cluster node update --name {renamed} --role db --metadata x=y {member}")
    # the client shows the node with a GET after its PATCH: a container node's update may
    # already have finished by then
    assert updated["id"] == made["id"] and updated["status"] in ("UPDATING", "ACTIVE")
    _node(api, made["id"], "ACTIVE")
    shown = cli.json(f"cluster node show {renamed}")
    assert shown["role"] == "db" and _doc(shown["metadata"]) == {"x": "y"}
    assert shown["status_reason"] == "Update succeeded"

    checked = cli(f"cluster node check {renamed} {loner}")
    assert checked.stdout.count("is accepted by action") == 2
    _finished(api, checked)
    recovered = cli(f"cluster node recover --check true {renamed}")
    assert f"Node recover request on node {renamed} is accepted" in recovered.stdout
    _finished(api, recovered)
    # python-senlinclient 3.1.0's "node op" prints the action, then fails formatting its
    # (empty) result: "cannot unpack non-iterable NoneType object", exit 1.
    operated = cli(f"cluster node op --operation restart --params wait_time=1 {loner}", ok=None)
    _finished(api, operated)
    assert cli.json(f"cluster node show {loner}")["status_reason"] == "Operation restart succeeded"

    # members: add the lone node, replace it by another, remove one keeping it
    _finished(api, cli(f"cluster members add --nodes {loner} {cname}"))
    assert _until(api, path, "ACTIVE", 3)["desired_capacity"] == 3
    assert loner in {m["name"] for m in cli.json(f"cluster members list {cname}")}
    spare = unique("nd")
    _node(api, cli.json(f"cluster node create --profile {profile} {spare}")["id"], "ACTIVE")
    _finished(api, cli(f"cluster members replace --nodes {loner}={spare} {cname}"))
    names = {m["name"] for m in cli.json(f"cluster members list {cname}")}
    assert spare in names and loner not in names and len(names) == 3
    assert cli.json(f"cluster node show {loner}")["cluster_id"] == ""  # replaced: stands alone
    _finished(api, cli(f"cluster members del --nodes {renamed} -d false {cname}"))
    names = {m["name"] for m in cli.json(f"cluster members list {cname}")}
    assert renamed not in names and len(names) == 2
    kept = cli.json(f"cluster node show {renamed}")
    assert kept["cluster_id"] == "" and kept["status"] == "ACTIVE"
    assert _until(api, path, "ACTIVE", 2)["desired_capacity"] == 2

    # a tainted member is the one a shrink removes
    tainted = next(
        m for m in cli.json(f"cluster members list --full-id {cname}") if m["name"] == spare
    )
    cli(f"cluster node update --tainted true {spare}")
    _node(api, tainted["id"], "ACTIVE")
    assert cli.json(f"cluster node show {spare}")["tainted"] is True
    _finished(api, cli(f"cluster shrink --count 1 {cname}"))
    _until(api, path, "ACTIVE", 1)
    assert spare not in {m["name"] for m in cli.json(f"cluster members list {cname}")}

    for alone in (renamed, loner):
        _finished(api, cli(f"cluster node delete --force {alone}"))
    assert not {renamed, loner} & {n["name"] for n in cli.json("cluster node list")}
    _finished(api, cli(f"cluster delete --force {cname}"))
    api.gone(path)
    cli(f"cluster profile delete {profile}")


def _doc(value: Any) -> Any:
    """A dict column: ``-f json`` prints some as JSON text (python-senlinclient's formatters)."""
    return json.loads(value) if isinstance(value, str) else value


def _finished(api: Api, result: Result) -> list[dict[str, Any]]:
    """Wait for every action a command said it started; each must have SUCCEEDED."""
    ids = re.findall(r"accepted by action:? ([0-9a-f-]{36})", result.output)
    assert ids, f"no action accepted\n{result.describe()}"
    ended = []
    for action_id in ids:
        action = api.wait(
            f"/clustering/v1/actions/{action_id}",
            lambda r: r.json()["action"]["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"),
        ).json()["action"]
        assert action["status"] == "SUCCEEDED", action
        ended.append(action)
    return ended


def _node(api: Api, node_id: str, status: str) -> dict[str, Any]:
    return dict(
        api.wait(
            f"/clustering/v1/nodes/{node_id}",
            lambda r: r.status_code == 200 and r.json()["node"]["status"] == status,
        ).json()["node"]
    )


def _until(api: Api, path: str, status: str, members: int | None = None) -> dict[str, Any]:
    """The container cluster once it has ``status`` (and ``members`` nodes)."""

    def done(resp: httpx.Response) -> bool:
        body = resp.json().get("cluster", {}) if resp.status_code == 200 else {}
        return body.get("status") == status and (
            members is None or len(body.get("nodes") or []) == members
        )

    return dict(api.wait(path, done).json()["cluster"])
