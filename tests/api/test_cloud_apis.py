"""cove's catalog through Glance's, Nova's and Neutron's read APIs (``/cloud``): the shapes
their clients parse, each project seeing only what it may, unknown or foreign ids a 404 in
the body those clients read, and nothing written through them. On SQLite and PostgreSQL.
(openstacksdk reads them for real in tests/identity; Horizon in tests/e2e/test_horizon.py.)"""

from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.fixture
def p1(api: Api) -> Api:
    p1 = api.as_project("p1", user="alice")
    assert p1.post("/v1/keypairs", json={"name": "alice-key"}).status_code == 201
    p1_admin = api.as_project("p1", roles="admin,member,reader")
    made = p1_admin.post("/v1/images", json={"name": "p1-img", "os_distro": "fedora-coreos"})
    assert made.status_code == 201, made.text
    net = {"name": "p1-net", "subnets": [{"name": "s", "cidr": "10.1.0.0/24"}]}
    assert p1.post("/v1/networks", json=net).status_code == 201
    return p1


def test_nova_flavors_keypairs_and_zones(p1: Api, api: Api) -> None:
    detail = p1.get("/cloud/compute/v2.1/flavors/detail").json()["flavors"]
    small = next(f for f in detail if f["name"] == "m1.small")
    assert (small["vcpus"], small["ram"], small["disk"]) == (1, 2048, 20)
    assert small["links"][0]["href"].endswith(f"/cloud/compute/v2.1/flavors/{small['id']}")
    assert (
        p1.get(f"/cloud/compute/v2.1/flavors/{small['id']}").json()["flavor"]["name"] == "m1.small"
    )
    [pair] = p1.get("/cloud/compute/v2.1/os-keypairs").json()["keypairs"]
    assert pair["keypair"]["name"] == "alice-key" and pair["keypair"]["type"] == "ssh"
    # key pairs are a user's, as in Nova
    other = api.as_project("p1", user="bob")
    assert other.get("/cloud/compute/v2.1/os-keypairs").json()["keypairs"] == []
    missing = other.get("/cloud/compute/v2.1/os-keypairs/alice-key")
    assert missing.status_code == 404 and "alice-key" in missing.json()["itemNotFound"]["message"]
    zones = p1.get("/cloud/compute/v2.1/os-availability-zone").json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]


def test_glance_images_are_the_projects_own_and_the_public_ones(p1: Api, api: Api) -> None:
    listed = p1.get("/cloud/image/v2/images").json()
    [image] = [i for i in listed["images"] if i["name"] == "p1-img"]
    assert image["visibility"] == "private" and image["os_distro"] == "fedora-coreos"
    assert image["status"] == "active" and image["owner"] == "p1"
    schema = p1.get("/cloud/image/v2/schemas/image").json()
    assert set(image) - {"os_distro"} <= set(schema["properties"])
    p2 = api.as_project("p2")
    assert "p1-img" not in {i["name"] for i in p2.get("/cloud/image/v2/images").json()["images"]}
    assert p2.get(f"/cloud/image/v2/images/{image['id']}").status_code == 404


def test_neutron_networks_filter_as_clients_ask(p1: Api, api: Api) -> None:
    mine = p1.get("/cloud/network/v2.0/networks", params={"tenant_id": "p1", "shared": "False"})
    [net] = mine.json()["networks"]
    assert net["name"] == "p1-net" and net["router:external"] is False
    external = p1.get("/cloud/network/v2.0/networks", params={"router:external": "True"})
    assert [n["name"] for n in external.json()["networks"]] == ["public"]
    [subnet] = p1.get("/cloud/network/v2.0/subnets", params={"network_id": net["id"]}).json()[
        "subnets"
    ]
    assert subnet["cidr"] == "10.1.0.0/24" and subnet["ip_version"] == 4
    p2 = api.as_project("p2")
    names = {n["name"] for n in p2.get("/cloud/network/v2.0/networks").json()["networks"]}
    assert names == {"public"}
    gone = p2.get(f"/cloud/network/v2.0/networks/{net['id']}")
    assert gone.status_code == 404 and "NeutronError" in gone.json()


def test_the_cloud_apis_write_nothing_and_refuse_control_characters(p1: Api) -> None:
    for path in ("/cloud/image/v2/images", "/cloud/compute/v2.1/flavors",
                 "/cloud/network/v2.0/networks"):  # fmt: skip
        assert p1.post(path, json={"name": "x"}).status_code == 405
    assert p1.get("/cloud/compute/v2.1/flavors/m1.small%00").status_code == 400
    assert p1.get("/cloud/compute/v2.1/flavors/nope").status_code == 404
