"""What a definition becomes on the orchestrator: one service per element on the
deployment's network under its own name, tasks as jobs, the store beside them, config files
delivered Kolla's way, the gating environment, and a spec hash that moves only with what
the element runs."""

from __future__ import annotations

import json

from cove.deploy import specs
from cove.deploy.specs import CONFIG_DIR, Identity, plan
from cove.domain.deploy.definition import load
from cove.drivers.apphost import DEPLOYMENT_LABEL, ELEMENT_LABEL, SPEC_LABEL

WHO = Identity("0123abcd-0000-4000-8000-000000000000", "p1")
DEFINITION = """
name: shop
variables:
  db_password: {secret: true}
  greeting: {default: hello}
services:
  db:
    image: cove/app-mariadb:1
    command: [mariadbd, --user=mysql]
    health_check: {test: [mysqladmin, ping], interval_s: 2}
    volumes: [{name: data, target: /var/lib/mysql}]
    config_files:
      - {template: db-pass, dest: /etc/db.pass, owner: mysql, perm: "0400", secret: true}
  web:
    image: cove/app-web:1
    command: serve --port 80
    replicas: 2
    ports: [{container: 80, published: 8080}]
    constraints: [[hostname, UNIQUE]]
    config_files:
      - {template: web-conf, dest: /etc/web.conf}
    requires: [{task: schema}]
tasks:
  schema:
    image: cove/app-mariadb:1
    command: [make-schema]
    retries: 2
    timeout_s: 60
    requires: [{service: db}]
templates:
  db-pass: "{{ db_password }}"
  web-conf: "greeting={{ greeting }}"
"""
VALUES = {"db_password": "s3cret", "greeting": "hello"}


def made(values: dict[str, str] = VALUES, text: str = DEFINITION) -> specs.Plan:
    return plan(load(text), values, ["db_password"], WHO, "cove/app-etcd:1")


def test_each_element_is_a_service_on_the_deployments_network_under_its_name() -> None:
    p = made()
    assert set(p.services) == {"db", "web"} and set(p.tasks) == {"schema"}
    web = p.services["web"]
    assert web.name == "cove-0123abcd-web" and web.aliases == ("web",)
    assert web.networks == (WHO.network,) and web.replicas == 2
    assert web.labels[DEPLOYMENT_LABEL] == WHO.uuid and web.labels[ELEMENT_LABEL] == "web"
    assert web.max_per_node == 1 and web.ports[0].published == 8080
    assert p.services["db"].mounts[0].source == "cove-0123abcd-data"
    assert p.tasks["schema"].mode == "job" and p.tasks["schema"].restart_attempts == 2
    assert p.images == ("cove/app-etcd:1", "cove/app-mariadb:1", "cove/app-web:1")


def test_the_store_runs_beside_them_on_a_manager() -> None:
    store = made().store
    assert store.aliases == ("cove-store",) and store.networks == (WHO.network,)
    assert store.constraints == ("node.role==manager",) and store.command[0] == "etcd"
    assert store.labels[ELEMENT_LABEL] == "cove-store"


def test_config_files_and_config_json_follow_kollas_contract() -> None:
    db = made().services["db"]
    by_target = {f.target: f for f in db.files}
    password = by_target[f"{CONFIG_DIR}/db-pass"]
    assert password.secret and password.data == b"s3cret" and password.mode == 0o400
    config = json.loads(by_target[f"{CONFIG_DIR}/config.json"].data)
    assert config == {
        "command": "mariadbd --user=mysql",
        "config_files": [
            {"source": f"{CONFIG_DIR}/db-pass", "dest": "/etc/db.pass", "owner": "mysql",
             "perm": "0400"},
        ],
    }  # fmt: skip
    assert "s3cret" not in repr(password)  # file data never shows in a repr or a log
    shell = json.loads(
        {f.target: f for f in made().services["web"].files}[f"{CONFIG_DIR}/config.json"].data
    )
    assert shell["command"] == "/bin/sh -c 'serve --port 80'"


def test_the_gating_environment_says_what_each_waits_for() -> None:
    p = made()
    web, schema, db = p.services["web"].env, p.tasks["schema"].env, p.services["db"].env
    assert json.loads(web["COVE_REQUIRES"]) == [{"task": "schema"}]
    assert json.loads(schema["COVE_REQUIRES"]) == [
        {"service": "db", "state": "healthy", "scope": "global"}
    ]
    assert schema["COVE_KIND"] == "task" and schema["COVE_TIMEOUT"] == "60"
    assert (
        web["COVE_STORE"] == "http://cove-store:2379" and web["COVE_NODE"] == "{{.Node.Hostname}}"
    )
    assert json.loads(db["COVE_HEALTH"]) == ["CMD", "mysqladmin", "ping"]
    assert web["COVE_PREFIX"] == f"/cove/{WHO.uuid}"


def test_the_spec_hash_moves_only_with_what_the_element_runs() -> None:
    before, again = made(), made()
    assert before.services["web"].labels[SPEC_LABEL] == again.services["web"].labels[SPEC_LABEL]
    changed = made({**VALUES, "greeting": "bonjour"})
    assert changed.services["web"].labels[SPEC_LABEL] != before.services["web"].labels[SPEC_LABEL]
    assert changed.services["db"].labels[SPEC_LABEL] == before.services["db"].labels[SPEC_LABEL]
    old = {f.target: f.name for f in before.services["web"].files}
    new = {f.target: f.name for f in changed.services["web"].files}
    assert old[f"{CONFIG_DIR}/web-conf"] != new[f"{CONFIG_DIR}/web-conf"]  # a new object


def test_long_names_stay_within_swarms_limit() -> None:
    element = "a" + "b" * 62
    name = WHO.name(element)
    assert len(name) == 63 and name != WHO.name("a" + "b" * 61 + "c")
