"""Cluster templates through the API: create, list, show, the validation of every field and
label (each refusal names the field or label, lists the allowed values where finite, and
stores nothing), JSON-patch updates with re-validation, publishing, delete."""

from __future__ import annotations

import re
from typing import Any

from cove.db import models
from cove.db.session import transaction
from tests.conftest import Api, error_detail, template_body

Catalog = dict[str, Any]
VIEW_FIELDS = {
    "insecure_registry", "http_proxy", "floating_ip_enabled", "fixed_subnet", "master_flavor_id",
    "uuid", "no_proxy", "https_proxy", "tls_disabled", "keypair_id", "public", "labels",
    "docker_volume_size", "server_type", "external_network_id", "cluster_distro", "image_id",
    "volume_driver", "registry_enabled", "docker_storage_driver", "apiserver_port", "name",
    "network_driver", "fixed_network", "coe", "flavor_id", "master_lb_enabled", "dns_nameserver",
    "hidden", "tags", "driver", "links", "created_at", "updated_at", "project_id", "user_id",
}  # fmt: skip
COES = "kubernetes, swarm, swarm-mode, mesos, dcos"


def _templates(api: Api) -> list[dict[str, Any]]:
    response = api.get("/v1/clustertemplates")
    assert response.status_code == 200
    return list(response.json()["clustertemplates"])


