"""The legacy ``magnum`` shell (python-magnumclient 4.11.0, the last release with it) against cove.

Invocation (magnum-api.md §4.2): ``magnum --os-token x --os-endpoint-override URL/v1 ...``; it
sends ``OpenStack-API-Version: container-infra latest``. Output is PrettyTable; errors are printed
as ``ERROR: b'<title of the server's error> (HTTP nnn)'`` on stderr with exit 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Api, Cli, literal, make_csr, pem_block, unique, verify_issued_by

pytestmark = pytest.mark.compat


def create_template(magnum: Cli, world: dict[str, str], name: str, extra: str) -> dict[str, str]:
    out = magnum(
        f"cluster-template-create --name {name} --image {world['image']}"
        f" --external-network {world['network']} --keypair {world['keypair']}"
        f" --flavor {world['flavor']} --master-flavor {world['flavor']} {extra}"
    )
    return out.props()


def test_cluster_template_lifecycle(magnum: Cli, world: dict[str, str]) -> None:
    name = unique("shell-ct")
    created = create_template(
        magnum, world, name, "--coe swarm-mode --docker-storage-driver overlay2 --labels a=1,b=two"
    )
    assert created["name"] == name
    assert created["coe"] == "swarm-mode"
    assert created["image_id"] == world["image"]
    assert created["cluster_distro"] == "instant"
    assert literal(created["labels"]) == {"a": "1", "b": "two"}
    assert created["docker_storage_driver"] == "overlay2"
    assert "links" not in created  # the shell deletes it before printing
    uuid = created["uuid"]

    listed = magnum("cluster-template-list").table()
    assert {"uuid": uuid, "name": name} in listed

    shown = magnum(f"cluster-template-show {name}").props()
    assert shown["uuid"] == uuid
    assert shown["keypair_id"] == world["keypair"]
    assert shown["external_network_id"] == world["network"]

    # values are JSON-decoded by the shell: 7 is sent as an int, labels as a Python literal
    updated = magnum(
        f"cluster-template-update {name} replace docker_volume_size=7 labels=c=3"
    ).props()
    assert updated["docker_volume_size"] == "7"
    assert literal(updated["labels"]) == {"c": "3"}

    out = magnum(f"cluster-template-delete {uuid}")
    assert f"Request to delete cluster template {uuid} has been accepted." in out.stdout

    missing = magnum(f"cluster-template-show {uuid}", ok=False)
    assert "could not be found" in missing.stderr, missing.describe()


def test_cluster_template_create_with_the_shells_devicemapper_default_is_accepted(
    magnum: Cli, world: dict[str, str]
) -> None:
    """The shell sends devicemapper without a volume size by default; cove serves it as
    overlay2 anyway, so the template is accepted (it was refused for devicemapper's minimum
    volume size, which broke the shell's plain create)."""
    name = unique("shell-dm")
    magnum(
        f"cluster-template-create --name {name} --coe kubernetes --image {world['image']}"
        f" --external-network {world['network']} --flavor {world['flavor']}"
        f" --master-flavor {world['flavor']}"
    )
    listed = magnum("cluster-template-list").table()
    assert name in {row["name"] for row in listed}
    shown = magnum(f"cluster-template-show {name}").props()
    assert shown["docker_storage_driver"] == "devicemapper"
    magnum(f"cluster-template-delete {name}")


def test_cluster_lifecycle_and_ca(
    magnum: Cli, api: Api, world: dict[str, str], openssl: str, workdir: Path
) -> None:
    template = create_template(
        magnum, world, unique("shell-ct"), "--coe kubernetes --docker-volume-size 5"
    )
    name = unique("shell-cluster")
    out = magnum(
        f"cluster-create --name {name} --cluster-template {template['name']}"
        " --node-count 1 --master-count 1"
    )
    # a refused create prints "Create for cluster ... failed: ..." and exits 0
    assert "Request to create cluster" in out.stdout, out.describe()
    uuid = out.stdout.split("Request to create cluster", 1)[1].split()[0]
    cluster = api.settled(f"/v1/clusters/{uuid}")
    assert cluster["status"] == "CREATE_COMPLETE", cluster

    listed = magnum("cluster-list").table()
    row = next(r for r in listed if r["name"] == name)
    assert row["uuid"] == uuid
    assert (row["node_count"], row["master_count"], row["status"]) == ("1", "1", "CREATE_COMPLETE")

    shown = magnum(f"cluster-show {name}").props()
    assert shown["uuid"] == uuid
    assert shown["cluster_template_id"] == template["uuid"]
    assert shown["status"] == "CREATE_COMPLETE"
    assert shown["keypair"] == world["keypair"]

    out = magnum(f"cluster-update {name} replace node_count=2")
    assert f"Request to update cluster {name} has been accepted." in out.stdout, out.describe()
    assert api.settled(f"/v1/clusters/{uuid}")["node_count"] == 2
    assert magnum(f"cluster-show {uuid}").props()["node_count"] == "2"

    # cluster-update prints the server's full error detail on stdout and exits 0
    out = magnum(f"cluster-update {name} replace name=other")
    assert "ERROR:" in out.stdout, out.describe()
    assert "name" in out.stdout.split("ERROR:", 1)[1], out.describe()

    ca = pem_block(magnum(f"ca-show --cluster {name}").stdout)
    csr = make_csr(openssl, workdir)
    signed = pem_block(magnum(f"ca-sign --cluster {name} --csr {csr}").stdout)
    verdict = verify_issued_by(openssl, workdir, ca, signed)
    assert verdict.startswith("[exit 0]") and ": OK" in verdict, verdict

    # ca-rotate sends PATCH /v1/certificates/<uuid>; in token mode the 4.11 client then crashes
    # on the 202 body (magnum-api.md §4.1), so only the effect is checked.
    magnum(f"ca-rotate --cluster {name}", ok=None)
    api.settled(f"/v1/clusters/{uuid}")
    new_ca = pem_block(magnum(f"ca-show {name}").stdout)
    assert new_ca != ca

    out = magnum(f"cluster-delete {name}")
    assert f"Request to delete cluster {name} has been accepted." in out.stdout, out.describe()
    api.gone(f"/v1/clusters/{uuid}")
    missing = magnum(f"cluster-show {name}", ok=False)
    assert "could not be found" in missing.stderr, missing.describe()
    assert "(HTTP 404)" in missing.stderr, missing.describe()


def test_quotas_stats_services(magnum: Cli) -> None:
    project = unique("project")
    quota = f"--project-id {project} --resource Cluster"
    out = magnum(f"quotas-create {quota} --hard-limit 3")
    # quotas-create prints "Create quota ... failed: ..." and exits 0 when refused
    assert "failed" not in out.stdout, out.describe()
    assert out.props()["hard_limit"] == "3"

    shown = magnum(f"quotas-show {quota}").props()
    assert (shown["project_id"], shown["resource"], shown["hard_limit"]) == (
        project,
        "Cluster",
        "3",
    )

    out = magnum(f"quotas-update {quota} --hard-limit 4")
    assert out.props()["hard_limit"] == "4"

    listed = magnum("quotas-list --all-tenants").table()
    assert {"project_id": project, "resource": "Cluster", "hard_limit": "4"} in listed

    out = magnum(f"quotas-delete {quota}")
    assert "has been accepted" in out.stdout, out.describe()
    listed = magnum("quotas-list --all-tenants").table()
    assert project not in {row["project_id"] for row in listed}

    stats = magnum("stats-list").props()
    assert set(stats) == {"clusters", "nodes"}
    assert int(stats["clusters"]) >= 0 and int(stats["nodes"]) >= 0

    services = magnum("service-list").table()
    assert services, "no service listed"
    columns = "id host binary state disabled disabled_reason created_at updated_at"
    assert set(services[0]) == set(columns.split())
