"""What a careless or hostile client sends (issue 10), on both databases: every answer is a
4xx with Magnum's error body naming the field, nothing is stored, and the server answers
after. Non-Latin-1 text is valid (stored, and echoed in headers escaped)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Api, template_body

INT32_MAX = 2**31 - 1
TEMPLATES = "/v1/clustertemplates"
BAYMODELS = "/v1/baymodels"


def _refused(response: Any, *words: str, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    entry: dict[str, Any] = response.json()["errors"][0]
    assert entry["status"] == status and entry["title"], entry
    for word in words:
        assert word in entry["detail"], (word, entry["detail"])
    return entry


def _count(api: Api, coll: str) -> int:
    response = api.get(f"/v1/{coll}")
    assert response.status_code == 200, response.text
    return len(response.json()[coll])


def _post(api: Api, path: str, body: Any) -> Any:
    """JSON as Python writes it (``\\ud800`` escaped), which the test client would refuse."""
    content = json.dumps(body).encode()
    return api.post(path, content=content, headers={"Content-Type": "application/json"})


def _still_answers(api: Api) -> None:
    assert api.get("/v1/clustertemplates").status_code == 200


def _template(api: Api, **overrides: Any) -> dict[str, Any]:
    created = api.post(TEMPLATES, json=template_body(**overrides))
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def _baymodel_body(**overrides: Any) -> dict[str, Any]:
    body = template_body(name="bm", **overrides)
    del body["public"]
    return body


# -- labels and headers -----------------------------------------------------------------------


def test_label_names_outside_latin1_are_stored_and_warned_about_escaped(
    api: Api, catalog: dict[str, Any]
) -> None:
    created = api.post(TEMPLATES, json=template_body(labels={"ключ": "v"}))
    assert created.status_code == 201, created.text
    assert created.json()["labels"] == {"ключ": "v"}
    warning = created.headers["Cove-Warning"]
    assert "\\u043a\\u043b\\u044e\\u0447" in warning
    warning.encode("ascii")  # always sendable
    bay = api.at("1.10").post(BAYMODELS, json=_baymodel_body(labels={"ключ": "v"}))
    assert bay.status_code == 201, bay.text
    cluster = api.post(
        "/v1/clusters",
        json={"name": "c1", "cluster_template_id": "swarm-tpl", "labels": {"ключ": "v"}},
    )
    assert cluster.status_code == 202, cluster.text
    assert "\\u043a" in cluster.headers["Cove-Warning"]
    assert _count(api, "clustertemplates") == 2 and _count(api, "clusters") == 1


@pytest.mark.parametrize("name", ["", "   ", "a\r\nb", "a\nX-Evil: 1", "a\x00b", "a\x7fb"])
def test_blank_or_control_label_names_are_refused_and_nothing_is_stored(
    api: Api, catalog: dict[str, Any], name: str
) -> None:
    labels = {name: "v"}
    _refused(api.post(TEMPLATES, json=template_body(labels=labels)), "labels")
    _refused(api.at("1.10").post(BAYMODELS, json=_baymodel_body(labels=labels)), "labels")
    _template(api)
    cluster = {"name": "c1", "cluster_template_id": "swarm-tpl", "labels": labels}
    _refused(api.post("/v1/clusters", json=cluster), "labels")
    bay = {"name": "b1", "baymodel_id": "swarm-tpl", "labels": labels}
    _refused(api.at("1.10").post("/v1/bays", json=bay), "labels")
    assert _count(api, "clustertemplates") == 1 and _count(api, "clusters") == 0
    _still_answers(api)


def test_patched_label_names_are_checked_too(api: Api, catalog: dict[str, Any]) -> None:
    _template(api)
    patch = [{"op": "replace", "path": "/labels", "value": "{'': 'v'}"}]
    _refused(api.patch(f"{TEMPLATES}/swarm-tpl", json=patch), "labels")
    assert api.get(f"{TEMPLATES}/swarm-tpl").json()["labels"] == {}


def test_label_count_and_sizes_are_bounded(api: Api, catalog: dict[str, Any]) -> None:
    many = {f"l{n}": "v" for n in range(101)}
    _refused(api.post(TEMPLATES, json=template_body(labels=many)), "labels", "At most 100")
    long_name = {"n" * 256: "v"}
    _refused(api.post(TEMPLATES, json=template_body(labels=long_name)), "labels", "255")
    long_value = {"k": "v" * 4097}
    entry = _refused(api.post(TEMPLATES, json=template_body(labels=long_value)), "labels.k")
    assert len(entry["detail"]) < 400  # the value is cut in the message
    assert _count(api, "clustertemplates") == 0


# -- strings: control characters, NUL, lengths ------------------------------------------------


@pytest.mark.parametrize("bad", ["a\x00b", "a\x01b", "tab\there", "line\nbreak", "\ud800"])
def test_control_characters_in_any_string_field_are_refused(
    api: Api, catalog: dict[str, Any], bad: str
) -> None:
    for field in ("name", "http_proxy", "tags", "dns_nameserver", "fixed_network"):
        _refused(_post(api, TEMPLATES, template_body(**{field: bad})), field)
    _refused(_post(api, "/v1/keypairs", {"name": bad}), "name")
    _refused(_post(api, "/v1/images", {"name": bad, "os_distro": "x"}), "name")
    _refused(_post(api, "/v1/flavors", {"name": bad, "vcpus": 1, "ram": 64, "disk": 0}))
    _refused(_post(api, "/v1/networks", {"name": "n", "subnets": [{"name": bad, "cidr": "x"}]}))
    _refused(_post(api, "/v1/quotas", {"project_id": bad, "hard_limit": 1}), "project_id")
    _template(api)
    cluster = {"name": "c1", "cluster_template_id": "swarm-tpl", "discovery_url": bad}
    _refused(_post(api, "/v1/clusters", cluster), "discovery_url")
    assert _count(api, "clustertemplates") == 1 and _count(api, "clusters") == 0
    assert _count(api, "keypairs") == 1
    _still_answers(api)


def test_non_latin1_names_are_valid(api: Api, catalog: dict[str, Any]) -> None:
    created = _template(api, name="шаблон", tags="метка")
    assert created["name"] == "шаблон"
    assert api.get(f"{TEMPLATES}/шаблон").json()["tags"] == "метка"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/clustertemplates/a%00b",
        "/v1/clusters/a%00b",
        "/v1/baymodels/a%00b",
        "/v1/images/a%00b",
        "/v1/keypairs/a%01b",
        "/v1/clusters/a%00b/nodegroups",
        "/v1/quotas/p%00/Cluster",
    ],
)
def test_nul_in_a_path_is_a_400(api: Api, path: str) -> None:
    _refused(api.get(path), "control character U+00")
    _still_answers(api)


@pytest.mark.parametrize(
    "query", ["marker=a%00b", "sort_key=na%00me", "limit=1&marker=%00", "role=w%00"]
)
def test_nul_in_a_query_parameter_is_a_400_naming_it(api: Api, query: str) -> None:
    name = query.rsplit("&", 1)[-1].split("=", 1)[0]
    _refused(api.get(f"/v1/clustertemplates?{query}"), name, "U+0000")
    _refused(api.get("/v1/stats?project_id=a%00b"), "project_id")
    _still_answers(api)


def test_name_lengths_are_bounded(api: Api, catalog: dict[str, Any]) -> None:
    _refused(api.post(TEMPLATES, json=template_body(name="n" * 256)), "name")
    _refused(api.post("/v1/keypairs", json={"name": "k" * 256}), "name")
    _template(api)
    cluster = {"name": "c" * 243, "cluster_template_id": "swarm-tpl"}
    _refused(api.post("/v1/clusters", json=cluster), "name")
    assert _count(api, "clusters") == 0
    # At the bound: made, with a CA (whose common name holds 64 characters), and rotated.
    longest = {"name": "c" * 242, "cluster_template_id": "swarm-tpl"}
    uuid = api.post("/v1/clusters", json=longest).json()["uuid"]
    api.settle()
    assert api.get(f"/v1/clusters/{uuid}").json()["status"] == "CREATE_COMPLETE"
    assert api.patch(f"/v1/certificates/{uuid}").status_code == 202
    api.settle()
    assert api.get(f"/v1/clusters/{uuid}").json()["status"] == "UPDATE_COMPLETE"


def test_a_long_invalid_value_is_cut_in_the_message(api: Api, catalog: dict[str, Any]) -> None:
    response = api.post(TEMPLATES, json=template_body(http_proxy="x" * 200_000))
    entry = _refused(response, "http_proxy", "characters)")
    assert len(response.content) < 2000, len(response.content)
    assert len(entry["detail"]) < 600


def test_a_body_over_the_limit_is_refused_with_413(api: Api, catalog: dict[str, Any]) -> None:
    body = template_body(labels={"big": "x" * (2 * 1024 * 1024)})
    entry = _refused(api.post(TEMPLATES, json=body), "Request body too large", status=413)
    assert entry["code"] == "client"
    assert _count(api, "clustertemplates") == 0
    _still_answers(api)


# -- integers ---------------------------------------------------------------------------------

# (collection, field, base body maker, largest valid value)
INT_FIELDS = [
    ("template", "docker_volume_size", INT32_MAX),
    ("template", "apiserver_port", 65535),
    ("cluster", "node_count", None),
    ("cluster", "master_count", None),
    ("cluster", "docker_volume_size", INT32_MAX),
    ("cluster", "create_timeout", 525600),
    ("quota", "hard_limit", INT32_MAX),
    ("flavor", "disk", INT32_MAX),
    ("flavor", "ram", INT32_MAX),
    ("flavor", "vcpus", 256),
]


def _int_request(api: Api, kind: str, field: str, value: Any) -> Any:
    if kind == "template":
        return api.post(TEMPLATES, json=template_body(name="t2", **{field: value}))
    if kind == "cluster":
        body = {"name": "c1", "cluster_template_id": "swarm-tpl", field: value}
        return api.post("/v1/clusters", json=body)
    if kind == "quota":
        return api.post("/v1/quotas", json={"project_id": "p9", "hard_limit": value})
    body = {"name": "f9", "vcpus": 1, "ram": 64, "disk": 0, field: value}
    return api.post("/v1/flavors", json=body)


@pytest.mark.parametrize(("kind", "field", "largest"), INT_FIELDS)
def test_integers_past_their_column_are_refused(
    api: Api, catalog: dict[str, Any], kind: str, field: str, largest: int | None
) -> None:
    _template(api)
    before = (_count(api, "clusters"), _count(api, "flavors"), _count(api, "clustertemplates"))
    for value in (INT32_MAX + 1, 2**63, 10**10, -(2**31) - 1, True, "3", 2.1e23):
        _refused(_int_request(api, kind, field, value), field)
    after = (_count(api, "clusters"), _count(api, "flavors"), _count(api, "clustertemplates"))
    assert after == before
    if largest is not None and kind != "cluster":
        accepted = _int_request(api, kind, field, largest)
        assert accepted.status_code < 300, accepted.text
    _still_answers(api)


def test_create_timeout_at_its_bound_is_accepted_and_one_past_refused(
    api: Api, catalog: dict[str, Any]
) -> None:
    _template(api)
    body = {"name": "c1", "cluster_template_id": "swarm-tpl", "create_timeout": 525601}
    _refused(api.post("/v1/clusters", json=body), "create_timeout", "525600")
    body["create_timeout"] = 525600
    assert api.post("/v1/clusters", json=body).status_code == 202


def test_flavor_disk_as_a_huge_float_is_a_400(api: Api) -> None:
    body = {"name": "f9", "vcpus": 1, "ram": 64, "disk": 2.1e23}
    _refused(api.post("/v1/flavors", json=body), "disk")


# -- tenancy: markers -------------------------------------------------------------------------


def test_a_marker_from_another_projects_private_template_is_not_found(
    api: Api, catalog: dict[str, Any]
) -> None:
    other = api.as_project("other")
    other.post("/v1/images", json={"name": "img", "os_distro": "instant"})
    hidden = other.post(
        TEMPLATES, json=template_body(name="secret", image_id="img", keypair_id=None, public=False)
    )
    assert hidden.status_code == 201, hidden.text
    mine = api.as_project("mine")
    for coll in ("clustertemplates", "baymodels"):
        for sort in ("", "&sort_key=name"):
            response = mine.get(f"/v1/{coll}?marker={hidden.json()['uuid']}{sort}")
            _refused(response, hidden.json()["uuid"], status=404)


def test_a_marker_from_another_projects_cluster_is_not_found(
    api: Api, catalog: dict[str, Any]
) -> None:
    _template(api, keypair_id=None)
    other = api.as_project("other")
    created = other.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    assert created.status_code == 202, created.text
    uuid = created.json()["uuid"]
    mine = api.as_project("mine")
    for path in ("/v1/clusters", "/v1/clusters/detail", "/v1/bays"):
        _refused(mine.get(f"{path}?marker={uuid}&sort_key=name"), uuid, status=404)
    assert other.get(f"/v1/clusters?marker={uuid}").status_code == 200


def test_a_marker_from_another_projects_quota_is_not_found(api: Api) -> None:
    created = api.post("/v1/quotas", json={"project_id": "other", "hard_limit": 3})
    assert created.status_code == 201, created.text
    reader = api.as_project("mine", roles="admin")  # admin, without all_tenants: own rows
    response = reader.get(f"/v1/quotas?marker={created.json()['id']}")
    _refused(response, status=404)
    assert api.get(f"/v1/quotas?all_tenants=true&marker={created.json()['id']}").status_code == 200
    _refused(reader.get(f"/v1/quotas?marker={2**70}"), status=404)


# -- patches, routing and messages ------------------------------------------------------------


def test_patching_cluster_distro_is_refused(api: Api, catalog: dict[str, Any]) -> None:
    _template(api)
    patch = [{"op": "replace", "path": "/cluster_distro", "value": "fedora"}]
    _refused(api.patch(f"{TEMPLATES}/swarm-tpl", json=patch), "cluster_distro", "image_id")
    assert api.get(f"{TEMPLATES}/swarm-tpl").json()["cluster_distro"] == "instant"


def test_a_wrong_typed_patch_value_names_the_field(api: Api, catalog: dict[str, Any]) -> None:
    _template(api)
    patch = [{"op": "replace", "path": "/name", "value": ["x"]}]
    entry = _refused(api.patch(f"{TEMPLATES}/swarm-tpl", json=patch), "0.value")
    assert ".str" not in entry["detail"]


def test_routing_errors_say_what_they_are(api: Api) -> None:
    missing = _refused(api.get("/v1/nothing-here"), status=404)
    assert missing["title"].startswith("Not Found")
    wrong = api.post("/v1/clusters/some-id", json={})
    entry = _refused(wrong, status=405)
    assert entry["title"].startswith("Method Not Allowed")
    assert wrong.headers["Allow"] == "DELETE, GET, HEAD, PATCH"
    versions = _refused(api.at("garbage").get("/v1/clusters"), status=406)
    assert versions["title"].startswith("Not Acceptable")


def test_unreadable_bodies_are_400s_that_say_why(api: Api) -> None:
    utf8 = api.post(
        TEMPLATES, content=b'{"name": "\xff"}', headers={"Content-Type": "application/json"}
    )
    assert _refused(utf8)["title"].startswith("Invalid request body")
    deep = api.post(
        TEMPLATES, content=b"[" * 100_000 + b"]" * 100_000,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert deep.status_code in (400, 413), deep.text
    assert deep.json()["errors"][0]["title"]
    plain = api.post(TEMPLATES, content=b"coe=swarm", headers={"Content-Type": "text/plain"})
    _refused(plain, "application/json", "text/plain")
    _still_answers(api)


# -- deviations from Magnum resolved ----------------------------------------------------------


def test_an_unknown_keypair_on_cluster_create_is_a_404_as_in_magnum(
    api: Api, catalog: dict[str, Any]
) -> None:
    _template(api)
    body = {"name": "c1", "cluster_template_id": "swarm-tpl", "keypair": "nope"}
    _refused(api.post("/v1/clusters", json=body), "Unable to find keypair nope", status=404)
    bay = {"name": "b1", "baymodel_id": "swarm-tpl"}
    api.delete("/v1/keypairs/kp")
    _refused(api.at("1.10").post("/v1/bays", json=bay), "keypair", status=404)
    assert _count(api, "clusters") == 0


def test_devicemapper_without_a_volume_size_is_accepted(api: Api, catalog: dict[str, Any]) -> None:
    # magnumclient 3.7's baymodel-create and 4.11's cluster-template-create send this.
    created = api.post(TEMPLATES, json=template_body(docker_storage_driver="devicemapper"))
    assert created.status_code == 201, created.text
    bay = api.at("1.10").post(
        BAYMODELS, json=_baymodel_body(coe="mesos", docker_storage_driver="devicemapper")
    )
    assert bay.status_code == 201, bay.text


def test_a_template_patch_may_send_an_integer_as_text_as_the_clients_do(
    api: Api, catalog: dict[str, Any]
) -> None:
    _template(api)
    patch = [{"op": "replace", "path": "/docker_volume_size", "value": "5"}]
    response = api.patch(f"{TEMPLATES}/swarm-tpl", json=patch)
    assert response.status_code == 200, response.text
    assert response.json()["docker_volume_size"] == 5


# -- the server does what the OpenAPI document says ---------------------------------------------


def test_whole_number_floats_are_integers_as_in_json_schema(
    api: Api, catalog: dict[str, Any]
) -> None:
    flavor = api.post("/v1/flavors", json={"name": "f9", "vcpus": 2.0, "ram": 64.0, "disk": 0.0})
    assert flavor.status_code == 201, flavor.text
    assert [flavor.json()[k] for k in ("vcpus", "ram", "disk")] == [2, 64, 0]
    _template(api)
    body = {"name": "c1", "cluster_template_id": "swarm-tpl", "node_count": 2.0}
    assert api.post("/v1/clusters", json=body).status_code == 202
    api.settle()
    patch = [{"op": "replace", "path": "/node_count", "value": 3.0}]
    assert api.patch("/v1/clusters/c1", json=patch).status_code == 202
    api.settle()
    assert api.get("/v1/clusters/c1").json()["node_count"] == 3
    for value in (2.5, True, "2"):
        body = {"name": "f8", "vcpus": value, "ram": 64, "disk": 0}
        _refused(api.post("/v1/flavors", json=body), "vcpus")


def test_numbers_are_not_booleans_but_boolean_words_are(api: Api) -> None:
    for value in (0, 1, 1.0):
        image = {"name": "i9", "os_distro": "instant", "public": value}
        _refused(api.post("/v1/images", json=image), "public")
    _refused(api.post("/v1/networks", json={"name": "n9", "shared": 0}), "shared")
    image = {"name": "i9", "os_distro": "instant", "public": "Yes"}
    assert api.post("/v1/images", json=image).json()["public"] is True


IDENTITY_HEADERS = ["X-Project-Id", "X-Tenant-Id", "X-User-Id", "X-User", "X-Roles"]


@pytest.mark.parametrize("header", [*IDENTITY_HEADERS, "X-Identity-Status"])
@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "a\x7fb"])
def test_control_characters_in_identity_headers_are_a_400_naming_the_header(
    api: Api, header: str, bad: str
) -> None:
    before = _count(api, "keypairs")
    response = api.post("/v1/keypairs", json={"name": "k9"}, headers={header: bad})
    entry = _refused(response, header.lower(), f"U+{ord(bad[1]):04X}")
    assert entry["code"] == "client"
    assert _count(api, "keypairs") == before
    _still_answers(api)


def test_allow_names_the_methods_the_document_gives_the_path(api: Api) -> None:
    detail = api.request("OPTIONS", "/v1/clusters/detail")
    _refused(detail, status=405)
    assert detail.headers["Allow"] == "GET, HEAD"
    one = api.request("OPTIONS", "/v1/clusters/c1")
    assert one.headers["Allow"] == "DELETE, GET, HEAD, PATCH"


def _walk(api: Api, path: str, query: dict[str, Any]) -> list[Any]:
    """Every item of a listing, page by page through ``next``."""
    response = api.get(path, params=query)
    seen: list[Any] = []
    while True:
        assert response.status_code == 200, (path, query, response.text)
        body = response.json()
        seen += [item.get("uuid", item.get("id")) for item in _items(body)]
        if not body.get("next"):
            return seen
        response = api.get(body["next"])


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    return next(v for k, v in body.items() if isinstance(v, list))


def test_every_documented_sort_key_sorts_and_pages(api: Api, catalog: dict[str, Any]) -> None:
    _template(api)
    _template(api, name="bare", labels={}, dns_nameserver=None)
    for name in ("c1", "c2", "c3"):
        body = {"name": name, "cluster_template_id": "swarm-tpl", "labels": {"k": name}}
        assert api.post("/v1/clusters", json=body).status_code == 202
    for project in ("p1", "p2", "p3"):
        api.post("/v1/quotas", json={"project_id": project, "hard_limit": 2})
    api.settle()
    document = api.get("/openapi.json").json()
    for path, item in document["paths"].items():
        parameters = {p["name"]: p for p in item.get("get", {}).get("parameters", [])}
        if "sort_key" not in parameters:
            continue
        path = path.replace("{cluster_ident}", "c1")
        everything = sorted(map(str, _walk(api, path, {})))
        for key in parameters["sort_key"]["schema"]["enum"]:
            for direction in ("asc", "desc"):
                query = {"sort_key": key, "sort_dir": direction, "limit": 1}
                walked = _walk(api, path, query)
                assert sorted(map(str, walked)) == everything, (path, key, direction)
