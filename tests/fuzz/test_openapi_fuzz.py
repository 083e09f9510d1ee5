"""Schemathesis against cove's own OpenAPI document, in process through the ASGI app.

One pytest item per operation of ``app.openapi()``. Each item fuzzes its operation with
Hypothesis (positive and negative data) on a SQLite copy of a seeded database: an image with
os_distro ``instant``, a keypair, a public template, a cluster settled to CREATE_COMPLETE by
the InstantDriver, a second node group and a quota row. A ``flatmap_case`` hook, scoped to the
schema, makes cases realistic some of the time: path parameters become the seeded objects'
names and uuids, body references (``cluster_template_id``, ``keypair``, ``csr`` …) become real
ones, and every request carries a microversion and an identity drawn from a small set.

The database is restored from the seed before every example, so examples are independent and
Hypothesis can shrink a failure. Checks: no 5xx, every status code is documented, every body
and content type matches the document, and every 4xx carries Magnum's error envelope (the
document only says ``errors: [object]``). The conductor then runs what the request queued.

Budget: ``COVE_FUZZ_EXAMPLES`` examples per operation (default 40). Generation is
derandomised (the same run every time, so expected failures stay expected) unless
``COVE_FUZZ_RANDOM=1``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cove.api.app import create_app
from cove.conductor.runner import Runner
from cove.drivers.registry import DriverRegistry
from cove.settings import Settings
from tests.support.drivers import InstantDriver

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = int(os.environ.get("COVE_FUZZ_EXAMPLES", "40"))
DERANDOMIZE = os.environ.get("COVE_FUZZ_RANDOM", "") != "1"
LATEST = {"OpenStack-API-Version": "container-infra latest"}


def magnum_error_envelope(ctx: Any, response: Any, case: Case) -> bool | None:
    """The document types errors loosely (``errors: [object]``); Magnum's clients read
    ``errors[0].title``/``.detail`` and the status, so hold every 4xx to that envelope."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict) and body.get("errors"), f"no errors list: {body!r}"
    entry = body["errors"][0]
    assert "title" in entry, f"error entry without title: {entry!r}"
    if "status" in entry:  # the 406 unsupported-version entry has none, as in Magnum
        assert entry["status"] == response.status_code, f"entry status {entry['status']}"
        assert "detail" in entry, f"error entry without detail: {entry!r}"
    return None


CHECKS: list[Any] = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    magnum_error_envelope,
]

# Expected failures, by "METHOD /path" and check name: each is run as its own strict-xfail
# item, and the operation's main item runs every other check. Empty when the server is clean.
KNOWN_FAILURES: dict[str, dict[str, str]] = {}


def _operations() -> list[tuple[str, str]]:
    """The document's operations, read at collection time from an app with no database."""
    app = create_app(Settings(db="sqlite://"), registry=DriverRegistry([]), migrate_db=False)
    document = app.openapi()
    app.state.engine.dispose()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    ]


OPERATIONS = _operations()


def _label(method: str, path: str) -> str:
    return f"{method} {path}"


def _params() -> list[Any]:
    params = []
    for method, path in OPERATIONS:
        label = _label(method, path)
        known = KNOWN_FAILURES.get(label, {})
        params.append(pytest.param(method, path, None, id=label))
        for check, reason in known.items():
            params.append(
                pytest.param(
                    method, path, check, id=f"{label} [{check}]",
                    marks=pytest.mark.xfail(strict=True, reason=reason),
                )
            )  # fmt: skip
    return params


# -- the seed ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    db_file: Path
    clusters: list[str]
    templates: list[str]
    nodegroups: list[str]
    images: list[str]
    keypairs: list[str]
    flavors: list[str]
    networks: list[str]
    projects: list[str]
    csr: str


def _csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
        ]
    )
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


