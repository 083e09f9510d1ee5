"""Magnum's pagination (limit, marker, sort_key, sort_dir, ``next``), strict query parameters on
every list, and a cluster list whose cost in SQL queries does not grow with the page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event

from tests.conftest import Api, error_detail, template_body

Catalog = dict[str, Any]


def _templates(api: Api, count: int) -> list[str]:
    uuids = []
    for n in range(count):
        response = api.post("/v1/clustertemplates", json=template_body(name=f"t{n}"))
        assert response.status_code == 201
        uuids.append(response.json()["uuid"])
    return uuids


def _clusters(api: Api, count: int) -> list[str]:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    uuids = []
    for n in range(count):
        body = {"name": f"c{n:02d}", "cluster_template_id": "swarm-tpl"}
        response = api.post("/v1/clusters", json=body)
        assert response.status_code == 202, response.text
        uuids.append(response.json()["uuid"])
    return uuids


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver"
    return f"{parts.path}?{parts.query}"


def _follow(api: Api, path: str, key: str) -> list[list[str]]:
    """Every page's uuids, following ``next`` to the end."""
    pages = []
    url: str | None = path
    while url is not None:
        response = api.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["uuid"] for item in body[key]])
        url = _path(body["next"]) if "next" in body else None
        assert len(pages) < 20
    return pages


def test_limit_gives_full_pages_with_next_and_following_it_yields_the_rest(
    api: Api, catalog: Catalog
) -> None:
    uuids = _clusters(api, 5)
    first = api.get("/v1/clusters", params={"limit": 2}).json()
    assert [c["uuid"] for c in first["clusters"]] == uuids[:2]
    query = parse_qs(urlsplit(first["next"]).query)
    assert urlsplit(first["next"]).path == "/v1/clusters"
    assert query == {"sort_key": ["id"], "sort_dir": ["asc"], "limit": ["2"], "marker": [uuids[1]]}
    assert _follow(api, "/v1/clusters?limit=2", "clusters") == [uuids[:2], uuids[2:4], uuids[4:]]
    # no limit: everything on one page, no next
    assert "next" not in api.get("/v1/clusters").json()
    detail = _follow(api, "/v1/clusters/detail?limit=3", "clusters")
    assert detail == [uuids[:3], uuids[3:]]
    assert "/v1/clusters/detail?" in api.get("/v1/clusters/detail?limit=3").json()["next"]


def test_next_appears_exactly_when_the_page_is_full(api: Api, catalog: Catalog) -> None:
    uuids = _templates(api, 4)
    pages = _follow(api, "/v1/clustertemplates?limit=2", "clustertemplates")
    assert pages == [uuids[:2], uuids[2:], []]  # a full last page still has a next
    assert "next" not in api.get("/v1/clustertemplates", params={"limit": 5}).json()
    full = api.get("/v1/clustertemplates", params={"limit": 4}).json()
    assert "next" in full and len(full["clustertemplates"]) == 4
    detail = _follow(api, "/v1/clustertemplates/detail?limit=3", "clustertemplates")
    assert detail == [uuids[:3], uuids[3:]]


def test_marker_starts_after_the_given_item(api: Api, catalog: Catalog) -> None:
    uuids = _templates(api, 4)
    page = api.get("/v1/clustertemplates", params={"marker": uuids[1]}).json()
    assert [t["uuid"] for t in page["clustertemplates"]] == uuids[2:]
    page = api.get("/v1/clustertemplates", params={"marker": uuids[0], "limit": 1}).json()
    assert [t["uuid"] for t in page["clustertemplates"]] == [uuids[1]]


def test_marker_must_be_a_known_uuid(api: Api, catalog: Catalog) -> None:
    _clusters(api, 1)
    for path in ("/v1/clusters", "/v1/clusters/detail", "/v1/clustertemplates"):
        not_uuid = api.get(path, params={"marker": "c00"})
        assert not_uuid.status_code == 400, path
        assert "marker" in error_detail(not_uuid) and "Expected a uuid" in error_detail(not_uuid)
        unknown = api.get(path, params={"marker": "11111111-2222-3333-4444-555555555555"})
        assert unknown.status_code == 404, path
        assert "11111111-2222-3333-4444-555555555555 could not be found" in error_detail(unknown)


