"""`openstack coe ...` (python-openstackclient + python-magnumclient 5.0.0) against cove.

Invocation (magnum-api.md §4.3): ``openstack --os-auth-type none --os-endpoint URL/v1 coe ...``;
the plugin sends ``OpenStack-API-Version: container-infra latest``. Errors are printed on stderr
as ``<title of the server's error> (HTTP nnn) (Request-ID: ...)`` with exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Api, Cli, make_csr, pem_block, unique, verify_issued_by

pytestmark = pytest.mark.compat


def create_template(osc: Cli, world: dict[str, str], name: str, extra: str = "") -> dict[str, Any]:
    return osc.json(
        f"coe cluster template create {name} --coe kubernetes --image {world['image']}"
        f" --external-network {world['network']} --keypair {world['keypair']}"
        f" --flavor {world['flavor']} --master-flavor {world['flavor']} {extra}"
    )


def accepted_uuid(stdout: str, what: str) -> str:
    """The uuid in "Request to create <what> <uuid> accepted"."""
    prefix = f"Request to create {what} "
    assert prefix in stdout and "accepted" in stdout, stdout
    return stdout.split(prefix, 1)[1].split()[0]


def create_cluster(osc: Cli, api: Api, name: str, template: str, extra: str = "") -> dict[str, Any]:
    """``coe cluster create``, then wait (through the API) until it is no longer in progress."""
    out = osc(f"coe cluster create {name} --cluster-template {template} {extra}")
    return api.settled(f"/v1/clusters/{accepted_uuid(out.stdout, 'cluster')}")


@pytest.fixture(scope="module")
def ready_cluster(osc: Cli, api: Api, world: dict[str, str]) -> dict[str, Any]:
    """A CREATE_COMPLETE cluster for the nodegroup, CA and stats tests."""
    template = create_template(osc, world, unique("osc-shared-ct"))
    cluster = create_cluster(osc, api, unique("osc-shared"), template["uuid"], "--node-count 1")
    assert cluster["status"] == "CREATE_COMPLETE", cluster
    return cluster


def test_cluster_template_lifecycle(osc: Cli, world: dict[str, str]) -> None:
    name = unique("osc-ct")
    created = create_template(
        osc, world, name, "--labels a=1,b=two --docker-volume-size 5 --tags x,y"
    )
    assert created["name"] == name
    assert created["coe"] == "kubernetes"
    assert created["image_id"] == world["image"]
    assert created["cluster_distro"] == "instant"
    assert created["labels"] == {"a": "1", "b": "two"}
    assert created["docker_volume_size"] == 5
    assert created["server_type"] == "vm"
    assert created["docker_storage_driver"] == "overlay2"  # the OSC default

    listed = osc.json("coe cluster template list")
    row = next(r for r in listed if r["name"] == name)
    assert row["uuid"] == created["uuid"]
    # the client joins a set() of the tags: their order is random
    assert set(row["tags"].split(",")) == {"x", "y"}

    shown = osc.json(f"coe cluster template show {name}")
    assert shown["uuid"] == created["uuid"]
    assert shown["external_network_id"] == world["network"]
    assert shown["keypair_id"] == world["keypair"]

    updated = osc.json(
        f"coe cluster template update {name} --docker-volume-size 7 --label c=3 --name {name}-new"
    )
    assert updated["name"] == f"{name}-new"
    assert updated["docker_volume_size"] == 7
    assert updated["labels"] == {"a": "1", "b": "two", "c": "3"}

    deleted = osc(f"coe cluster template delete {name}-new")
    assert f"Request to delete cluster template {name}-new has been accepted." in deleted.stdout

    gone = osc(f"coe cluster template show {created['uuid']}", ok=False)
    assert "could not be found" in gone.stderr, gone.describe()


def test_cluster_template_create_refuses_unknown_coe(osc: Cli, world: dict[str, str]) -> None:
    name = unique("osc-weird")
    refused = osc(
        f"coe cluster template create {name} --coe weird --image {world['image']}"
        f" --external-network {world['network']}",
        ok=False,
    )
    # The client prints only the error's title: the server has to put the field and the allowed
    # values there for a user to see them.
    assert "coe" in refused.stderr and "weird" in refused.stderr, refused.describe()
    assert "kubernetes" in refused.stderr, refused.describe()
    assert "(HTTP 400)" in refused.stderr, refused.describe()
    listed = osc.json("coe cluster template list")
    assert name not in {t["name"] for t in listed}


def test_cluster_lifecycle(osc: Cli, api: Api, world: dict[str, str]) -> None:
    template = create_template(osc, world, unique("osc-ct-v1"))
    template2 = create_template(osc, world, unique("osc-ct-v2"), "--labels v=2")
    name = unique("osc-cluster")

    cluster = create_cluster(osc, api, name, template["name"], "--node-count 1 --master-count 1")
    assert cluster["status"] == "CREATE_COMPLETE", cluster

    listed = osc.json("coe cluster list")
    row = next(r for r in listed if r["name"] == name)
    assert row["uuid"] == cluster["uuid"]
    assert row["status"] == "CREATE_COMPLETE"
    assert (row["node_count"], row["master_count"]) == (1, 1)
    assert set(row) == {
        "uuid",
        "name",
        "keypair",
        "node_count",
        "master_count",
        "status",
        "health_status",
    }

    shown = osc.json(f"coe cluster show {name}")
    assert shown["uuid"] == cluster["uuid"]
    assert shown["cluster_template_id"] == template["uuid"]
    assert shown["keypair"] == world["keypair"]
    assert shown["create_timeout"] == 60
    assert shown["status"] == "CREATE_COMPLETE"
    assert "cluster_id" in shown  # microversion latest (>= 1.13) names it cluster_id

    # Only node_count may change through PATCH; the server says which property it refused.
    refused = osc(f"coe cluster update {name} --name renamed", ok=False)
    assert "name" in refused.stderr and "(HTTP 400)" in refused.stderr, refused.describe()

    out = osc(f"coe cluster update {name} --node-count 2")
    assert f"Request to update cluster {name} has been accepted." in out.stdout
    assert api.settled(f"/v1/clusters/{cluster['uuid']}")["node_count"] == 2

    out = osc(f"coe cluster resize {name} 3")
    assert f"Request to resize cluster {name} has been accepted." in out.stdout
    resized = api.settled(f"/v1/clusters/{cluster['uuid']}")
    assert resized["status"] == "UPDATE_COMPLETE", resized
    assert resized["node_count"] == 3

    out = osc(f"coe cluster upgrade {name} {template2['uuid']}")
    assert f"Request to upgrade cluster {name} has been accepted." in out.stdout
    upgraded = api.settled(f"/v1/clusters/{cluster['uuid']}")
    assert upgraded["status"] == "UPDATE_COMPLETE", upgraded
    shown = osc.json(f"coe cluster show {cluster['uuid']}")
    assert shown["cluster_template_id"] == template2["uuid"]
    assert shown["node_count"] == 3

    out = osc(f"coe cluster delete {name}")
    assert f"Request to delete cluster {name} has been accepted." in out.stdout
    api.gone(f"/v1/clusters/{cluster['uuid']}")
    assert name not in {r["name"] for r in osc.json("coe cluster list")}

    missing = osc(f"coe cluster delete {name}", ok=False)
    assert "could not be found" in missing.stderr, missing.describe()
    assert "(HTTP 404)" in missing.stderr, missing.describe()


def test_nodegroup_lifecycle(osc: Cli, api: Api, ready_cluster: dict[str, Any]) -> None:
    cluster = ready_cluster["name"]
    ng = unique("ng")
    out = osc(
        f"coe nodegroup create {cluster} {ng} --node-count 2 --min-nodes 1 --max-nodes 4"
        " --labels role=extra"
    )
    ng_uuid = accepted_uuid(out.stdout, "nodegroup")
    path = f"/v1/clusters/{ready_cluster['uuid']}/nodegroups/{ng_uuid}"
    assert api.settled(path)["status"] == "CREATE_COMPLETE"

    listed = osc.json(f"coe nodegroup list {cluster}")
    by_name = {row["name"]: row for row in listed}
    assert {"default-master", "default-worker", ng} <= set(by_name)
    assert by_name[ng]["uuid"] == ng_uuid
    assert by_name[ng]["node_count"] == 2
    assert by_name[ng]["role"] == "worker"
    assert by_name["default-master"]["role"] == "master"

    shown = osc.json(f"coe nodegroup show {cluster} {ng}")
    assert shown["uuid"] == ng_uuid
    assert (shown["min_node_count"], shown["max_node_count"]) == (1, 4)
    assert shown["is_default"] is False
    assert shown["labels"].get("role") == "extra"

    out = osc(f"coe nodegroup update {cluster} {ng} --max-nodes 6 --min-nodes 2")
    assert f"Request to update nodegroup {ng} has been accepted." in out.stdout
    api.settled(path)
    shown = osc.json(f"coe nodegroup show {cluster} {ng_uuid}")
    assert (shown["min_node_count"], shown["max_node_count"]) == (2, 6)

    refused = osc(f"coe nodegroup delete {cluster} default-worker", ok=False)
    assert "default nodegroup" in refused.stderr.lower(), refused.describe()

    out = osc(f"coe nodegroup delete {cluster} {ng}")
    assert f"Request to delete nodegroup {ng} has been accepted." in out.stdout
    api.gone(path)
    listed = osc.json(f"coe nodegroup list {cluster}")
    assert ng not in {row["name"] for row in listed}


def test_ca_show_sign_rotate(
    osc: Cli, api: Api, ready_cluster: dict[str, Any], openssl: str, workdir: Path
) -> None:
    cluster = ready_cluster["name"]
    ca = pem_block(osc(f"coe ca show {cluster}").stdout)

    csr = make_csr(openssl, workdir)
    signed = pem_block(osc(f"coe ca sign {cluster} {csr}").stdout)
    verdict = verify_issued_by(openssl, workdir, ca, signed)
    assert verdict.startswith("[exit 0]") and ": OK" in verdict, verdict

    out = osc(f"coe ca rotate {cluster}")
    assert (
        f"Request to rotate the CA certificate for cluster {ready_cluster['uuid']} "
        "has been accepted." in out.stdout
    )
    api.settled(f"/v1/clusters/{ready_cluster['uuid']}")
    new_ca = pem_block(osc(f"coe ca show {cluster}").stdout)
    assert new_ca != ca
    # the certificate signed by the old CA no longer verifies against the new one
    verdict = verify_issued_by(openssl, workdir, new_ca, signed)
    assert not verdict.startswith("[exit 0]"), verdict


def test_quotas_lifecycle(osc: Cli) -> None:
    project = unique("project")
    quota = f"--project-id {project} --resource Cluster"
    out = osc(f"coe quotas create {quota} --hard-limit 5")
    # create/update/delete print "... failed: <error>" and exit 0 when the server refuses
    assert "failed" not in out.stdout, out.describe()
    created = out.props()
    assert created["project_id"] == project
    assert created["resource"] == "Cluster"
    assert created["hard_limit"] == "5"

    dup = osc(f"coe quotas create {quota} --hard-limit 5")
    assert "failed" in dup.stdout and "already exists" in dup.stdout, dup.describe()

    shown = osc(f"coe quotas show {quota}").props()
    assert (shown["project_id"], shown["hard_limit"]) == (project, "5")

    out = osc(f"coe quotas update {quota} --hard-limit 9")
    assert "failed" not in out.stdout, out.describe()
    assert out.props()["hard_limit"] == "9"

    listed = osc("coe quotas list --all-tenants").table()
    assert {"project_id": project, "resource": "Cluster", "hard_limit": "9"} in listed

    out = osc(f"coe quotas delete {quota}")
    assert (
        f"Request to delete quota for project id {project} and resource Cluster "
        "has been accepted." in out.stdout
    ), out.describe()
    # without a row the server answers with the default limit (20)
    shown = osc(f"coe quotas show {quota}").props()
    assert shown["hard_limit"] == "20"


def test_stats_and_services(osc: Cli, ready_cluster: dict[str, Any]) -> None:
    stats = osc(f"coe stats list {ready_cluster['project_id']}").props()
    assert int(stats["clusters"]) >= 1
    # every nodegroup counts, masters included: the shared cluster alone has 1 + 1
    assert int(stats["nodes"]) >= 2

    services = osc.json("coe service list")
    assert services, "no service listed"
    for service in services:
        assert set(service) == {
            "id",
            "host",
            "binary",
            "state",
            "disabled",
            "disabled_reason",
            "created_at",
            "updated_at",
        }
        assert service["state"] in ("up", "down")
