# ruff: noqa: E501  (messages read best one a line)
from __future__ import annotations

from typing import Any

import pytest

from cove.domain.deploy import checks, definition

from .support import base

VALUES = {"db_password": "s3cret-value"}


def _problems(
    data: dict[str, Any], values: dict[str, Any] | None = None, known: Any = None
) -> list[str]:
    loaded = definition.load(data)
    found = checks.validate(
        loaded, known or (lambda image: True), VALUES if values is None else values
    )
    return [str(p) for p in found]


def test_the_base_passes() -> None:
    assert _problems(base()) == []


def test_values_are_checked_and_never_quoted() -> None:
    found = _problems(base(), {"db_password": "x\x00y", "nope": 1, "bad\x00": 2})
    assert found == [
        "values.db_password: control character U+0000 is not allowed",
        "values.nope: no such variable; defined: db_name, db_password",
        "values.[?]: no such variable; defined: db_name, db_password",
    ]
    assert _problems(base(), {"db_password": ["a"]}) == [
        "values.db_password: a value is a string, a whole number or a boolean"
    ]
    assert _problems(base(), {"db_password": 10**30}) == [
        "values.db_password: an integer beyond ±2^53"
    ]
    assert _problems(base(), {"db_password": "x" * 70000}) == [
        "values.db_password: longer than 65536 characters"
    ]


def test_a_variable_without_a_value_is_named_and_its_templates_not_rendered() -> None:
    assert _problems(base(), {}) == ["variables.db_password: no value given and no default"]


def test_a_secret_variable_takes_no_default() -> None:
    data = base()
    data["variables"]["db_password"]["default"] = "plain"
    assert _problems(data) == [
        "variables.db_password.default: a secret variable takes no default (it would be plain text in every copy of the definition): give its value when deploying"
    ]


def test_a_generated_variable_is_secret_and_made_only_when_not_given() -> None:
    data = base()
    data["variables"]["db_password"]["generate"] = "password"
    loaded = definition.load(data)
    made = checks.with_generated(loaded, {})
    assert len(made["db_password"]) == 32 and _problems(data, made) == []
    assert checks.with_generated(loaded, VALUES) == VALUES
    data["variables"]["db_name"]["generate"] = "password"
    assert _problems(data) == [
        "variables.db_name.generate: only a secret variable may be generated (a generated value is never shown): add secret: true"
    ]
    data["variables"]["db_name"]["generate"] = "pin"
    with pytest.raises(Exception, match=r"variables\.db_name\.generate"):
        definition.load(data)


def test_an_empty_definition_is_refused() -> None:
    assert _problems({"name": "x"}, {}) == ["defines no service and no task"]


def test_unknown_images_are_named_once_asked() -> None:
    asked: list[str] = []

    def known(image: str) -> bool:
        asked.append(image)
        return image != "cove/app-api:1"

    assert _problems(base(), known=known) == [
        "services.api.image: image 'cove/app-api:1' is not known",
        "tasks.schema.image: image 'cove/app-api:1' is not known",
    ]
    assert sorted(asked) == ["busybox", "cove/app-api:1", "cove/app-web:1"]


def test_published_ports_clash_across_services_and_modes() -> None:
    data = base()
    data["services"]["web"]["ports"].append({"container": 81, "published": 8000})
    data["services"]["db"]["mode"] = "global"
    data["services"]["db"]["ports"] = [{"container": 1, "published": 8080}, {"container": 1}]
    data["services"]["api"]["ports"].append({"container": 9, "published": 8000, "protocol": "udp"})
    data["services"]["api"]["ports"].append({"container": 9, "published": 2377})
    assert _problems(data) == [
        "services.db.ports[1].container: repeats ports[0].container",
        "services.api.ports[2].published: port 2377/tcp is swarm's own",
        "services.web.ports[0].published: port 8080/tcp is already published by services.db.ports[0]",
        "services.web.ports[1].published: port 8000/tcp is already published by services.api.ports[0]",
    ]


def test_config_files_name_their_template_and_keep_secrets_secret() -> None:
    data = base()
    data["services"]["api"]["config_files"] = [
        {"template": "nope", "dest": "/etc/a"},
        {"template": "pw", "dest": "/etc/a"},
    ]
    assert _problems(data) == [
        "services.api.config_files[0].template: template 'nope' is not defined; defined: conf, pw",
        "services.api.config_files[1].secret: template 'pw' reads secret variable(s) db_password: deliver it with secret: true",
        "services.api.config_files[1].dest: repeats config_files[0].dest",
    ]


def test_templates_that_fail_name_themselves_and_their_users() -> None:
    data = base()
    data["templates"]["conf"] = "a\n{% for %}"
    data["templates"]["other"] = "{{ host }}"
    data["services"]["api"]["config_files"] = [{"template": "conf", "dest": "/etc/conf"}]
    data["tasks"]["schema"]["config_files"] = [{"template": "conf", "dest": "/etc/conf"}]
    conf, other = _problems(data)
    assert (
        other
        == "templates.other: reads 'host', which is not a variable; variables: db_name, db_password"
    )
    assert conf.startswith("templates.conf: line 2: ")
    assert conf.endswith("(used by services.api.config_files[0], tasks.schema.config_files[0])")


def test_a_render_failure_never_shows_a_secret() -> None:
    data = base()
    data["templates"]["pw"] = "{{ '%d' % db_password }}"
    (found,) = _problems(data)
    assert found.startswith("templates.pw: line 1: TypeError")
    assert "s3cret" not in found


def test_constraints_are_checked_per_service() -> None:
    data = base()
    data["services"]["web"]["constraints"] = [["hostname", "LIKE", "web-.*"]]
    assert _problems(data) == [
        "services.web.constraints[0][2]: a regular expression: swarm constraints match exact values only (escape a literal dot as \\.)"
    ]


def test_all_problems_come_together() -> None:
    data = base()
    data["services"]["web"]["requires"] = [{"service": "nope"}]
    data["services"]["web"]["constraints"] = [["rack", "UNIQUE"]]
    data["templates"]["conf"] = "{{ nope }}"
    assert len(_problems(data, {}, lambda image: False)) == 8


@pytest.mark.parametrize("value", ["grüße ☃", "line\nbreak", True, 0, -(2**53)])
def test_plain_values_pass(value: object) -> None:
    assert _problems(base(), {"db_password": value}) == []