def test_sort_key_and_sort_dir_order_the_pages(api: Api, catalog: Catalog) -> None:
    uuids = _clusters(api, 5)
    by_name_desc = _follow(api, "/v1/clusters?limit=2&sort_key=name&sort_dir=desc", "clusters")
    assert by_name_desc == [[uuids[4], uuids[3]], [uuids[2], uuids[1]], [uuids[0]]]
    first = api.get("/v1/clusters", params={"limit": 2, "sort_key": "name", "sort_dir": "desc"})
    query = parse_qs(urlsplit(first.json()["next"]).query)
    assert (query["sort_key"], query["sort_dir"]) == (["name"], ["desc"])
    by_id_desc = api.get("/v1/clusters", params={"sort_dir": "desc"}).json()["clusters"]
    assert [c["uuid"] for c in by_id_desc] == uuids[::-1]


def test_unknown_sort_key_is_refused_naming_it(api: Api, catalog: Catalog) -> None:
    for path in ("/v1/clusters", "/v1/clustertemplates", "/v1/quotas"):
        response = api.get(path, params={"sort_key": "bogus"})
        assert response.status_code == 400, path
        assert (
            error_detail(response) == 'The sort_key value "bogus" is an invalid field for sorting'
        )


def test_bad_sort_dir_is_refused(api: Api, catalog: Catalog) -> None:
    for path in ("/v1/clusters", "/v1/clustertemplates/detail"):
        response = api.get(path, params={"sort_dir": "up"})
        assert response.status_code == 400, path
        assert "sort_dir" in error_detail(response) and "asc, desc" in error_detail(response)


def test_limit_must_be_positive(api: Api, catalog: Catalog) -> None:
    _templates(api, 1)
    for path in ("/v1/clusters", "/v1/clustertemplates", "/v1/quotas"):
        for limit in ("0", "-1"):
            response = api.get(path, params={"limit": limit})
            assert response.status_code == 400, (path, limit)
            assert error_detail(response) == "Limit must be positive"
    not_a_number = api.get("/v1/clusters", params={"limit": "ten"})
    assert not_a_number.status_code == 400 and "limit" in error_detail(not_a_number)


def test_unknown_query_parameter_is_refused_on_every_list(api: Api, catalog: Catalog) -> None:
    _clusters(api, 1)
    lists = [
        "/v1/clusters", "/v1/clusters/detail", "/v1/clustertemplates",
        "/v1/clustertemplates/detail", "/v1/clusters/c00/nodegroups", "/v1/quotas",
        "/v1/mservices", "/v1/stats", "/v1/federations", "/v1/images", "/v1/flavors",
        "/v1/keypairs", "/v1/networks",
    ]  # fmt: skip
    for path in lists:
        response = api.get(path, params={"foo": "1"})
        assert response.status_code == 400, path
        assert error_detail(response) == 'Unknown argument: "foo"', path
    for path in ("/v1/bays", "/v1/baymodels"):
        response = api.at("1.10").get(path, params={"foo": "1"})
        assert response.status_code == 400, path
        assert error_detail(response) == 'Unknown argument: "foo"', path


def test_all_tenants_is_not_a_cluster_or_template_parameter(api: Api, catalog: Catalog) -> None:
    for path in ("/v1/clusters", "/v1/clusters/detail", "/v1/clustertemplates"):
        response = api.get(path, params={"all_tenants": "True"})
        assert response.status_code == 400, path
        assert error_detail(response) == 'Unknown argument: "all_tenants"'


def test_quota_marker_is_the_integer_id(api: Api) -> None:
    ids = []
    for project in ("p1", "p2", "p3"):
        body = {"project_id": project, "resource": "Cluster", "hard_limit": 3}
        ids.append(api.post("/v1/quotas", json=body).json()["id"])
    first = api.get("/v1/quotas", params={"all_tenants": "True", "limit": 2}).json()
    assert [q["id"] for q in first["quotas"]] == ids[:2]
    assert parse_qs(urlsplit(first["next"]).query)["marker"] == [str(ids[1])]
    rest = api.get("/v1/quotas", params={"all_tenants": "True", "marker": ids[1]}).json()
    assert [q["project_id"] for q in rest["quotas"]] == ["p3"] and "next" not in rest
    not_int = api.get("/v1/quotas", params={"all_tenants": "True", "marker": "p1"})
    assert not_int.status_code == 400 and "marker" in error_detail(not_int)


