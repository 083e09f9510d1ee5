"""cove's catalog, standing in for Glance, Nova and Neutron: images, flavors, keypairs and
networks, who may create them, who sees them, and what templates keep from deletion."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.conftest import Api, error_detail, template_body

Catalog = dict[str, Any]
COMMON_FIELDS = {"uuid", "name", "links", "created_at", "updated_at"}


def _names(api: Api, coll: str) -> list[str]:
    response = api.get(f"/v1/{coll}")
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()[coll]]


def _links(coll: str, uuid: str) -> list[dict[str, str]]:
    return [
        {"href": f"http://testserver/v1/{coll}/{uuid}", "rel": "self"},
        {"href": f"http://testserver/{coll}/{uuid}", "rel": "bookmark"},
    ]


def _openssh_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    text = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return text.decode() + " me@laptop"


# images


def test_image_create_list_show_delete(api: Api) -> None:
    body = {"name": "fcos", "os_distro": "fedora-coreos", "properties": {"kube_tag": "v1.30"}}
    response = api.post("/v1/images", json=body)
    assert response.status_code == 201
    image = response.json()
    assert set(image) == COMMON_FIELDS | {
        "os_distro", "node_image", "properties", "public", "project_id",
    }  # fmt: skip
    assert image["os_distro"] == "fedora-coreos" and image["properties"] == {"kube_tag": "v1.30"}
    assert image["public"] is False and image["project_id"] == "admin"
    assert image["links"] == _links("images", image["uuid"])
    assert _names(api, "images") == ["fcos"]
    assert api.get("/v1/images/fcos").json() == image
    assert api.get(f"/v1/images/{image['uuid']}").json() == image
    assert api.delete("/v1/images/fcos").status_code == 204
    missing = api.get("/v1/images/fcos")
    assert missing.status_code == 404 and "Image fcos could not be found" in error_detail(missing)
    assert _names(api, "images") == []


def test_image_body_is_checked(api: Api) -> None:
    for body, field in (
        ({"name": "x"}, "os_distro"),
        ({"os_distro": "x"}, "name"),
        ({"name": "x", "os_distro": "x", "size": 3}, "size"),
        ({"name": "", "os_distro": "x"}, "name"),
    ):
        response = api.post("/v1/images", json=body)
        assert response.status_code == 400, body
        assert field in error_detail(response), (body, error_detail(response))
    assert _names(api, "images") == []


def test_private_images_belong_to_their_project_and_only_admins_publish(api: Api) -> None:
    p1, p2 = api.as_project("p1"), api.as_project("p2")
    assert p1.post("/v1/images", json={"name": "mine", "os_distro": "x"}).status_code == 201
    refused = p1.post("/v1/images", json={"name": "pub", "os_distro": "x", "public": True})
    assert refused.status_code == 403
    published = api.post("/v1/images", json={"name": "pub", "os_distro": "x", "public": True})
    assert published.status_code == 201
    assert _names(p1, "images") == ["mine", "pub"]
    assert _names(p2, "images") == ["pub"]
    assert p2.get("/v1/images/mine").status_code == 404
    assert p2.delete("/v1/images/mine").status_code == 404
    assert p2.delete("/v1/images/pub").status_code == 403
    assert sorted(_names(api, "images")) == ["mine", "pub"]


def test_each_caller_finds_its_own_project_s_object_by_name(api: Api) -> None:
    """Lookups are built once and reused: each caller's project still decides what a name
    finds, whoever looked first, and an administrator seeing both gets Magnum's 409."""
    p1, p2 = api.as_project("p1"), api.as_project("p2")
    own = {}
    for caller in (p1, p2):
        created = caller.post("/v1/images", json={"name": "same", "os_distro": "x"})
        assert created.status_code == 201
        own[caller] = created.json()["uuid"]
    for caller in (p2, p1, p2):
        assert caller.get("/v1/images/same").json()["uuid"] == own[caller]
    both = api.get("/v1/images/same")
    assert both.status_code == 409
    assert "Multiple images exist with same name" in error_detail(both)
    assert p1.get(f"/v1/images/{own[p2]}").status_code == 404


def test_image_used_by_a_template_cannot_be_deleted(api: Api, catalog: Catalog) -> None:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    refused = api.delete("/v1/images/instant-image")
    assert refused.status_code == 400
    assert "instant-image" in error_detail(refused) and "cluster templates" in error_detail(refused)
    assert api.get("/v1/images/instant-image").status_code == 200
    assert api.delete("/v1/clustertemplates/swarm-tpl").status_code == 204
    assert api.delete("/v1/images/instant-image").status_code == 204


