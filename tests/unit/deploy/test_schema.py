from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from cove.domain.deploy import definition, package
from cove.domain.deploy.schema import SCHEMA_ID, definition_json_schema

from .support import base


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = definition_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_schema_has_an_id_and_a_title() -> None:
    schema = definition_json_schema()
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"] == "cove deployment definition"
    assert json.loads(json.dumps(schema)) == schema


def test_a_sample_definition_validates(validator: jsonschema.Draft202012Validator) -> None:
    assert list(validator.iter_errors(base())) == []
    text = resources.files("cove.domain.deploy").joinpath("samples/keystone.yaml").read_text()
    installed = package.render(
        package.load_package(text),
        {"admin_password": "a" * 12},
    )
    dumped = installed.definition.model_dump(mode="json", exclude_defaults=True)
    assert list(validator.iter_errors(dumped)) == []


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Bad Name"},
        {"bogus": 1},
        {"services": {"Bad": {"image": "busybox"}}},
        {"services": {"a": {"image": "busybox", "replicas": 101}}},
        {"services": {"a": {"image": "busybox", "command": "a\u0000"}}},
        {"services": {"a": {"image": "busybox", "env": {"1A": "x"}}}},
        {"services": {"a": {"image": "busybox", "ports": [{"container": 1, "protocol": "sctp"}]}}},
        {"services": {"a": {"image": "Not An Image"}}},
        {"variables": {"db-host": {}}},
    ],
)
def test_a_bad_definition_does_not(
    validator: jsonschema.Draft202012Validator, change: dict
) -> None:
    data = {**base(), **change}
    assert list(validator.iter_errors(data)) != []
    with pytest.raises(definition.DefinitionError):
        definition.load(data)
