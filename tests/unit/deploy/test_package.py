# ruff: noqa: E501  (messages read best one a line)
from __future__ import annotations

import base64
import copy
from importlib import resources
from typing import Any

import pytest
import yaml

from cove.domain.deploy import graph, package
from cove.domain.deploy.problems import DefinitionError

from .support import problems_of

PASSWORD = {"password": "hunter2-long"}
KEYSTONE_OPTIONS = {"admin_password": "admin-secret-12/@"}


def sample(name: str) -> str:
    return resources.files("cove.domain.deploy").joinpath(f"samples/{name}.yaml").read_text()


def small() -> dict[str, Any]:
    return {
        "name": "small",
        "version": "1.0.0",
        "description": "one service",
        "images": ["busybox"],
        "options_schema": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "replicas": {"type": "integer", "minimum": 1, "maximum": 5, "default": 2},
                "greeting": {"type": "string", "default": "hi"},
                "password": {"type": "string", "writeOnly": True},
                "nested": {
                    "type": "object",
                    "properties": {"port": {"type": "integer", "default": 80}},
                },
            },
        },
        "template": (
            "name: small\n"
            "variables: {password: {secret: true}}\n"
            "services:\n"
            "  web:\n"
            "    image: busybox\n"
            "    replicas: {{ options.replicas }}\n"
            "    env: {GREETING: {{ options.greeting }}}\n"
            "    ports: [{container: {{ options.nested.port }}}]\n"
        ),
    }


def test_the_samples_install_and_order_as_designed() -> None:
    three = package.render(
        package.load_package(sample("three-tier")), {"db_password": "correct-horse-battery"}
    )
    assert graph.waves(three.definition) == [["db"], ["db-schema"], ["api"], ["web"]]
    assert three.values == {"db_name": "app", "db_password": "correct-horse-battery"}
    assert three.definition.services["api"].replicas == 2
    keystone = package.render(package.load_package(sample("keystone")), KEYSTONE_OPTIONS)
    assert graph.waves(keystone.definition) == [
        ["mariadb", "memcached"],
        ["keystone-db-create"],
        ["keystone-db-sync"],
        ["keystone-bootstrap"],
        ["keystone"],
    ]
    assert keystone.definition.tasks["keystone-bootstrap"].command is not None
    assert '--bootstrap-region-id "RegionOne"' in str(
        keystone.definition.tasks["keystone-bootstrap"].command
    )
    assert "secret-12" not in yaml.safe_dump(keystone.definition.model_dump())
    generated = {"db_password", "db_root_password", "fernet_primary", "fernet_staged"}
    assert generated < set(keystone.values)
    assert len({keystone.values[n] for n in generated}) == len(generated)  # each its own


def test_generated_secrets_are_made_per_installation_and_a_given_one_kept() -> None:
    pkg = package.load_package(sample("keystone"))
    one = package.render(pkg, KEYSTONE_OPTIONS).values
    two = package.render(pkg, KEYSTONE_OPTIONS).values
    assert one["db_password"] != two["db_password"]
    assert len(one["db_password"]) == 32
    key = base64.urlsafe_b64decode(one["fernet_primary"])  # what keystone reads
    assert len(key) == 32
    made = package.render(pkg, KEYSTONE_OPTIONS, generate=lambda kind: f"made-{kind}").values
    assert made["db_root_password"] == "made-password"
    assert made["credential_key"] == "made-fernet-key"
    assert made["admin_password"] == "admin-secret-12/@"  # given: never replaced


def test_sample_options_are_validated_by_name() -> None:
    pkg = package.load_package(sample("keystone"))
    options = {"replicas": 9, "colour": "red"}
    found = problems_of(package.render, pkg, options)
    assert found == [
        "options: unknown option(s): colour",
        "options.admin_password: required",
        "options.replicas: must be at most 5",
    ]
    found = problems_of(package.render, pkg, {"admin_password": "short"})
    assert found == ["options.admin_password: must have at least 12 characters"]
    assert "short" not in " ".join(found)


def test_defaults_apply_nested_and_do_not_change_the_input() -> None:
    schema = small()["options_schema"]
    given: dict[str, Any] = {"replicas": 3}
    assert package.apply_defaults(schema, given) == {
        "replicas": 3,
        "greeting": "hi",
        "nested": {"port": 80},
    }
    assert given == {"replicas": 3}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"replicas": "3"}, "options.replicas: must be of type integer"),
        ({"replicas": 0}, "options.replicas: must be at least 1"),
        ({"replicas": 10**100}, "options.replicas: must be at most 5"),
        ({"nested": {"port": "x"}}, "options.nested.port: must be of type integer"),
        ({"greeting": "a\x00b"}, "options.greeting: control character U+0000 is not allowed"),
        ({"greeting": {"k\x00": 1}}, "options.greeting: a key that is not plain text"),
        ([1], "options: options are an object"),
    ],
)
def test_bad_options_are_named(options: Any, expected: str) -> None:
    pkg = package.load_package(small())
    assert expected in problems_of(package.render, pkg, options)


