"""Schemathesis against cove's own OpenAPI document, in process through the ASGI app.

One pytest item per operation of ``app.openapi()``. Each item runs schemathesis's examples,
coverage and fuzzing phases (positive and negative data) for its operation on a SQLite copy
of a seeded database: an image with os_distro ``instant``, a keypair, a public template, a
cluster settled to CREATE_COMPLETE by the InstantDriver, a second node group and a quota row.
A ``flatmap_case`` hook, scoped to the schema, makes cases realistic some of the time: path
parameters become the seeded objects' names and uuids, body references (``cluster_template_id``,
``keypair``, ``csr`` …) become real ones (never in a part generated invalid), and every request
carries a microversion and an identity drawn from a small set.

The database is restored from the seed before every example, so examples are independent and
Hypothesis can shrink a failure. Checks: every check schemathesis has (``--checks all``: no
5xx, documented statuses, bodies, content types and headers, schema-valid data accepted and
invalid data refused, 405 with ``Allow`` for undocumented methods …), plus Magnum's error
envelope on every 4xx (the document only says ``errors: [object]``). Schema-valid data may
still be refused where only Magnum's semantics explain it: ``REFUSALS`` lists those, per
operation, with the reason. The conductor then runs what the request queued.

Budget: ``COVE_FUZZ_EXAMPLES`` fuzzed examples per operation (default 50), on top of the
coverage phase's cases. Generation is derandomised (the same run every time) unless
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
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import CHECKS, CheckContext, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)

from cove.api.app import create_app
from cove.conductor.runner import Runner
from cove.drivers.registry import DriverRegistry
from cove.settings import Settings
from tests.support.drivers import InstantDriver

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = int(os.environ.get("COVE_FUZZ_EXAMPLES", "50"))
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


# Schema-valid requests schemathesis expects accepted: 2xx, 3xx, and the refusals it allows
# for data it cannot know about (401, 403, 404, 409, 429; 5xx is not_a_server_error's).
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# The microversion header is the test's, not the document's: it draws versions a route does
# not serve (malformed, outside 1.1-latest, below the route's minimum), which is 406.
ACCEPTED_EVERYWHERE = ["406"]
# Schema-valid data the server may refuse, per operation, and why: only Magnum's semantics
# explain these refusals, the document cannot.
PATCHED = "a JSON patch applies to the object as it stands, then the result is validated"
CATALOG = "references (image, flavors, keypair, networks) are looked up: unknown is 400 naming it"
IN_USE = "an object a template uses is 400 to delete, naming what uses it"
REFUSALS: dict[str, dict[int, str]] = {
    "PATCH /v1/clusters/{ident}": {400: f"{PATCHED}; rollback exists from 1.3"},
    "PATCH /v1/bays/{ident}": {400: f"{PATCHED}; rollback exists from 1.3"},
    "PATCH /v1/clustertemplates/{ident}": {400: PATCHED},
    "PATCH /v1/baymodels/{ident}": {400: PATCHED},
    "PATCH /v1/clusters/{cluster_ident}/nodegroups/{ident}": {400: PATCHED},
    "POST /v1/clusters": {400: f"an unknown template is 400 below 1.10, as in Magnum; {CATALOG}"},
    "POST /v1/bays": {400: f"an unknown baymodel is 400 naming baymodel_id; {CATALOG}"},
    "POST /v1/clustertemplates": {400: f"{CATALOG}; the COE's drivers judge the options"},
    "POST /v1/baymodels": {400: f"{CATALOG}; the COE's drivers judge the options"},
    "POST /v1/clusters/{cluster_ident}/nodegroups": {400: CATALOG},
    "POST /v1/clusters/{ident}/actions/resize": {
        400: "the count must fit the node group's min and max (zero from 1.10), as in Magnum"
    },
    "POST /v1/certificates": {
        400: "an unknown cluster_uuid is 400 (a body field), as in Magnum; the CSR must parse"
    },
    "DELETE /v1/clustertemplates/{ident}": {400: "a template a cluster uses is 400, as in Magnum"},
    "DELETE /v1/baymodels/{ident}": {400: "a template a cluster uses is 400, as in Magnum"},
    "DELETE /v1/clusters/{cluster_ident}/nodegroups/{ident}": {
        400: "a default node group is 400 to delete, as in Magnum"
    },
    "POST /v1/clusters/{cluster_ident}/deployments": {
        400: "a definition is checked whole (graph, images, ports, templates, the variables' "
        "values) and a package's options against its own schema: 400 naming each element"
    },
    "PATCH /v1/clusters/{cluster_ident}/deployments/{ident}": {
        400: "an update is checked whole as a create is, against the deployment as it stands "
        "(a package's options and versions, at least one field, none null): 400 naming each"
    },
    "DELETE /v1/images/{ident}": {400: IN_USE},
    "DELETE /v1/networks/{ident}": {400: IN_USE},
}


def _config(method: str, path: str) -> SchemathesisConfig:
    """Every check schemathesis has, with this operation's accepted refusals."""
    refusals = [str(status) for status in REFUSALS.get(_label(method, path), {})]
    return SchemathesisConfig.from_dict(
        {
            "checks": {
                "enabled": True,
                "positive_data_acceptance": {
                    "expected-statuses": ACCEPTED + ACCEPTED_EVERYWHERE + refusals
                },
            }
        }
    )