def test_nodegroup_marker_may_be_a_name(api: Api, catalog: Catalog) -> None:
    _clusters(api, 1)
    groups = api.get("/v1/clusters/c00/nodegroups").json()["nodegroups"]
    assert [g["name"] for g in groups] == ["default-master", "default-worker"]
    page = api.get("/v1/clusters/c00/nodegroups", params={"limit": 1})
    assert [g["name"] for g in page.json()["nodegroups"]] == ["default-master"]
    assert urlsplit(page.json()["next"]).path.endswith("/nodegroups")
    after = api.get("/v1/clusters/c00/nodegroups", params={"marker": "default-master"})
    assert [g["name"] for g in after.json()["nodegroups"]] == ["default-worker"]


@contextmanager
def _counting_queries(api: Api) -> Iterator[list[str]]:
    engine = api.client.app.state.engine
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _queries_for(api: Api, path: str) -> int:
    with _counting_queries(api) as statements:
        response = api.get(path)
    assert response.status_code == 200
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])


def test_cluster_list_runs_a_constant_number_of_queries(api: Api, catalog: Catalog) -> None:
    body = {"project_id": "admin", "resource": "Cluster", "hard_limit": 100}
    assert api.post("/v1/quotas", json=body).status_code == 201
    _clusters(api, 2)
    api.settle()
    paths = ("/v1/clusters", "/v1/clusters/detail")
    few = {path: _queries_for(api, path) for path in paths}
    for n in range(2, 30):
        more = {"name": f"c{n:02d}", "cluster_template_id": "swarm-tpl"}
        assert api.post("/v1/clusters", json=more).status_code == 202
    api.settle()
    assert len(api.get("/v1/clusters").json()["clusters"]) == 30
    many = {path: _queries_for(api, path) for path in paths}
    assert many == few, (few, many)
    assert all(1 <= count <= 4 for count in many.values()), many


def test_pages_by_a_column_that_cannot_be_null_are_ordered_as_its_index_is(
    api: Api, catalog: Catalog
) -> None:
    """``ORDER BY id NULLS FIRST`` cannot walk PostgreSQL's primary key: every row of the
    project was sorted for each page (93 ms for 50 of 100,000). Only a column that can hold
    null gets the nulls clause, which places a marker whose value is null."""
    _clusters(api, 3)
    with _counting_queries(api) as statements:
        assert api.get("/v1/clusters?limit=2").status_code == 200
    (page,) = [s for s in statements if "FROM clusters" in s and "LIMIT" in s.upper()]
    assert "NULLS" not in page.upper(), page
    with _counting_queries(api) as statements:
        assert api.get("/v1/clusters?limit=2&sort_key=keypair").status_code == 200
    (page,) = [s for s in statements if "FROM clusters" in s and "LIMIT" in s.upper()]
    assert "NULLS FIRST" in page.upper(), page


def test_a_cluster_show_is_one_query_by_uuid_or_by_name(api: Api, catalog: Catalog) -> None:
    """The cluster, its node groups and its template's labels (the label diff) together."""
    template = {**template_body(), "labels": {"kept": "1", "changed": "a", "dropped": "x"}}
    assert api.post("/v1/clustertemplates", json=template).status_code == 201
    body = {
        "name": "c1",
        "cluster_template_id": "swarm-tpl",
        "labels": {"kept": "1", "changed": "b", "added": "y"},
    }
    uuid = api.post("/v1/clusters", json=body).json()["uuid"]
    api.settle()
    latest = {"OpenStack-API-Version": "container-infra latest"}
    for ident in (uuid, "c1"):
        assert _queries_for(api, f"/v1/clusters/{ident}") == 1
        shown = api.get(f"/v1/clusters/{ident}", headers=latest).json()
        assert shown["node_count"] == 1 and shown["master_count"] == 1, shown
        assert shown["labels_overridden"] == {"changed": "a"}, shown
        assert shown["labels_added"] == {"added": "y"}, shown
        assert shown["labels_skipped"] == {"dropped": "x"}, shown