def test_image_used_by_uuid_cannot_be_deleted(api: Api, catalog: Catalog) -> None:
    uuid = catalog["image"]["uuid"]
    assert api.post("/v1/clustertemplates", json=template_body(image_id=uuid)).status_code == 201
    assert api.delete(f"/v1/images/{uuid}").status_code == 400
    assert api.get(f"/v1/images/{uuid}").status_code == 200


# flavors


def test_default_flavors_exist(api: Api) -> None:
    response = api.get("/v1/flavors")
    assert response.status_code == 200
    flavors = {f["name"]: (f["vcpus"], f["ram"], f["disk"]) for f in response.json()["flavors"]}
    assert flavors == {
        "m1.tiny": (1, 512, 1),
        "m1.small": (1, 2048, 20),
        "m1.medium": (2, 4096, 40),
        "m1.large": (4, 8192, 80),
    }
    shown = api.get("/v1/flavors/m1.small").json()
    assert set(shown) == COMMON_FIELDS | {"vcpus", "ram", "disk"}
    assert api.get(f"/v1/flavors/{shown['uuid']}").json() == shown
    assert api.get("/v1/flavors/m1.huge").status_code == 404


def test_only_admins_create_and_delete_flavors(api: Api) -> None:
    member = api.as_project("p1")
    body = {"name": "m1.xl", "vcpus": 8, "ram": 16384, "disk": 160}
    refused = member.post("/v1/flavors", json=body)
    assert refused.status_code == 403
    assert "flavor:create" in error_detail(refused)
    assert "m1.xl" not in _names(api, "flavors")
    created = api.post("/v1/flavors", json=body)
    assert created.status_code == 201
    assert {k: created.json()[k] for k in body} == body
    assert "m1.xl" in _names(member, "flavors")  # everyone reads them
    duplicate = api.post("/v1/flavors", json=body)
    assert duplicate.status_code == 409 and "m1.xl" in error_detail(duplicate)
    assert member.delete("/v1/flavors/m1.xl").status_code == 403
    assert api.delete("/v1/flavors/m1.xl").status_code == 204
    assert api.get("/v1/flavors/m1.xl").status_code == 404
    for bad, field in (
        ({**body, "name": "z", "vcpus": 0}, "vcpus"),
        ({**body, "name": "z", "ram": 1}, "ram"),
        ({**body, "name": "z", "disk": -1}, "disk"),
    ):
        response = api.post("/v1/flavors", json=bad)
        assert response.status_code == 400 and field in error_detail(response), bad
    assert "z" not in _names(api, "flavors")


# keypairs


def test_keypair_create_list_show_delete_with_fingerprint(api: Api) -> None:
    public_key = _openssh_key()
    response = api.post("/v1/keypairs", json={"name": "laptop", "public_key": public_key})
    assert response.status_code == 201
    keypair = response.json()
    assert set(keypair) == COMMON_FIELDS | {"fingerprint", "public_key", "user_id"}
    blob = base64.b64decode(public_key.split()[1])
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    expected = ":".join(digest[i : i + 2] for i in range(0, 32, 2))
    assert keypair["fingerprint"] == expected  # Nova's (and ssh-keygen -E md5's) form
    assert keypair["public_key"] == public_key and keypair["user_id"] == "admin"
    assert _names(api, "keypairs") == ["laptop"]
    assert api.get("/v1/keypairs/laptop").json() == keypair
    assert api.get(f"/v1/keypairs/{keypair['uuid']}").json() == keypair
    assert api.delete("/v1/keypairs/laptop").status_code == 204
    assert api.get("/v1/keypairs/laptop").status_code == 404
    assert _names(api, "keypairs") == []


def test_keypair_public_key_must_be_openssh(api: Api) -> None:
    for key in ("garbage", "ssh-rsa", "ssh-rsa not-base64!"):
        response = api.post("/v1/keypairs", json={"name": "k", "public_key": key})
        assert response.status_code == 400, key
        assert "public_key" in error_detail(response)
    assert _names(api, "keypairs") == []
    bare = api.post("/v1/keypairs", json={"name": "k"})  # cove keeps no key material then
    assert bare.status_code == 201 and bare.json()["fingerprint"] is None