def test_every_check_schemathesis_has_is_on() -> None:
    """``--checks all``: a check a new schemathesis adds is on too, not silently left out."""
    load_all_checks()
    config = _config("GET", "/").projects.get_default().checks_config_for()
    context = CheckContext(
        override=None, auth=None, headers=None, config=config, transport_kwargs=None,
        response_checks=None,
    )  # fmt: skip
    enabled = {check.__name__ for check in context.internals.checks}
    assert enabled == set(CHECKS.get_all_names())
    assert "positive_data_acceptance" in enabled and "negative_data_rejection" in enabled


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


def _valid(case: Case, location: str) -> bool:
    """Whether that part of the case was generated valid (a realistic value keeps it so)."""
    return case.meta is None or not case.meta.is_negative_at(ParameterLocation[location])


def install_hooks(schema: Any, seed: Seed) -> None:
    body_refs = _body_candidates(seed)
    bodies = _realistic_bodies(seed)

    @st.composite
    def realistic(draw: Callable[[Any], Any], case: Case) -> Case:
        path = case.operation.path
        for name in list(case.path_parameters or {} if _valid(case, "PATH") else {}):
            options = _path_candidates(seed, path, name)
            if options and draw(st.booleans()):
                case.path_parameters[name] = draw(st.sampled_from(options))
        body = case.body
        known = bodies.get(case.operation.definition.raw.get("operationId", ""), [])
        if not _valid(case, "BODY"):
            pass  # a realistic body would hide the invalid one
        elif known and draw(st.integers(0, 3)) == 0:
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


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[_label(*op) for op in OPERATIONS])
def test_operation_conforms(
    method: str,
    path: str,
    seed: Seed,
    fuzz_app: tuple[FastAPI, Runner, Callable[[], None]],
) -> None:
    app, runner, restore = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(method, path))
    install_hooks(schema, seed)
    operation = schema[path][method]
    statuses: dict[int, int] = {}

    def run(case: Case) -> None:
        restore()
        note(
            f"request: {case.method} {case.formatted_path} query={case.query!r} "
            f"headers={case.headers!r} body={case.body!r}"
        )
        response = case.call_and_validate(additional_checks=[magnum_error_envelope])
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        # The conductor takes whatever the request queued: it must not crash either.
        while runner.run_one():
            pass

    test = create_test(
        operation=operation,
        test_func=run,
        config=HypothesisTestConfig(
            project=schema.config,
            modes=list(HypothesisTestMode),
            settings=settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=DERANDOMIZE,
                database=None if DERANDOMIZE else settings.default.database,
                suppress_health_check=list(HealthCheck),
            ),
        ),
    )
    test()
    # Shown with ``-rP``/``-s``: which answers the fuzzing reached (is it past validation?).
    print(f"{method} {path}: {sum(statuses.values())} requests {dict(sorted(statuses.items()))}")