def _ok(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _app(db_file: Path) -> tuple[FastAPI, Runner]:
    registry = DriverRegistry([InstantDriver()])
    app = create_app(Settings(db=f"sqlite:///{db_file}"), registry=registry)
    return app, Runner.standalone(app.state.session_factory, registry, "fuzz-conductor")


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    db_file = tmp_path_factory.mktemp("fuzz-seed") / "seed.db"
    app, runner = _app(db_file)
    with TestClient(app, headers=LATEST) as client:
        image_body = {"name": "instant-image", "os_distro": "instant", "public": True}
        image = _ok(client.post("/v1/images", json=image_body), 201)
        keypair = _ok(client.post("/v1/keypairs", json={"name": "kp"}), 201)
        template = _ok(
            client.post(
                "/v1/clustertemplates",
                json={
                    "name": "tpl", "coe": "kubernetes", "image_id": "instant-image",
                    "external_network_id": "public", "flavor_id": "m1.small",
                    "master_flavor_id": "m1.small", "keypair_id": "kp", "public": True,
                    "labels": {"min_node_count": "0", "max_node_count": "5"},
                },
            ),
            201,
        )  # fmt: skip
        cluster = _ok(
            client.post(
                "/v1/clusters",
                json={"name": "c1", "cluster_template_id": "tpl", "node_count": 1},
            ),
            202,
        )
        while runner.run_one():
            pass
        shown = _ok(client.get("/v1/clusters/c1"), 200)
        assert shown["status"] == "CREATE_COMPLETE", shown
        _ok(client.post("/v1/clusters/c1/nodegroups", json={"name": "ng1", "node_count": 1}), 202)
        while runner.run_one():
            pass
        groups = _ok(client.get("/v1/clusters/c1/nodegroups"), 200)["nodegroups"]
        _ok(client.post("/v1/quotas", json={"project_id": "p-fuzz", "hard_limit": 5}), 201)
        flavors = _ok(client.get("/v1/flavors"), 200)
        networks = _ok(client.get("/v1/networks"), 200)
    app.state.engine.dispose()  # the last close checkpoints the WAL into the file
    return Seed(
        db_file=db_file,
        clusters=[cluster["uuid"], "c1"],
        templates=[template["uuid"], "tpl"],
        nodegroups=[g["uuid"] for g in groups] + [g["name"] for g in groups],
        images=[image["uuid"], "instant-image"],
        keypairs=[keypair["uuid"], "kp"],
        flavors=[f["name"] for f in _items(flavors)],
        networks=[n["name"] for n in _items(networks)],
        projects=["admin", "p-fuzz"],
        csr=_csr(),
    )


def _items(collection: dict[str, Any]) -> list[dict[str, Any]]:
    lists = [v for v in collection.values() if isinstance(v, list)]
    assert lists, collection
    return lists[0]


# -- making cases realistic -------------------------------------------------------------------

VERSIONS = ["container-infra latest", "container-infra 1.10", "container-infra 1.1",
            "container-infra 1.13", "container-infra 2.0", "container-infra 1"]  # fmt: skip
LEGACY_VERSIONS = ["container-infra 1.1", "container-infra 1.2", "container-infra 1.10"]
IDENTITIES: list[dict[str, str]] = [
    {},  # noauth's local administrator
    {"X-Project-Id": "admin", "X-User-Id": "alice", "X-Roles": "member,reader"},
    {"X-Project-Id": "p-fuzz", "X-User-Id": "bob", "X-Roles": "member,reader"},
    {"X-Project-Id": "admin", "X-User-Id": "carol", "X-Roles": "reader"},
]


def _path_candidates(seed: Seed, path: str, name: str) -> list[str]:
    if name == "cluster_ident":
        return seed.clusters
    if name == "project_id":
        return seed.projects
    if name == "resource":
        return ["Cluster"]
    by_collection = {
        "/v1/clusters/{cluster_ident}/nodegroups/": seed.nodegroups,
        "/v1/clusters/": seed.clusters,
        "/v1/bays/": seed.clusters,
        "/v1/certificates/": seed.clusters,
        "/v1/clustertemplates/": seed.templates,
        "/v1/baymodels/": seed.templates,
        "/v1/images/": seed.images,
        "/v1/keypairs/": seed.keypairs,
        "/v1/flavors/": seed.flavors,
        "/v1/networks/": seed.networks,
    }
    for prefix, values in by_collection.items():
        if path.startswith(prefix):
            return values
    return []


def _body_candidates(seed: Seed) -> dict[str, list[Any]]:
    return {
        "cluster_template_id": seed.templates,
        "baymodel_id": seed.templates,
        "cluster_template": seed.templates,
        "cluster_uuid": seed.clusters,
        "bay_uuid": seed.clusters,
        "nodegroup": seed.nodegroups,
        "image_id": seed.images,
        "keypair": seed.keypairs,
        "keypair_id": seed.keypairs,
        "flavor_id": seed.flavors,
        "master_flavor_id": seed.flavors,
        "external_network_id": seed.networks,
        "fixed_network": seed.networks,
        "project_id": seed.projects,
        "resource": ["Cluster"],
        "coe": ["kubernetes", "swarm-mode"],
        "os_distro": ["instant"],
        "csr": [seed.csr],
    }


def _realistic_bodies(seed: Seed) -> dict[str, list[Any]]:
    """Well-formed bodies per operation id, so that writes get past validation sometimes."""
    node_count = [{"op": "replace", "path": "/node_count", "value": 2}]
    return {
        "create_cluster": [{"name": "c2", "cluster_template_id": "tpl", "node_count": 2}],
        "create_bay": [{"name": "b2", "baymodel_id": "tpl", "node_count": 1}],
        "update_cluster": [node_count],
        "update_bay": [node_count],
        "resize_cluster": [{"node_count": 3}, {"node_count": 0, "nodegroup": "ng1"}],
        "upgrade_cluster": [{"cluster_template": "tpl", "max_batch_size": 1}],
        "create_nodegroup": [{"name": "ng2", "node_count": 2, "min_node_count": 1}],
        "update_nodegroup": [[{"op": "replace", "path": "/max_node_count", "value": 4}]],
        "update_clustertemplates": [[{"op": "replace", "path": "/name", "value": "tpl2"}]],
        "update_baymodels": [[{"op": "replace", "path": "/tags", "value": "a,b"}]],
        "create_clustertemplates": [
            {
                "name": "tpl3",
                "coe": "kubernetes",
                "image_id": "instant-image",
                "external_network_id": "public",
                "flavor_id": "m1.small",
            }
        ],
        "create_baymodels": [
            {
                "name": "bm2",
                "coe": "kubernetes",
                "image_id": "instant-image",
                "keypair_id": "kp",
                "external_network_id": "public",
                "flavor_id": "m1.small",
            }
        ],
        "sign": [{"cluster_uuid": "c1", "csr": seed.csr}],
        "create_quota": [{"project_id": "p-new", "resource": "Cluster", "hard_limit": 3}],
        "update_quota": [{"project_id": "p-fuzz", "resource": "Cluster", "hard_limit": 7}],
    }


def install_hooks(schema: Any, seed: Seed) -> None:
    body_refs = _body_candidates(seed)
    bodies = _realistic_bodies(seed)

    @st.composite
    def realistic(draw: Callable[[Any], Any], case: Case) -> Case:
        path = case.operation.path
        for name in list(case.path_parameters or {}):
            options = _path_candidates(seed, path, name)
            if options and draw(st.booleans()):
                case.path_parameters[name] = draw(st.sampled_from(options))
        body = case.body
        known = bodies.get(case.operation.definition.raw.get("operationId", ""), [])
        if known and draw(st.integers(0, 3)) == 0:
            case.body = draw(st.sampled_from(known))
        elif isinstance(body, dict):
            for key in [k for k in body if k in body_refs]:
                if draw(st.booleans()):
                    body[key] = draw(st.sampled_from(body_refs[key]))
        wait = (case.query or {}).get("wait")
        if isinstance(wait, int | float) and wait > 0.05:
            # The events long poll would hold each such example for up to a minute.
            case.query["wait"] = 0.05
        headers = dict(case.headers or {})
        version = draw(st.sampled_from([*VERSIONS, None]))
        if version is not None and draw(st.integers(0, 2)) > 0:
            # Mostly a version where the route exists: bays and baymodels end at 1.10.
            legacy = path.startswith(("/v1/bays", "/v1/baymodels"))
            version = draw(st.sampled_from(LEGACY_VERSIONS)) if legacy else VERSIONS[0]
        if version is not None:
            headers["OpenStack-API-Version"] = version
        headers.update(draw(st.sampled_from(IDENTITIES)))
        case.headers = headers
        return case

    def flatmap_case(context: schemathesis.HookContext, case: Case) -> Any:
        return realistic(case)

    schema.hooks.register_hook_with_name(flatmap_case, "flatmap_case")


# -- the test ---------------------------------------------------------------------------------


@pytest.fixture
def fuzz_app(seed: Seed, tmp_path: Path) -> Iterator[tuple[FastAPI, Runner, Callable[[], None]]]:
    db_file = tmp_path / "fuzz.db"
    shutil.copyfile(seed.db_file, db_file)
    app, runner = _app(db_file)

    def restore() -> None:
        app.state.engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(seed.db_file, db_file)

    yield app, runner, restore
    app.state.engine.dispose()


@pytest.mark.parametrize(("method", "path", "only_check"), _params())
def test_operation_conforms(
    method: str,
    path: str,
    only_check: str | None,
    seed: Seed,
    fuzz_app: tuple[FastAPI, Runner, Callable[[], None]],
) -> None:
    app, runner, restore = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    install_hooks(schema, seed)
    operation = schema[path][method]
    known = KNOWN_FAILURES.get(_label(method, path), {})
    if only_check is None:
        checks = [c for c in CHECKS if c.__name__ not in known]
    else:
        checks = [c for c in CHECKS if c.__name__ == only_check]
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None if DERANDOMIZE else settings.default.database,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case) -> None:
        restore()
        note(
            f"request: {case.method} {case.formatted_path} query={case.query!r} "
            f"headers={case.headers!r} body={case.body!r}"
        )
        response = case.call_and_validate(checks=checks)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        # The conductor takes whatever the request queued: it must not crash either.
        while runner.run_one():
            pass

    statuses: dict[int, int] = {}
    run()
    # Shown with ``-rP``/``-s``: which answers the fuzzing reached (is it past validation?).
    print(f"{method} {path}: {dict(sorted(statuses.items()))}")