def test_keypairs_belong_to_their_user(api: Api, catalog: Catalog) -> None:
    alice = api.as_project("p1", user="alice")
    bob = api.as_project("p1", user="bob")
    created = alice.post("/v1/keypairs", json={"name": "k1", "public_key": _openssh_key()})
    assert created.status_code == 201 and created.json()["user_id"] == "alice"
    assert _names(alice, "keypairs") == ["k1"]
    assert _names(bob, "keypairs") == []
    for ident in ("k1", created.json()["uuid"]):
        assert bob.get(f"/v1/keypairs/{ident}").status_code == 404
        assert bob.delete(f"/v1/keypairs/{ident}").status_code == 404
    # names are per user, so bob may have his own k1, and a template of bob's cannot use alice's
    refused = bob.post(
        "/v1/clustertemplates", json=template_body(keypair_id=created.json()["uuid"], public=False)
    )
    assert refused.status_code == 400 and "keypair_id" in error_detail(refused)
    assert bob.post("/v1/keypairs", json={"name": "k1"}).status_code == 201
    duplicate = alice.post("/v1/keypairs", json={"name": "k1"})
    assert duplicate.status_code == 409 and "k1" in error_detail(duplicate)
    assert alice.get("/v1/keypairs/k1").json() == created.json()


# networks


def test_default_public_network_exists(api: Api) -> None:
    networks = api.get("/v1/networks").json()["networks"]
    assert [n["name"] for n in networks] == ["public"]
    [public] = networks
    assert public["external"] is True and public["shared"] is True
    assert _names(api.as_project("p1"), "networks") == ["public"]  # every project sees it


def test_network_create_list_show_delete(api: Api) -> None:
    body = {"name": "private", "subnets": [{"name": "private-sub", "cidr": "10.0.0.0/24"}]}
    response = api.post("/v1/networks", json=body)
    assert response.status_code == 201
    network = response.json()
    assert set(network) == COMMON_FIELDS | {"external", "shared", "subnets", "project_id"}
    assert network["external"] is False and network["project_id"] == "admin"
    [subnet] = network["subnets"]
    assert subnet["name"] == "private-sub" and subnet["cidr"] == "10.0.0.0/24" and subnet["uuid"]
    assert network["links"] == _links("networks", network["uuid"])
    assert _names(api, "networks") == ["public", "private"]
    assert api.get("/v1/networks/private").json() == network
    assert api.get(f"/v1/networks/{network['uuid']}").json() == network
    assert api.delete("/v1/networks/private").status_code == 204
    assert api.get("/v1/networks/private").status_code == 404
    assert _names(api, "networks") == ["public"]


def test_project_networks_are_private_and_external_ones_need_admin(api: Api) -> None:
    p1, p2 = api.as_project("p1"), api.as_project("p2")
    assert p1.post("/v1/networks", json={"name": "p1-net"}).status_code == 201
    for flag in ("external", "shared"):
        refused = p1.post("/v1/networks", json={"name": f"p1-{flag}", flag: True})
        assert refused.status_code == 403, flag
    assert _names(p1, "networks") == ["public", "p1-net"]
    assert _names(p2, "networks") == ["public"]
    assert p2.get("/v1/networks/p1-net").status_code == 404
    assert p2.delete("/v1/networks/p1-net").status_code == 404
    assert p2.delete("/v1/networks/public").status_code == 403
    created = api.post("/v1/networks", json={"name": "ext2", "external": True})
    assert created.status_code == 201 and created.json()["external"] is True
    assert "ext2" in _names(p2, "networks")


def test_network_used_by_a_template_cannot_be_deleted(api: Api, catalog: Catalog) -> None:
    body = {"name": "net1", "subnets": [{"name": "sub1", "cidr": "10.1.0.0/24"}]}
    assert api.post("/v1/networks", json=body).status_code == 201
    template = template_body(fixed_network="net1", fixed_subnet="sub1")
    assert api.post("/v1/clustertemplates", json=template).status_code == 201
    for name in ("net1", "public"):  # fixed_network and external_network_id
        refused = api.delete(f"/v1/networks/{name}")
        assert refused.status_code == 400, name
        assert name in error_detail(refused) and "cluster templates" in error_detail(refused)
    assert _names(api, "networks") == ["public", "net1"]
    assert api.delete("/v1/clustertemplates/swarm-tpl").status_code == 204
    assert api.delete("/v1/networks/net1").status_code == 204
