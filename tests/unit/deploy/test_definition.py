# ruff: noqa: E501  (tables of inputs and messages read best one case a line)
from __future__ import annotations

from typing import Any

import pytest

from cove.domain.deploy import definition
from cove.domain.deploy.problems import DefinitionError

from .support import base, problems_of


def test_a_valid_definition_loads_from_a_mapping_and_from_yaml() -> None:
    loaded = definition.load(base())
    assert list(loaded.services) == ["db", "api", "web"]
    assert loaded.services["api"].requires[0].target_state == "completed"
    assert loaded.services["web"].requires[0].target_state == "healthy"
    assert loaded.services["web"].replicas == 1
    text = "name: app\nservices:\n  web:\n    image: busybox\n    command: sleep 1\n"
    assert definition.load(text).services["web"].command == "sleep 1"
    assert definition.load(text.encode()).name == "app"


def _broken(path: list[str | int], value: Any) -> dict[str, Any]:
    data = base()
    node: Any = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ["name"],
            "App",
            "name: not a name: 1 to 63 lowercase letters, digits and '-', first a letter",
        ),
        (["name"], "a" * 64, "name: String should have at most 63 characters"),
        (["services", "db", "replica"], 3, "services.db.replica: unknown field"),
        (
            ["services", "db", "replicas"],
            101,
            "services.db.replicas: Input should be less than or equal to 100",
        ),
        (
            ["services", "db", "replicas"],
            -1,
            "services.db.replicas: Input should be greater than or equal to 0",
        ),
        (
            ["services", "db", "replicas"],
            10**100,
            "services.db.replicas: Input should be less than or equal to 100",
        ),
        (
            ["services", "db", "replicas"],
            "3",
            "services.db.replicas: Input should be a valid integer",
        ),
        (
            ["services", "db", "replicas"],
            True,
            "services.db.replicas: Input should be a valid integer",
        ),
        (
            ["services", "db", "mode"],
            "daemon",
            "services.db.mode: Input should be 'replicated' or 'global'",
        ),
        (
            ["services", "db", "image"],
            "Bad Image!",
            "services.db.image: not an image reference such as 'registry:5000/cove/app-api:1.2'",
        ),
        (
            ["services", "db", "command"],
            5,
            "services.db.command: Input should be a valid string, or a valid list",
        ),
        (
            ["services", "db", "command"],
            [],
            "services.db.command: List should have at least 1 item after validation, not 0",
        ),
        (
            ["services", "db", "command"],
            ["ok", "a\x00b"],
            "services.db.command[1]: control character U+0000 is not allowed",
        ),
        (
            ["services", "db", "env"],
            {"A": "x\x1b[31m"},
            "services.db.env.A: control character U+001B is not allowed",
        ),
        (
            ["services", "db", "env"],
            {"1A": "x"},
            "services.db.env.1A: not an environment variable name: letters, digits and '_', not first a digit",
        ),
        (["services", "db", "env"], {"A": 1}, "services.db.env.A: Input should be a valid string"),
        (
            ["services", "db", "ports"],
            [{"container": 0}],
            "services.db.ports[0].container: Input should be greater than or equal to 1",
        ),
        (
            ["services", "db", "ports"],
            [{"container": 1, "published": 65536}],
            "services.db.ports[0].published: Input should be less than or equal to 65535",
        ),
        (
            ["services", "db", "ports"],
            [{"container": 1, "protocol": "sctp"}],
            "services.db.ports[0].protocol: Input should be 'tcp' or 'udp'",
        ),
        (
            ["services", "db", "volumes"],
            [{"target": "data"}],
            "services.db.volumes[0].target: not an absolute path below /",
        ),
        (
            ["services", "db", "volumes"],
            [{"target": "/a/../etc"}],
            "services.db.volumes[0].target: a path may not contain '..'",
        ),
        (
            ["services", "db", "volumes"],
            [{"name": "v", "host_path": "/srv", "target": "/d"}],
            "services.db.volumes[0]: give name or host_path, not both",
        ),
        (
            ["services", "db", "health_check"],
            {"test": "true", "interval_s": 0},
            "services.db.health_check.interval_s: Input should be greater than or equal to 1",
        ),
        (
            ["services", "db", "resources"],
            {"cpus": float("inf")},
            "services.db.resources.cpus: Input should be a finite number",
        ),
        (
            ["services", "db", "resources"],
            {"cpus": 0},
            "services.db.resources.cpus: Input should be greater than 0",
        ),
        (
            ["services", "db", "resources"],
            {"memory_mb": 2**64},
            "services.db.resources.memory_mb: Input should be less than or equal to 1048576",
        ),
        (
            ["services", "db", "constraints"],
            [["hostname"]],
            "services.db.constraints[0]: List should have at least 2 items after validation, not 1",
        ),
        (
            ["services", "db", "config_files"],
            [{"template": "pw", "dest": "/x", "perm": 416}],
            "services.db.config_files[0].perm: quote the mode ('0640'): YAML reads 0640 as the number 416",
        ),
        (
            ["services", "db", "config_files"],
            [{"template": "pw", "dest": "/x", "perm": "0999"}],
            "services.db.config_files[0].perm: not an octal mode such as '0640' (quoted: YAML reads 0640 as a number)",
        ),
        (
            ["services", "db", "config_files"],
            [{"template": "pw", "dest": "/x", "owner": "root;rm"}],
            "services.db.config_files[0].owner: not an owner: user or user:group, by name or number",
        ),
        (
            ["services", "db", "requires"],
            [{"service": "a", "task": "b"}],
            "services.db.requires[0]: give either service or task",
        ),
        (
            ["services", "db", "requires"],
            [{}],
            "services.db.requires[0]: give either service or task",
        ),
        (
            ["services", "db", "requires"],
            [{"task": "schema", "state": "running"}],
            "services.db.requires[0]: state applies to a service; a task is required to have completed",
        ),
        (
            ["services", "db", "requires"],
            [{"service": "api", "scope": "rack"}],
            "services.db.requires[0].scope: Input should be 'global' or 'node'",
        ),
        (["services", "db", "mode"], "global", "services.db.image: required"),
        (
            ["tasks", "schema", "retries"],
            11,
            "tasks.schema.retries: Input should be less than or equal to 10",
        ),
        (
            ["tasks", "schema", "timeout_s"],
            0,
            "tasks.schema.timeout_s: Input should be greater than or equal to 1",
        ),
        (
            ["variables", "none"],
            {},
            "variables.none: 'none' is a Jinja2 word and cannot name a variable",
        ),
        (
            ["variables", "db-host"],
            {},
            "variables.db-host: not a variable name: 1 to 63 lowercase letters, digits and '_', first a letter",
        ),
        (
            ["variables", "x"],
            {"default": [1]},
            "variables.x.default: Input should be a valid boolean, or a valid integer, or a valid string",
        ),
        (
            ["variables", "x"],
            {"default": 2**60},
            "variables.x.default: Input should be a valid boolean, or less than or equal to 9007199254740992, or a valid string",
        ),
        (["templates", "conf"], "a\x00", "templates.conf: control character U+0000 is not allowed"),
        (
            ["templates", "conf"],
            "x" * 65537,
            "templates.conf: String should have at most 65536 characters",
        ),
        (
            ["description"],
            "two\nlines\tfine\x07",
            "description: control character U+0007 is not allowed",
        ),
    ],
)
def test_each_bad_element_is_named(path: list[str | int], value: Any, expected: str) -> None:
    data = _broken(path, value)
    if expected == "services.db.image: required":
        del data["services"]["db"]["image"]
    assert expected in problems_of(definition.load, data)