def _create(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v1/clustertemplates", json=template_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _refused(api: Api, body: Any, status: int = 400) -> str:
    """POST a template that must be refused; check that nothing was stored."""
    before = _templates(api)
    response = api.post("/v1/clustertemplates", json=body)
    assert response.status_code == status, response.text
    assert _templates(api) == before
    return error_detail(response)


def _patch(api: Api, ident: str, *ops: dict[str, Any]) -> Any:
    return api.patch(f"/v1/clustertemplates/{ident}", json=list(ops))


def _networks(api: Api) -> None:
    for name, cidr in (("net1", "10.1.0.0/24"), ("net2", "10.2.0.0/24")):
        body = {"name": name, "subnets": [{"name": f"{name}-sub", "cidr": cidr}]}
        assert api.post("/v1/networks", json=body).status_code == 201


def _image_without_os_distro(api: Api, name: str) -> None:
    """Glance images need not carry os_distro; cove's image API insists on it, so this one is
    put straight into the catalog."""
    with transaction(api.client.app.state.session_factory) as session:
        session.add(models.Image(name=name, os_distro=None, project_id="admin", public=True))


# create, list, show


def test_create_answers_201_with_location_and_the_full_object(api: Api, catalog: Catalog) -> None:
    response = api.post("/v1/clustertemplates", json=template_body())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == VIEW_FIELDS
    uuid = body["uuid"]
    assert response.headers["Location"] == f"http://testserver/v1/clustertemplates/{uuid}"
    assert body["links"] == [
        {"href": f"http://testserver/v1/clustertemplates/{uuid}", "rel": "self"},
        {"href": f"http://testserver/clustertemplates/{uuid}", "rel": "bookmark"},
    ]
    assert body["name"] == "swarm-tpl" and body["coe"] == "swarm-mode"
    assert body["project_id"] == "admin" and body["user_id"] == "admin"
    assert body["server_type"] == "vm" and body["floating_ip_enabled"] is True
    assert body["tls_disabled"] is False and body["master_lb_enabled"] is False
    assert body["labels"] == {} and body["updated_at"] is None
    assert body["created_at"].endswith("+00:00")
    assert api.get(f"/v1/clustertemplates/{uuid}").json() == body


def test_labels_are_stored_as_strings(api: Api, catalog: Catalog) -> None:
    created = _create(api, labels={"n": 2, "b": True})
    assert created["labels"] == {"n": "2", "b": "True"}
    assert api.get("/v1/clustertemplates/swarm-tpl").json()["labels"] == {"n": "2", "b": "True"}


def test_name_is_generated_when_absent_or_null(api: Api, catalog: Catalog) -> None:
    absent = template_body()
    del absent["name"]
    for body in (absent, template_body(name=None)):
        response = api.post("/v1/clustertemplates", json=body)
        assert response.status_code == 201
        generated = response.json()["name"]
        assert re.fullmatch(r"[a-z]+-\d+-template", generated), generated
        assert (
            api.get(f"/v1/clustertemplates/{generated}").json()["uuid"] == response.json()["uuid"]
        )


def test_a_uuid_the_caller_chose_is_kept_once(api: Api, catalog: Catalog) -> None:
    chosen = "5f0c6a9e-2b7d-4c1e-8a3f-9d2e1b0c7a6f"
    assert _create(api, uuid=chosen.upper())["uuid"] == chosen
    again = api.post("/v1/clustertemplates", json=template_body(name="other", uuid=chosen))
    assert again.status_code == 409, again.text
    assert error_detail(again) == f"A cluster template with UUID {chosen} already exists."
    names = [t["name"] for t in api.get("/v1/clustertemplates").json()["clustertemplates"]]
    assert "other" not in names and len(names) == 1


def test_cluster_distro_comes_from_the_image(api: Api, catalog: Catalog) -> None:
    assert api.post("/v1/images", json={"name": "fc", "os_distro": "instant"}).status_code == 201
    created = _create(api, image_id="fc", cluster_distro="ubuntu")  # a sent value is overwritten
    assert created["cluster_distro"] == "instant"


def test_network_driver_defaults_per_coe(api: Api, catalog: Catalog) -> None:
    defaults = {
        "kubernetes": "flannel",
        "swarm": "docker",
        "swarm-mode": "docker",
        "mesos": "docker",
    }
    for coe, driver in defaults.items():
        created = _create(api, name=coe, coe=coe)
        assert created["network_driver"] == driver, coe
        assert api.get(f"/v1/clustertemplates/{coe}").json()["network_driver"] == driver


def test_list_returns_full_objects_like_detail_and_show(api: Api, catalog: Catalog) -> None:
    first = _create(api, name="a")
    second = _create(api, name="b", labels={"k": "v"})
    listed = _templates(api)
    assert listed == [first, second]
    detail = api.get("/v1/clustertemplates/detail")
    assert detail.status_code == 200 and detail.json()["clustertemplates"] == listed
    assert "next" not in detail.json()


def test_show_by_name_and_by_uuid(api: Api, catalog: Catalog) -> None:
    created = _create(api)
    by_name = api.get("/v1/clustertemplates/swarm-tpl")
    by_uuid = api.get(f"/v1/clustertemplates/{created['uuid']}")
    assert by_name.status_code == by_uuid.status_code == 200
    assert by_name.json() == by_uuid.json() == created
    missing = api.get("/v1/clustertemplates/nope")
    assert missing.status_code == 404
    assert "ClusterTemplate nope could not be found" in error_detail(missing)


def test_duplicate_names_are_allowed_but_name_lookup_conflicts(api: Api, catalog: Catalog) -> None:
    first = _create(api, name="dup")
    second = _create(api, name="dup")
    assert first["uuid"] != second["uuid"]
    ambiguous = api.get("/v1/clustertemplates/dup")
    assert ambiguous.status_code == 409
    assert "Multiple clustertemplates exist with same name" in error_detail(ambiguous)
    assert "uuid" in error_detail(ambiguous)
    assert api.get(f"/v1/clustertemplates/{second['uuid']}").json()["uuid"] == second["uuid"]
    patch = _patch(api, "dup", {"op": "replace", "path": "/tags", "value": "x"})
    assert patch.status_code == 409
    assert api.delete("/v1/clustertemplates/dup").status_code == 409
    assert len(_templates(api)) == 2


# strict bodies


def test_unknown_attribute_is_refused(api: Api, catalog: Catalog) -> None:
    detail = _refused(api, template_body(bogus="x"))
    assert "Unknown attribute" in detail and "bogus" in detail


def test_read_only_attribute_is_refused(api: Api, catalog: Catalog) -> None:
    for field in ("project_id", "user_id", "created_at", "updated_at", "links", "id"):
        detail = _refused(api, template_body(**{field: "x"}))
        assert field in detail and "Cannot set read only field" in detail, detail


def test_non_boolean_string_in_boolean_field_is_400_not_500(api: Api, catalog: Catalog) -> None:
    detail = _refused(api, template_body(tls_disabled="maybe"))
    assert "tls_disabled" in detail and "maybe" in detail


def test_boolean_words_are_accepted(api: Api, catalog: Catalog) -> None:
    created = _create(api, tls_disabled="yes", master_lb_enabled="1", floating_ip_enabled="false")
    assert created["tls_disabled"] is True and created["master_lb_enabled"] is True
    assert created["floating_ip_enabled"] is False


def test_body_that_is_not_an_object_is_400(api: Api, catalog: Catalog) -> None:
    for body in ('"a template"', "[1, 2]", "42", "null", "{not json"):
        before = _templates(api)
        response = api.request(
            "POST", "/v1/clustertemplates", content=body,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert response.status_code == 400, body
        assert error_detail(response), body
        assert _templates(api) == before


def test_missing_image_is_refused_as_mandatory(api: Api, catalog: Catalog) -> None:
    body = template_body()
    del body["image_id"]
    detail = _refused(api, body)
    assert "image_id" in detail and "Mandatory field missing" in detail


# field validation: every refusal names the field and, where finite, the allowed values

FIELD_RULES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("coe", {"coe": "bogus"}, ["coe", "bogus", COES]),
    ("server_type", {"server_type": "xx"}, ["server_type", "vm, bm"]),
    (
        "k8s-network-docker",
        {"coe": "kubernetes", "network_driver": "docker"},
        ["network_driver", "docker", "flannel, calico"],
    ),
    (
        "swarm-network-calico",
        {"coe": "swarm", "network_driver": "calico"},
        ["network_driver", "calico", "docker, flannel"],
    ),
    (
        "swarm-mode-network-flannel",
        {"coe": "swarm-mode", "network_driver": "flannel"},
        ["network_driver", "flannel", "Allowed values: docker"],
    ),
    (
        "mesos-network-flannel",
        {"coe": "mesos", "network_driver": "flannel"},
        ["network_driver", "flannel", "Allowed values: docker"],
    ),
    (
        "mesos-network-calico",
        {"coe": "mesos", "network_driver": "calico"},
        ["network_driver", "calico", "Allowed values: docker"],
    ),
    (
        "k8s-volume-rexray",
        {"coe": "kubernetes", "volume_driver": "rexray"},
        ["volume_driver", "rexray", "Allowed values: cinder"],
    ),
    (
        "swarm-volume-cinder",
        {"coe": "swarm", "volume_driver": "cinder"},
        ["volume_driver", "cinder", "Allowed values: rexray"],
    ),
    (
        "mesos-volume-cinder",
        {"coe": "mesos", "volume_driver": "cinder"},
        ["volume_driver", "cinder", "Allowed values: rexray"],
    ),
    (
        "storage-driver",
        {"docker_storage_driver": "aufs2"},
        ["docker_storage_driver", "aufs2", "overlay2", "devicemapper"],
    ),
    ("volume-size-zero", {"docker_volume_size": 0}, ["docker_volume_size", "0"]),
    (
        "dns-name",
        {"dns_nameserver": "8.8.8.8,dns.google"},
        ["dns_nameserver", "dns.google", "dns address"],
    ),
    ("http-proxy", {"http_proxy": "proxy:3128"}, ["http_proxy", "proxy:3128", "URL"]),
    ("https-proxy", {"https_proxy": "not a url"}, ["https_proxy", "not a url"]),
    ("port-low", {"apiserver_port": 80}, ["apiserver_port", "80", "1024"]),
    ("port-high", {"apiserver_port": 65536}, ["apiserver_port", "65536", "65535"]),
    ("unknown-image", {"image_id": "nope"}, ["image_id", "Image nope could not be found"]),
    (
        "unknown-flavor",
        {"flavor_id": "m1.huge"},
        ["flavor_id", "m1.huge", "m1.large, m1.medium, m1.small, m1.tiny"],
    ),
    (
        "unknown-master-flavor",
        {"master_flavor_id": "m1.huge"},
        ["master_flavor_id", "m1.huge", "m1.tiny"],
    ),
    ("unknown-keypair", {"keypair_id": "nokp"}, ["keypair_id", "nokp"]),
    (
        "unknown-external-network",
        {"external_network_id": "nonet"},
        ["external_network_id", "nonet", "could not be found"],
    ),
    (
        "internal-network-as-external",
        {"external_network_id": "net1"},
        ["external_network_id", "net1", "not an external network"],
    ),
    (
        "unknown-fixed-network",
        {"fixed_network": "nonet"},
        ["fixed_network", "nonet", "could not be found"],
    ),
    (
        "subnet-of-another-network",
        {"fixed_network": "net1", "fixed_subnet": "net2-sub"},
        ["fixed_subnet", "net2-sub", "net1"],
    ),
    (
        "unknown-subnet",
        {"fixed_network": "net1", "fixed_subnet": "nosub"},
        ["fixed_subnet", "nosub"],
    ),
]


def test_invalid_field_is_refused_naming_it_and_the_allowed_values(
    api: Api, catalog: Catalog
) -> None:
    _networks(api)
    for case_id, overrides, fragments in FIELD_RULES:
        detail = _refused(api, template_body(**overrides))
        for fragment in fragments:
            assert fragment in detail, (case_id, fragment, detail)


def test_image_without_os_distro_is_refused(api: Api, catalog: Catalog) -> None:
    _image_without_os_distro(api, "bare")
    detail = _refused(api, template_body(image_id="bare"))
    assert "image_id" in detail and "bare" in detail and "os_distro" in detail


VALID_VALUES: list[tuple[str, dict[str, Any]]] = [
    ("k8s-flannel", {"coe": "kubernetes", "network_driver": "flannel"}),
    ("k8s-calico", {"coe": "kubernetes", "network_driver": "calico"}),
    ("swarm-flannel", {"coe": "swarm", "network_driver": "flannel"}),
    ("swarm-docker", {"coe": "swarm", "network_driver": "docker"}),
    ("swarm-mode-docker", {"coe": "swarm-mode", "network_driver": "docker"}),
    ("mesos-docker", {"coe": "mesos", "network_driver": "docker"}),
    ("k8s-cinder", {"coe": "kubernetes", "volume_driver": "cinder"}),
    ("swarm-rexray", {"coe": "swarm", "volume_driver": "rexray"}),
    ("swarm-mode-rexray", {"coe": "swarm-mode", "volume_driver": "rexray"}),
    ("mesos-rexray", {"coe": "mesos", "volume_driver": "rexray"}),
    ("devicemapper-3", {"docker_storage_driver": "devicemapper", "docker_volume_size": 3}),
    # magnumclient 3.7 and 4.11 send devicemapper with no volume size by default.
    ("devicemapper-no-volume", {"docker_storage_driver": "devicemapper"}),
    ("devicemapper-2", {"docker_storage_driver": "devicemapper", "docker_volume_size": 2}),
    ("dns-list", {"dns_nameserver": "8.8.8.8,2001:4860:4860::8888"}),
    ("proxies", {"http_proxy": "http://proxy:3128", "https_proxy": "https://proxy:3129"}),
    ("port-1024", {"apiserver_port": 1024}),
    ("port-65535", {"apiserver_port": 65535}),
    ("subnet", {"fixed_network": "net1", "fixed_subnet": "net1-sub"}),
    ("bm", {"server_type": "bm"}),
]


def test_valid_field_values_are_accepted_and_stored(api: Api, catalog: Catalog) -> None:
    _networks(api)
    for n, (case_id, overrides) in enumerate(VALID_VALUES):
        response = api.post("/v1/clustertemplates", json=template_body(name=f"t{n}", **overrides))
        assert response.status_code == 201, (case_id, response.text)
        for key, value in overrides.items():
            assert response.json()[key] == value, case_id
    assert len(_templates(api)) == len(VALID_VALUES)


# labels: validated per COE

LABEL_RULES: list[tuple[str, str, dict[str, str], list[str]]] = [
    (
        "mesos-isolation",
        "mesos",
        {"mesos_slave_isolation": "cgroups/cpu,bogus/iso"},
        ["mesos_slave_isolation", "bogus/iso", "filesystem/linux", "docker/runtime"],
    ),
    (
        "mesos-providers-without-isolators",
        "mesos",
        {"mesos_slave_image_providers": "docker"},
        ["mesos_slave_image_providers", "filesystem/linux", "docker/runtime"],
    ),
    (
        "mesos-unknown-provider",
        "mesos",
        {"mesos_slave_image_providers": "rkt"},
        ["mesos_slave_image_providers", "rkt", "docker, appc"],
    ),
    ("dcos-launcher", "dcos", {"launcher": "windows"}, ["launcher", "windows", "linux, posix"]),
    ("dcos-iso", "dcos", {"isolation": "bogus/iso"}, ["isolation", "bogus/iso", "docker/volume"]),
    (
        "k8s-flannel-backend",
        "kubernetes",
        {"flannel_backend": "gre"},
        ["flannel_backend", "gre", "udp, vxlan, host-gw"],
    ),
    (
        "swarm-flannel-backend",
        "swarm",
        {"flannel_backend": "gre"},
        ["flannel_backend", "gre", "udp, vxlan, host-gw"],
    ),
    (
        "flannel-subnetlen-not-fitting",
        "kubernetes",
        {"flannel_network_cidr": "10.0.0.0/24", "flannel_network_subnetlen": "24"},
        ["flannel_network_subnetlen", "10.0.0.0/24", "25 to 30"],
    ),
    (
        "flannel-subnetlen-wider-than-default-cidr",
        "kubernetes",
        {"flannel_network_subnetlen": "8"},
        ["flannel_network_subnetlen", "10.100.0.0/16", "17 to 30"],
    ),
    (
        "swarm-strategy",
        "swarm",
        {"swarm_strategy": "fastest"},
        ["swarm_strategy", "fastest", "spread, binpack, random"],
    ),
    (
        "auto-healing-not-bool",
        "swarm-mode",
        {"auto_healing_enabled": "maybe"},
        ["auto_healing_enabled", "maybe", "true, false"],
    ),
    (
        "k8s-auto-healing-not-bool",
        "kubernetes",
        {"auto_healing_enabled": "sometimes"},
        ["auto_healing_enabled", "sometimes", "true, false"],
    ),
]


def test_bad_label_is_refused_naming_it_and_the_allowed_values(api: Api, catalog: Catalog) -> None:
    for case_id, coe, labels, fragments in LABEL_RULES:
        detail = _refused(api, template_body(coe=coe, labels=labels))
        assert detail.startswith("Invalid label"), (case_id, detail)
        for fragment in fragments:
            assert fragment in detail, (case_id, fragment, detail)


def test_seed_dcos_example_is_accepted(api: Api, catalog: Catalog) -> None:
    # magnum baymodel-create --name dcosbaymodel --image-id dcos-centos-7.2 --keypair-id testkey
    #   --external-network-id 1hsdhs88sddds889 --dns-nameserver 8.8.8.8 --flavor-id m1.small
    #   --docker-volume-size 5 --coe dcos
    #   --labels isolation=docker/volume,launcher=linux,image_providers=docker
    image = {"name": "dcos-centos-7.2", "os_distro": "centos"}
    assert api.post("/v1/images", json=image).status_code == 201
    assert api.post("/v1/keypairs", json={"name": "testkey"}).status_code == 201
    net = {"name": "1hsdhs88sddds889", "external": True}
    assert api.post("/v1/networks", json=net).status_code == 201
    labels = {"isolation": "docker/volume", "launcher": "linux", "image_providers": "docker"}
    body = {
        "name": "dcosbaymodel", "image_id": "dcos-centos-7.2", "keypair_id": "testkey",
        "external_network_id": "1hsdhs88sddds889", "dns_nameserver": "8.8.8.8",
        "flavor_id": "m1.small", "docker_volume_size": 5, "coe": "dcos", "labels": labels,
    }  # fmt: skip
    response = api.post("/v1/clustertemplates", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["labels"] == labels and created["cluster_distro"] == "centos"
    assert created["coe"] == "dcos" and created["docker_volume_size"] == 5


def test_mesos_image_providers_with_their_isolators_are_accepted(
    api: Api, catalog: Catalog
) -> None:
    labels = {
        "mesos_slave_isolation": "filesystem/linux,docker/runtime",
        "mesos_slave_image_providers": "docker",
    }
    assert _create(api, coe="mesos", labels=labels)["labels"] == labels


def test_unknown_label_is_accepted_and_stored(api: Api, catalog: Catalog) -> None:
    created = _create(
        api, coe="kubernetes", labels={"my_own_label": "x", "flannel_backend": "vxlan"}
    )
    assert created["labels"] == {"my_own_label": "x", "flannel_backend": "vxlan"}


# PATCH


def test_patch_of_internal_attribute_is_refused(api: Api, catalog: Catalog) -> None:
    created = _create(api)
    for path in ("/uuid", "/id", "/project_id", "/user_id", "/created_at", "/updated_at", "/links"):
        for op in ("replace", "remove", "add"):
            response = _patch(api, "swarm-tpl", {"op": op, "path": path, "value": "x"})
            assert response.status_code == 400, (op, path)
            expected = f"'{path}' is an internal attribute and can not be updated"
            assert expected in error_detail(response), (op, path)
    assert api.get("/v1/clustertemplates/swarm-tpl").json() == created


def test_mandatory_attribute_cannot_be_removed(api: Api, catalog: Catalog) -> None:
    created = _create(api)
    for path in (
        "/network_driver", "/external_network_id", "/tls_disabled", "/public", "/server_type",
        "/coe", "/registry_enabled", "/cluster_distro", "/hidden", "/image_id",
    ):  # fmt: skip
        response = _patch(api, "swarm-tpl", {"op": "remove", "path": path})
        assert response.status_code == 400, path
        expected = f"'{path}' is a mandatory attribute and can not be removed"
        assert expected in error_detail(response), path
    assert api.get("/v1/clustertemplates/swarm-tpl").json() == created


def test_optional_attribute_can_be_removed(api: Api, catalog: Catalog) -> None:
    _create(api, dns_nameserver="8.8.8.8")
    response = _patch(api, "swarm-tpl", {"op": "remove", "path": "/dns_nameserver"})
    assert response.status_code == 200
    assert response.json()["dns_nameserver"] is None


def test_add_on_a_set_attribute_is_refused_but_allowed_on_an_unset_one(
    api: Api, catalog: Catalog
) -> None:
    _create(api)
    taken = _patch(api, "swarm-tpl", {"op": "add", "path": "/name", "value": "other"})
    assert taken.status_code == 400
    assert "The attribute /name has existed, please use 'replace'" in error_detail(taken)
    free = _patch(api, "swarm-tpl", {"op": "add", "path": "/dns_nameserver", "value": "1.1.1.1"})
    assert free.status_code == 200 and free.json()["dns_nameserver"] == "1.1.1.1"
    assert free.json()["name"] == "swarm-tpl"


def test_add_of_a_new_root_attribute_is_refused(api: Api, catalog: Catalog) -> None:
    created = _create(api)
    response = _patch(api, "swarm-tpl", {"op": "add", "path": "/foo", "value": "x"})
    assert response.status_code == 400
    assert "Adding a new attribute /foo to the root of the resource is not allowed" in error_detail(
        response
    )
    assert api.get("/v1/clustertemplates/swarm-tpl").json() == created


def test_patch_with_from_key_is_refused(api: Api, catalog: Catalog) -> None:
    _create(api)
    op = {"op": "replace", "path": "/name", "value": "x", "from": "/tags"}
    response = _patch(api, "swarm-tpl", op)
    assert response.status_code == 400
    assert "Unknown attribute" in error_detail(response) and "from" in error_detail(response)
    assert api.get("/v1/clustertemplates/swarm-tpl").status_code == 200


def test_only_add_replace_remove_are_accepted(api: Api, catalog: Catalog) -> None:
    created = _create(api)
    for op in ("move", "copy", "test"):
        response = _patch(api, "swarm-tpl", {"op": op, "path": "/tags", "value": "x"})
        assert response.status_code == 400, op
        assert "add, replace, remove" in error_detail(response), op
    assert api.get("/v1/clustertemplates/swarm-tpl").json() == created


def test_patch_value_must_be_text_or_integer(api: Api, catalog: Catalog) -> None:
    created = _create(api)
    for value in (["a"], {"a": "b"}, 1.5):
        response = _patch(api, "swarm-tpl", {"op": "replace", "path": "/tags", "value": value})
        assert response.status_code == 400, value
        assert "value" in error_detail(response), value
    assert api.get("/v1/clustertemplates/swarm-tpl").json() == created
    as_int = _patch(api, "swarm-tpl", {"op": "replace", "path": "/docker_volume_size", "value": 4})
    assert as_int.status_code == 200 and as_int.json()["docker_volume_size"] == 4


def test_add_and_replace_need_a_value(api: Api, catalog: Catalog) -> None:
    _create(api)
    response = _patch(api, "swarm-tpl", {"op": "replace", "path": "/tags"})
    assert response.status_code == 400
    assert "'add' and 'replace' operations needs value" in error_detail(response)


def test_patch_body_must_be_a_list(api: Api, catalog: Catalog) -> None:
    _create(api)
    response = api.patch(
        "/v1/clustertemplates/swarm-tpl", json={"op": "replace", "path": "/tags", "value": "x"}
    )
    assert response.status_code == 400
    assert "Value not a valid list" in error_detail(response)


def test_patch_returns_the_updated_object(api: Api, catalog: Catalog) -> None:
    _create(api)
    response = _patch(
        api, "swarm-tpl",
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "replace", "path": "/docker_volume_size", "value": 7},
        {"op": "replace", "path": "/tls_disabled", "value": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "renamed" and body["docker_volume_size"] == 7
    assert body["tls_disabled"] is True and body["updated_at"] is not None
    assert api.get("/v1/clustertemplates/renamed").json() == body
    assert api.get("/v1/clustertemplates/swarm-tpl").status_code == 404


def test_labels_take_a_python_literal_string(api: Api, catalog: Catalog) -> None:
    _create(api, labels={"old": "1"})
    response = _patch(api, "swarm-tpl", {"op": "replace", "path": "/labels", "value": "{'a': 'b'}"})
    assert response.status_code == 200
    assert response.json()["labels"] == {"a": "b"}


def test_labels_that_are_not_a_literal_are_refused(api: Api, catalog: Catalog) -> None:
    created = _create(api, labels={"old": "1"})
    response = _patch(api, "swarm-tpl", {"op": "replace", "path": "/labels", "value": "{a: b"})
    assert response.status_code == 400
    assert "labels" in error_detail(response)
    assert api.get("/v1/clustertemplates/swarm-tpl").json() == created


def test_add_and_remove_single_labels(api: Api, catalog: Catalog) -> None:
    _create(api, labels={"old": "1"})
    added = _patch(api, "swarm-tpl", {"op": "add", "path": "/labels/k", "value": "v"})
    assert added.status_code == 200 and added.json()["labels"] == {"old": "1", "k": "v"}
    removed = _patch(api, "swarm-tpl", {"op": "remove", "path": "/labels/old"})
    assert removed.status_code == 200 and removed.json()["labels"] == {"k": "v"}
    missing = _patch(api, "swarm-tpl", {"op": "remove", "path": "/labels/none"})
    assert missing.status_code == 400
    assert api.get("/v1/clustertemplates/swarm-tpl").json()["labels"] == {"k": "v"}


REVALIDATED: list[tuple[str, dict[str, Any], list[str]]] = [
    ("coe-enum", {"path": "/coe", "value": "bogus"}, ["coe", "bogus", COES]),
    (
        "coe-incompatible-with-network-driver",
        {"path": "/coe", "value": "kubernetes"},
        ["network_driver", "docker", "flannel, calico"],
    ),
    (
        "network-driver",
        {"path": "/network_driver", "value": "calico"},
        ["network_driver", "calico", "Allowed values: docker"],
    ),
    ("st", {"path": "/server_type", "value": "cloud"}, ["server_type", "vm, bm"]),
    ("image", {"path": "/image_id", "value": "nope"}, ["image_id", "nope"]),
    ("flavor", {"path": "/flavor_id", "value": "m1.huge"}, ["flavor_id", "m1.huge"]),
    ("dns", {"path": "/dns_nameserver", "value": "resolver"}, ["dns_nameserver", "resolver"]),
    (
        "storage-driver",
        {"path": "/docker_storage_driver", "value": "aufs2"},
        ["docker_storage_driver", "aufs2", "overlay2"],
    ),
    ("volume-past-int32", {"path": "/docker_volume_size", "value": 2**31}, ["docker_volume_size"]),
    ("volume-text", {"path": "/docker_volume_size", "value": "0"}, ["docker_volume_size", "0"]),
    ("port", {"path": "/apiserver_port", "value": 22}, ["apiserver_port", "1024"]),
    ("bool", {"path": "/tls_disabled", "value": "maybe"}, ["tls_disabled", "maybe"]),
    (
        "label",
        {"path": "/labels", "value": "{'swarm_strategy': 'fastest'}"},
        ["swarm_strategy", "spread, binpack, random"],
    ),
]


def test_patch_is_revalidated_and_a_refused_patch_changes_nothing(
    api: Api, catalog: Catalog
) -> None:
    created = _create(api)
    for case_id, op, fragments in REVALIDATED:
        response = _patch(api, "swarm-tpl", {"op": "replace", **op})
        assert response.status_code == 400, (case_id, response.text)
        for fragment in fragments:
            assert fragment in error_detail(response), (case_id, fragment, error_detail(response))
        assert api.get("/v1/clustertemplates/swarm-tpl").json() == created, case_id


def test_patch_to_another_coe_with_a_fitting_network_driver_is_accepted(
    api: Api, catalog: Catalog
) -> None:
    _create(api)
    response = _patch(
        api, "swarm-tpl",
        {"op": "replace", "path": "/coe", "value": "kubernetes"},
        {"op": "replace", "path": "/network_driver", "value": "calico"},
    )  # fmt: skip
    assert response.status_code == 200
    assert (response.json()["coe"], response.json()["network_driver"]) == ("kubernetes", "calico")


# publishing


def test_member_cannot_create_public_or_hidden_templates(api: Api, catalog: Catalog) -> None:
    member = api.as_project("p1")
    assert member.post("/v1/keypairs", json={"name": "kp"}).status_code == 201
    for flags in ({"public": True}, {"hidden": True}, {"public": "yes", "hidden": "true"}):
        detail = _refused(member, template_body(**flags), status=403)
        assert "Not authorized to set public or hidden flag" in detail, flags


def test_member_cannot_publish_or_hide_a_template(api: Api, catalog: Catalog) -> None:
    member = api.as_project("p1")
    assert member.post("/v1/keypairs", json={"name": "kp"}).status_code == 201
    created = member.post("/v1/clustertemplates", json=template_body(public=False))
    assert created.status_code == 201
    for path in ("/public", "/hidden"):
        response = _patch(member, "swarm-tpl", {"op": "replace", "path": path, "value": "true"})
        assert response.status_code == 403, path
        assert "Not authorized to set public or hidden flag" in error_detail(response)
    shown = member.get("/v1/clustertemplates/swarm-tpl").json()
    assert shown["public"] is False and shown["hidden"] is False
    # other attributes stay the member's to change
    tagged = _patch(member, "swarm-tpl", {"op": "replace", "path": "/tags", "value": "mine"})
    assert tagged.status_code == 200 and tagged.json()["tags"] == "mine"


def test_admin_can_publish_and_hide(api: Api, catalog: Catalog) -> None:
    _create(api, public=False)
    response = _patch(
        api, "swarm-tpl",
        {"op": "replace", "path": "/public", "value": "true"},
        {"op": "replace", "path": "/hidden", "value": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["public"] is True and response.json()["hidden"] is True


# delete


def test_delete_answers_204_and_the_template_is_gone(api: Api, catalog: Catalog) -> None:
    created = _create(api)
    response = api.delete(f"/v1/clustertemplates/{created['uuid']}")
    assert response.status_code == 204 and response.content == b""
    assert api.get(f"/v1/clustertemplates/{created['uuid']}").status_code == 404
    assert _templates(api) == []
    assert api.delete(f"/v1/clustertemplates/{created['uuid']}").status_code == 404


def test_delete_of_a_referenced_template_is_refused(api: Api, catalog: Catalog) -> None:
    created = _create(api)
    cluster = api.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    assert cluster.status_code == 202
    response = api.delete("/v1/clustertemplates/swarm-tpl")
    assert response.status_code == 400
    assert "is referenced by one or multiple clusters" in error_detail(response)
    assert created["uuid"] in error_detail(response)
    assert api.get("/v1/clustertemplates/swarm-tpl").status_code == 200
