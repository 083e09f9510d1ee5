"""Version documents, microversion negotiation and the protocol details every response
carries: version headers, request ids, unversioned and trailing-slash paths."""

from __future__ import annotations

from tests.conftest import Api, template_body

RESOURCES = (
    "clustertemplates", "clusters", "quotas", "certificates", "mservices", "stats",
    "federations", "nodegroups", "credentials",
)  # fmt: skip
UNSUPPORTED = {
    "max_version": "1.14",
    "min_version": "1.1",
    "code": "magnum.microversion-unsupported",
    "links": [
        {"rel": "help", "href": "http://docs.openstack.org/api-guide/compute/microversions.html"}
    ],
    "title": "Requested microversion is unsupported",
}
SERVICES = ("container-infra", "container-infrastructure", "container-infrastructure-management")


def test_root_lists_v1_without_auth_or_version_headers(api: Api) -> None:
    response = api.client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "OpenStack Magnum API"
    [v1] = body["versions"]
    assert v1["id"] == "v1" and v1["status"] == "CURRENT"
    assert (v1["min_version"], v1["max_version"]) == ("1.1", "1.14")
    assert v1["links"] == [{"href": "http://testserver/v1/", "rel": "self"}]
    assert "OpenStack-API-Version" not in response.headers


def test_v1_document_has_id_and_links_for_every_resource(api: Api) -> None:
    for path in ("/v1", "/v1/"):
        response = api.client.get(path)  # no identity headers, no microversion
        assert response.status_code == 200, path
        body = response.json()
        assert body["id"] == "v1"  # keystoneauth discovery needs it
        assert body["media_types"] == [
            {"base": "application/json", "type": "application/vnd.openstack.magnum.v1+json"}
        ]
        assert body["links"][0] == {"href": "http://testserver/v1/", "rel": "self"}
        assert body["links"][1]["rel"] == "describedby"
        for name in RESOURCES:
            part = "clusters/{cluster_id}/nodegroups" if name == "nodegroups" else name
            assert body[name] == [
                {"href": f"http://testserver/v1/{part}/", "rel": "self"},
                {"href": f"http://testserver/{part}/", "rel": "bookmark"},
            ], name


def test_v1_responses_carry_the_version_headers(api: Api) -> None:
    response = api.at("1.9").get("/v1/clusters")
    assert response.status_code == 200
    assert response.headers["OpenStack-API-Minimum-Version"] == "container-infra 1.1"
    assert response.headers["OpenStack-API-Maximum-Version"] == "container-infra 1.14"
    assert response.headers["OpenStack-API-Version"] == "container-infra 1.9"
    assert response.headers["Vary"] == "OpenStack-API-Version"


def test_error_responses_also_carry_the_version_headers(api: Api) -> None:
    response = api.get("/v1/clusters/no-such-cluster")
    assert response.status_code == 404
    assert response.headers["OpenStack-API-Version"] == "container-infra 1.14"
    assert response.headers["Vary"] == "OpenStack-API-Version"


def test_no_version_header_means_1_1(api: Api) -> None:
    response = api.at(None).get("/v1/clusters")
    assert response.headers["OpenStack-API-Version"] == "container-infra 1.1"


def test_latest_means_1_14(api: Api) -> None:
    response = api.at("latest").get("/v1/clusters")
    assert response.headers["OpenStack-API-Version"] == "container-infra 1.14"


def test_all_three_service_names_are_accepted(api: Api) -> None:
    for service in SERVICES:
        header = {"OpenStack-API-Version": f"{service} 1.5"}
        response = api.at(None).get("/v1/clusters", headers=header)
        assert response.status_code == 200, service
        assert response.headers["OpenStack-API-Version"].endswith(" 1.5"), service


def test_unsupported_version_gets_magnums_special_406(api: Api) -> None:
    for version in ("1.15", "2.0", "0.9", "1.0"):
        response = api.at(version).get("/v1/clusters")
        assert response.status_code == 406, version
        assert response.json() == {"errors": [UNSUPPORTED]}, version
        assert response.headers["OpenStack-API-Maximum-Version"] == "container-infra 1.14"


def test_malformed_version_gets_a_406_saying_the_expected_form(api: Api) -> None:
    # Magnum's entry is empty here; cove's says "Not Acceptable" and the header's form.
    for header in ("container-infra 1", "garbage", "container-infra 1.x", "container-infra"):
        response = api.at(None).get("/v1/clusters", headers={"OpenStack-API-Version": header})
        assert response.status_code == 406, header
        entry = response.json()["errors"][0]
        assert entry["status"] == 406 and entry["code"] == "client", header
        assert entry["title"].startswith("Not Acceptable"), header
        assert "'<service> <X.Y|latest>'" in entry["detail"], header


def test_another_services_version_header_gets_406_as_in_magnum(api: Api) -> None:
    response = api.at(None).get("/v1/clusters", headers={"OpenStack-API-Version": "compute 2.1"})
    assert response.status_code == 406
    assert "'compute'" in response.json()["errors"][0]["detail"]


def test_unversioned_paths_are_routed_to_v1(api: Api, catalog: dict[str, object]) -> None:
    listed = api.get("/clustertemplates")
    assert listed.status_code == 200 and listed.json() == {"clustertemplates": []}
    assert listed.headers["OpenStack-API-Version"] == "container-infra 1.14"
    images = api.get("/images").json()["images"]
    assert [i["name"] for i in images] == ["instant-image"]


def test_trailing_slash_before_query_is_accepted(api: Api, catalog: dict[str, object]) -> None:
    for n in range(3):
        assert api.post("/v1/clustertemplates", json=template_body(name=f"t{n}")).status_code == 201
    response = api.get("/v1/clustertemplates/?limit=2")
    assert response.status_code == 200
    assert [t["name"] for t in response.json()["clustertemplates"]] == ["t0", "t1"]
    assert "next" in response.json()


def test_every_response_has_a_request_id(api: Api) -> None:
    ids = set()
    for path in ("/", "/v1", "/v1/clusters", "/v1/clusters/missing"):
        response = api.get(path)
        request_id = response.headers["x-openstack-request-id"]
        assert request_id.startswith("req-")
        ids.add(request_id)
    assert len(ids) == 4  # one per request
    refused = api.at("9.9").get("/v1/clusters")
    assert refused.headers["x-openstack-request-id"].startswith("req-")
