"""The deployment commands' pure helpers: variable values and secrets from files, options
from a file and ``--set`` typed by the package's schema, the schema as rows for people,
endpoints from a definition and a cluster."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from cove.cli import deployargs, endpoints

SCHEMA = {
    "type": "object",
    "required": ["password"],
    "properties": {
        "password": {"type": "string", "writeOnly": True, "minLength": 12},
        "replicas": {"type": "integer", "minimum": 1, "default": 1, "description": "Copies."},
        "debug": {"type": "boolean", "default": False},
        "db": {"type": "object", "properties": {"size": {"type": "number"}}},
        "tier": {"type": "string", "enum": ["a", "b"]},
    },
}


def test_values_are_text_and_secrets_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    values = deployargs.variable_values(["n=3", "x=a=b"], [f"pw=@{tmp_path / 'pw'}", "t=v"])
    assert values == {"n": "3", "x": "a=b", "pw": "s3cret", "t": "v"}
    with pytest.raises(click.BadParameter, match="not NAME=VALUE"):
        deployargs.variable_values(["novalue"], [])
    with pytest.raises(click.BadParameter, match="cannot read"):
        deployargs.variable_values([], [f"pw=@{tmp_path / 'missing'}"])


def test_options_are_typed_by_the_schema_and_nest(tmp_path: Path) -> None:
    (tmp_path / "o.yaml").write_text("password: from-the-file-1\ndb: {size: 1}\n")
    options = deployargs.options_file(str(tmp_path / "o.yaml"))
    typed = deployargs.set_options(
        options, ["replicas=3", "debug=true", "db.size=2.5", "password=123456789012", "z=1"], SCHEMA
    )
    assert typed == {
        "password": "123456789012",  # a string option stays text even when it looks a number
        "db": {"size": 2.5},
        "replicas": 3,
        "debug": True,
        "z": "1",  # unknown to the schema: sent as written, the API names it
    }
    assert options == {"password": "from-the-file-1", "db": {"size": 1}}  # not changed
    assert deployargs.set_options({}, ["replicas=many"], SCHEMA) == {"replicas": "many"}
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(click.BadParameter, match="no object"):
        deployargs.options_file(str(tmp_path / "list.json"))


def test_schema_rows_show_defaults_and_what_limits_each_option() -> None:
    rows = {r["option"]: r for r in deployargs.schema_rows(SCHEMA)}
    assert list(rows) == ["password", "replicas", "debug", "db", "db.size", "tier"]
    assert rows["password"]["required"] and rows["password"]["description"] == (
        "[secret, min length 12]"
    )
    assert (rows["replicas"]["default"], rows["replicas"]["description"]) == (
        "1",
        "Copies. [min 1]",
    )
    assert rows["debug"]["default"] == "false"
    assert rows["tier"]["description"] == "[one of a, b]"


def test_endpoints_are_published_ports_on_the_nodes_running_each_service() -> None:
    deployment = {
        "definition": {
            "services": {
                "web": {"ports": [{"container": 80, "published": 8080}, {"container": 9}]},
                "kv": {"mode": "global", "ports": [{"container": 53, "published": 53,
                                                   "protocol": "udp"}]},
            }
        },
        "progress": {"web": {"state": "ready", "nodes": ["w-1"]}, "kv": {"state": "starting"}},
    }  # fmt: skip
    cluster = {"master_addresses": ["10.0.0.2"], "node_addresses": ["10.1.0.2", "10.0.0.2"]}
    by_node = {"m-0": "10.0.0.2", "w-1": "10.1.0.2"}
    rows = endpoints.endpoints(deployment, cluster, by_node)
    assert rows == [
        {"service": "web", "port": 8080, "protocol": "tcp", "where": "running it",
         "addresses": ["10.1.0.2:8080"]},
        {"service": "kv", "port": 53, "protocol": "udp", "where": "any node",
         "addresses": ["10.0.0.2:53", "10.1.0.2:53"]},
    ]  # fmt: skip
    assert endpoints.lines(rows) == [
        "  web 8080/tcp 10.1.0.2:8080",
        "  kv 53/udp (on whichever of these runs it) 10.0.0.2:53 10.1.0.2:53",
    ]
    # Nodes that cannot be listed: every address, said so.
    assert [r["where"] for r in endpoints.endpoints(deployment, cluster, None)] == ["any node"] * 2