def test_an_option_cannot_inject_yaml() -> None:
    pkg = package.load_package(small())
    sneaky = "x}, evil: {image: nope}, y: {"
    installed = package.render(pkg, {"greeting": sneaky, "password": "hunter2-long"})
    assert installed.definition.services["web"].env["GREETING"] == sneaky
    assert list(installed.definition.services) == ["web"]
    assert problems_of(
        package.render, pkg, {"greeting": "x\n  evil: 1", "password": "hunter2-long"}
    ) == ["services.web.env.GREETING: control character U+000A is not allowed"]


def test_a_secret_option_cannot_be_written_into_the_definition() -> None:
    data = small()
    data["template"] += "    command: {{ options.password }}\n"
    found = problems_of(package.render, package.load_package(data), {"password": "hunter2-long"})
    assert found == [
        "template: line 9: option 'password' is secret (writeOnly): it reaches the deployment as the value of the variable of that name, never through the template"
    ]


def test_secret_options_and_variables_must_agree() -> None:
    data = small()
    data["template"] = data["template"].replace(
        "variables: {password: {secret: true}}",
        "variables: {password: {}, greeting: {secret: true}}",
    )
    found = problems_of(package.render, package.load_package(data), {"password": "hunter2-long"})
    assert "variables.password: fed by secret option 'password': mark it secret: true" in found
    assert (
        "options_schema.properties.greeting: feeds secret variable 'greeting': mark it writeOnly: true"
        in found
    )


def test_images_must_be_listed_by_the_package_and_known() -> None:
    data = small()
    data["template"] = data["template"].replace("image: busybox", "image: alpine")
    assert (
        "services.web.image: image 'alpine' is not among the package's images: busybox"
        in problems_of(package.render, package.load_package(data), PASSWORD)
    )
    assert problems_of(
        package.render, package.load_package(small()), PASSWORD, lambda image: False
    ) == ["services.web.image: image 'busybox' is not known"]


def test_a_template_that_renders_a_bad_definition_names_its_elements() -> None:
    data = small()
    data["template"] += "    requires: [{service: db}]\n"
    assert problems_of(package.render, package.load_package(data), PASSWORD) == [
        "services.web.requires[0]: service 'db' is not defined; defined: web"
    ]
    data = small()
    data["template"] += "  : [\n"
    assert problems_of(package.render, package.load_package(data), {})[0].startswith(
        "template: not valid YAML: line 9"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"version": "1.0"}, "version: String should match pattern"),
        ({"version": "1.0.0-" + "x" * 200}, "version: String should have at most 150 characters"),
        ({"images": []}, "images: List should have at least 1 item after validation, not 0"),
        ({"images": ["busybox", "busybox"]}, "images: lists an image twice"),
        (
            {"options_schema": {"type": "object", "properties": {"a": {"type": "strng"}}}},
            "options_schema.properties.a.type: ",
        ),
        (
            {"options_schema": {"type": "array"}},
            "options_schema.type: options are an object: type: object",
        ),
        (
            {"options_schema": {"type": "object", "minProperties": -1}},
            "options_schema.minProperties: -1 is less than the minimum of 0",
        ),
        (
            {"options_schema": {"type": "object", "$ref": "https://example.org/s.json"}},
            "options_schema.$ref: a $ref points inside the schema only (#/...)",
        ),
        (
            {
                "options_schema": {
                    "type": "object",
                    "$schema": "http://json-schema.org/draft-04/schema#",
                }
            },
            "options_schema.$schema: cove reads https://json-schema.org/draft/2020-12/schema only",
        ),
        (
            {"template": "{{ options.x }}{{ other }}"},
            "template: reads other; a package template reads options",
        ),
        ({"template": "{% for %}"}, "template: line 1: "),
        (
            {"template": "{% macro m() %}{% endmacro %}"},
            "template: line 1: macros are not allowed in a cove template",
        ),
        ({"extra": 1}, "extra: unknown field"),
    ],
)
def test_bad_packages_are_refused_by_element(change: dict[str, Any], expected: str) -> None:
    data = {**copy.deepcopy(small()), **change}
    found = problems_of(package.load_package, data)
    assert any(p.startswith(expected) for p in found), found


def test_a_package_error_says_what_it_is_about() -> None:
    with pytest.raises(
        DefinitionError, match=r"Invalid installation of small 1\.0\.0: options\.replicas"
    ):
        package.render(package.load_package(small()), {"replicas": 0})


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.0.0", "1.1.0"),
        ("1.9.0", "1.10.0"),
        ("1.1.0-rc.1", "1.1.0"),
        ("0.9.9", "1.0.0-alpha"),
    ],
)
def test_versions_order_numerically_and_a_pre_release_before_its_release(
    older: str, newer: str
) -> None:
    assert package.version_key(older) < package.version_key(newer)
    assert package.version_key("1.0.0+build.5") == package.version_key("1.0.0")


def test_a_package_in_two_versions_installs_at_either() -> None:
    old = package.render(package.load_package(sample("etcd-1.0.0")), {"client_port": 2400})
    new = package.render(package.load_package(sample("etcd-1.1.0")), {"client_port": 2400})
    assert old.definition.services["etcd"].health_check is None
    assert new.definition.services["etcd"].health_check is not None
    assert "http://0.0.0.0:2400" in str(new.definition.services["etcd"].command)
