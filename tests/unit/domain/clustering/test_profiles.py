# ruff: noqa: E501  (tables of messages read best one case a line)
from __future__ import annotations

from typing import Any

import pytest

from cove.domain.clustering.errors import InvalidSpec
from cove.domain.clustering.profiles import HostCluster, Placement, parse_profile_spec, place

BASE = {"type": "container.dockerinc.docker", "version": 1.0}


def spec(**props: Any) -> dict[str, Any]:
    return {**BASE, "properties": {"image": "nginx", **props}}


def test_seed_spec_is_accepted_with_defaults() -> None:
    kind, props = parse_profile_spec(spec(command="sleep 1", host_cluster="c1", port=2375))
    assert kind.full_name == "container.dockerinc.docker-1.0"
    assert props["image"] == "nginx" and props["port"] == 2375


def test_cove_properties() -> None:
    _, props = parse_profile_spec(
        spec(
            env={"A": "1"},
            ports=[{"container_port": 80, "published_port": 8080}],
            volumes=[{"source": "data", "target": "/data"}],
            resources={"cpu": 0.5, "memory": 256},
            restart_policy="always",
            health_check={"test": ["CMD", "true"], "interval": 5},
            labels={"tier": "web"},
        )
    )
    assert props["ports"] == [{"container_port": 80, "published_port": 8080, "protocol": "tcp"}]
    assert props["volumes"][0]["read_only"] is False
    assert parse_profile_spec(spec(health_check={"test": "curl -f x"}))[1]["health_check"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (spec(colour="red"), "Unrecognizable spec item 'properties.colour'."),
        ({**BASE, "properties": {}}, "Required spec item 'properties.image' not provided."),
        (spec(port="abc"), "'properties.port' is not a valid integer"),
        (spec(port=True), "'properties.port' is not a valid integer"),
        (spec(env={"A": 1.5j}), "'properties.env.A' is not a valid string"),
        (spec(env=["A"]), "'properties.env' is not a valid map"),
        (spec(ports=[{"container_port": 80, "protocol": "sctp"}]), "'properties.ports[0].protocol'"),
        (spec(ports=[{"published_port": 80}]), "'properties.ports[0].container_port' not provided"),
        (spec(resources={"cpu": 0}), "'properties.resources.cpu' (0) must be greater than 0"),
        (spec(resources={"memory": 2**40}), "'properties.resources.memory'"),
        (spec(restart_policy="sometimes"), "'properties.restart_policy' is not one of"),
        (spec(name="a\x00b"), "properties.name"),
        ({**BASE, "version": "2.0", "properties": {}}, "Known profile types: container.dockerinc.docker-1.0"),
        ({"type": "os.nova.server", "version": "1.0"}, "not found"),
        ({**BASE, "extra": 1}, "Unrecognizable spec item 'extra'."),
        ("not a map", "must be a map"),
    ],
)  # fmt: skip
def test_bad_specs_name_the_property(document: Any, message: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        parse_profile_spec(document)
    assert message in err.value.message


HOSTS = [
    HostCluster("u1", "c1", "swarm-mode", ["n-1", "n-2"]),
    HostCluster("u2", "c2", "swarm-mode", ["n-3"]),
    HostCluster("u3", "dup", "swarm-mode", []),
    HostCluster("u4", "dup", "swarm-mode", []),
    HostCluster("u5", "k8s", "kubernetes", ["n-9"]),
]


@pytest.mark.parametrize(
    ("cluster", "node", "placement"),
    [
        ("c1", None, Placement("u1", None)),
        ("u1", "n-2", Placement("u1", "n-2")),
        (None, "n-3", Placement("u2", "n-3")),
    ],
)
def test_placement(cluster: str | None, node: str | None, placement: Placement) -> None:
    assert place(cluster, node, HOSTS) == placement


@pytest.mark.parametrize(
    ("cluster", "node", "message"),
    [
        (None, None, "Either"),
        ("c1", "n-3", "is not a node of host_cluster 'c1'"),
        ("nope", None, "could not be found"),
        (None, "nope", "could not be found"),
        ("dup", None, "Multiple clusters"),
        ("k8s", None, "swarm-mode clusters only"),
    ],
)
def test_placement_refused(cluster: str | None, node: str | None, message: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        place(cluster, node, HOSTS)
    assert message in err.value.message
