"""openstacksdk's ``container_infrastructure_management`` proxy against cove.

Configuration (magnum-api.md §4.4): a clouds.yaml with ``auth_type: none`` and
``auth: {endpoint: URL/v1}``. The SDK discovers with ``GET /v1`` and then sends no microversion,
so cove answers as 1.1 (clusters carry ``stack_id``). Each test runs one script in the SDK venv.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Sdk, make_csr, unique, verify_issued_by

pytestmark = pytest.mark.compat


def template_kwargs(world: dict[str, str], name: str) -> str:
    return (
        f"name={name!r}, coe='kubernetes', image_id={world['image']!r}, "
        f"external_network_id={world['network']!r}, keypair_id={world['keypair']!r}, "
        f"flavor_id={world['flavor']!r}, master_flavor_id={world['flavor']!r}, "
        "labels={'a': '1'}"
    )


def test_cluster_template_crud(sdk: Sdk, world: dict[str, str]) -> None:
    name = unique("sdk-ct")
    created, listed, found, updated, after = sdk.values(
        f"""
        ct = cim.create_cluster_template({template_kwargs(world, name)})
        emit(ct)
        emit([t.name for t in cim.cluster_templates()])
        found = cim.find_cluster_template({name!r})
        emit(found)
        emit(cim.update_cluster_template(found, docker_volume_size=6))
        cim.delete_cluster_template(found)
        emit(cim.find_cluster_template({name!r}, ignore_missing=True))
        """
    )
    assert created["name"] == name
    assert created["coe"] == "kubernetes"
    assert created["cluster_distro"] == "instant"
    assert created["labels"] == {"a": "1"}
    assert created["uuid"]
    assert name in listed
    assert found["uuid"] == created["uuid"]
    assert found["keypair_id"] == world["keypair"]
    assert updated["docker_volume_size"] == 6
    assert after is None


def test_cluster_lifecycle_and_certificates(
    sdk: Sdk, world: dict[str, str], openssl: str, workdir: Path
) -> None:
    csr = make_csr(openssl, workdir)
    template, name = unique("sdk-ct"), unique("sdk-cluster")
    values = sdk.values(
        f"""
        from openstack import exceptions
        ct = cim.create_cluster_template({template_kwargs(world, template)})
        created = cim.create_cluster(
            name={name!r}, cluster_template_id=ct.uuid, master_count=1, node_count=1
        )
        emit(created.uuid)
        cluster = cim.wait_for_status(
            created, "CREATE_COMPLETE", failures=["CREATE_FAILED"], interval=0.2, wait=15
        )
        found = cim.find_cluster({name!r})
        emit(found)
        emit([c.name for c in cim.clusters()])
        emit(cim.get_cluster_certificate(found.uuid).pem)
        with open({str(csr)!r}) as f:
            signed = cim.create_cluster_certificate(cluster_uuid=found.uuid, csr=f.read())
        emit(signed.pem)
        cim.update_cluster(found, node_count=2)
        cluster = cim.wait_for_status(
            cim.get_cluster(found.uuid), "UPDATE_COMPLETE", failures=["UPDATE_FAILED"],
            interval=0.2, wait=15,
        )
        emit(cluster.node_count)
        emit([s.to_dict(computed=False) for s in cim.services()])
        cim.delete_cluster(found)
        cim.wait_for_delete(found, interval=0.2, wait=15)
        try:
            cim.get_cluster(found.uuid)
        except exceptions.NotFoundException as exc:
            emit(exc.status_code)
        cim.delete_cluster_template(ct)
        """
    )
    uuid, found, names, ca, cert, node_count, services, missing = values
    assert found["uuid"] == uuid
    assert found["name"] == name
    assert found["status"] == "CREATE_COMPLETE"
    assert found["node_count"] == 1 and found["master_count"] == 1
    assert found["keypair"] == world["keypair"]
    assert "stack_id" in found  # the SDK sends no microversion: 1.1 shape
    assert name in names
    verdict = verify_issued_by(openssl, workdir, ca, cert)
    assert verdict.startswith("[exit 0]") and ": OK" in verdict, verdict
    assert node_count == 2
    assert services and {"binary", "host", "state"} <= set(services[0])
    assert missing == 404