def test_global_mode_takes_no_replicas() -> None:
    data = base()
    data["services"]["api"]["mode"] = "global"
    assert problems_of(definition.load, data) == [
        "services.api: replicas applies to mode: replicated; global runs one per node"
    ]


def test_every_problem_is_reported_at_once() -> None:
    data = base()
    data["services"]["db"]["replicas"] = 500
    data["services"]["web"]["image"] = ""
    data["tasks"]["schema"]["bogus"] = 1
    assert len(problems_of(definition.load, data)) == 3


@pytest.mark.parametrize(
    "key",
    ["Bad\x00Name", "ünïcødé", "x" * 5000, "a\u202eb", "\ud800"],
)
def test_hostile_names_are_quoted_and_cut_in_paths(key: str) -> None:
    data = base()
    data["services"][key] = data["services"].pop("web")
    found = problems_of(definition.load, data)
    path = found[0].split(": ")[0]
    assert path.startswith('services["')
    assert len(path) < 80
    assert all(ord(c) >= 0x20 for c in "".join(found))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [", "not valid YAML: line 1"),
        ("- a\n- b\n", "expected a mapping at the top level"),
        ("a: &x [1]\nb: *x\n", "aliases (*name) are not allowed"),
        ("name: a\nname: b\n", "duplicate key 'name'"),
        ("name: !!python/object:os.system x\n", "not valid YAML"),
        ("name: a\x00\n", "not valid YAML"),
        ("[" * 100_000, "not valid YAML"),
        ("x" * (1024 * 1024 + 1), "longer than 1048576 characters"),
    ],
)
def test_unreadable_text_is_refused_with_the_reason(text: str, expected: str) -> None:
    assert any(expected in p for p in problems_of(definition.load, text))


def test_bytes_that_are_not_utf8_are_refused() -> None:
    assert problems_of(definition.load, b"name: \xff") == ["not UTF-8 text (byte 6)"]


def test_deep_nesting_is_refused_without_recursion() -> None:
    value: Any = "x"
    for _ in range(10_000):
        value = [value]
    data = base()
    data["services"]["db"]["command"] = value
    (problem,) = problems_of(definition.load, data)
    assert problem.endswith("nested deeper than 32 levels")
    assert problem.startswith("services.db.command[0][0]")


def test_the_error_is_a_400_with_every_problem_in_its_message() -> None:
    data = base()
    data["services"]["db"]["replicas"] = 500
    with pytest.raises(DefinitionError) as info:
        definition.load(data)
    assert info.value.status == 400
    assert "services.db.replicas" in str(info.value)


def test_a_definition_is_immutable() -> None:
    loaded = definition.load(base())
    with pytest.raises(Exception, match="frozen"):
        loaded.name = "other"  # type: ignore[misc]
