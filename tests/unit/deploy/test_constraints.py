# ruff: noqa: E501  (tables read best one case a line)
from __future__ import annotations

import pytest

from cove.domain.deploy.constraints import Placement, translate

PATH = "services.db.constraints"


@pytest.mark.parametrize(
    ("constraints", "placement"),
    [
        ([["hostname", "UNIQUE"]], Placement(max_replicas_per_node=1)),
        ([["hostname", "CLUSTER", "node-1"]], Placement(constraints=("node.hostname==node-1",))),
        ([["rack", "CLUSTER", "r1"]], Placement(constraints=("node.labels.rack==r1",))),
        ([["rack", "LIKE", "r1"]], Placement(constraints=("node.labels.rack==r1",))),
        ([["rack", "UNLIKE", "r1"]], Placement(constraints=("node.labels.rack!=r1",))),
        (
            [["hostname", "LIKE", r"node-1\.lan"]],
            Placement(constraints=("node.hostname==node-1.lan",)),
        ),
        ([["zone", "GROUP_BY"]], Placement(preferences=("spread=node.labels.zone",))),
        ([["zone", "GROUP_BY", "3"]], Placement(preferences=("spread=node.labels.zone",))),
        (
            [["hostname", "GROUP_BY"]],
            Placement(notes=(f"{PATH}[0]: swarm spreads replicas over nodes by default",)),
        ),
        ([["hostname", "MAX_PER", "3"]], Placement(max_replicas_per_node=3)),
        ([["role", "CLUSTER", "manager"]], Placement(constraints=("node.role==manager",))),
        ([["role", "UNLIKE", "manager"]], Placement(constraints=("node.role!=manager",))),
        (
            [["hostname", "MAX_PER", "3"], ["hostname", "UNIQUE"]],
            Placement(max_replicas_per_node=1),
        ),
        (
            [["rack", "CLUSTER", "r1"], ["rack", "CLUSTER", "r1"]],
            Placement(constraints=("node.labels.rack==r1",)),
        ),
        ([], Placement()),
    ],
)
def test_what_swarm_can_express_is_mapped(
    constraints: list[list[str]], placement: Placement
) -> None:
    assert translate(constraints, PATH) == (placement, [])


def test_per_node_limits_are_moot_for_global_services() -> None:
    placement, problems = translate([["hostname", "UNIQUE"]], PATH, "global")
    assert problems == []
    assert placement.max_replicas_per_node is None
    assert placement.notes == (f"{PATH}[0]: a global service runs one instance per node already",)


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        (
            ["hostname", "LIKE", "node-[0-9]+"],
            "[2]: a regular expression: swarm constraints match exact values only (escape a literal dot as \\.)",
        ),
        (
            ["hostname", "LIKE", "node-1.lan"],
            "[2]: a regular expression: swarm constraints match exact values only (escape a literal dot as \\.)",
        ),
        (
            ["rack", "UNLIKE", "r1|r2"],
            "[2]: a regular expression: swarm constraints match exact values only (escape a literal dot as \\.)",
        ),
        (
            ["rack", "LIKE", r"\d"],
            "[2]: a regular expression: swarm constraints match exact values only (escape a literal dot as \\.)",
        ),
        (
            ["rack", "LIKE", "r1\\"],
            "[2]: a regular expression: swarm constraints match exact values only (escape a literal dot as \\.)",
        ),
        (
            ["rack", "UNIQUE"],
            "[0]: swarm limits replicas per node only: UNIQUE works on hostname, not on a node label",
        ),
        (
            ["rack", "MAX_PER", "2"],
            "[0]: swarm limits replicas per node only: MAX_PER works on hostname, not on a node label",
        ),
        (["hostname", "MAX_PER", "0"], "[2]: MAX_PER takes a whole number from 1 to 100"),
        (["hostname", "MAX_PER", "9" * 200], "[2]: MAX_PER takes a whole number from 1 to 100"),
        (["hostname", "MAX_PER", "٣"], "[2]: MAX_PER takes a whole number from 1 to 100"),
        (["hostname", "UNIQUE", "x"], "[2]: UNIQUE takes no value"),
        (["role", "CLUSTER", "leader"], "[2]: a node's role is one of: manager, worker"),
        (["role", "LIKE", "Manager"], "[2]: a node's role is one of: manager, worker"),
        (["role", "GROUP_BY"], "[0]: swarm spreads over node labels only, not the role"),
        (["hostname", "CLUSTER"], ": CLUSTER needs a value"),
        (
            ["hostname", "CLUSTER", "a b"],
            "[2]: not a node attribute value: letters, digits and . _ - : / @ +",
        ),
        (
            ["hostname", "CLUSTER", "a==b"],
            "[2]: not a node attribute value: letters, digits and . _ - : / @ +",
        ),
        (
            ["hostname", "CLUSTER", "ünï"],
            "[2]: not a node attribute value: letters, digits and . _ - : / @ +",
        ),
        (
            ["rack label", "CLUSTER", "x"],
            "[0]: not a node attribute: 'hostname', 'role' or a node label name",
        ),
        (
            ["hostname", "IS", "x"],
            "[1]: unknown operator 'IS'; known: UNIQUE, CLUSTER, LIKE, UNLIKE, GROUP_BY, MAX_PER",
        ),
        (
            ["hostname", "unique"],
            "[1]: unknown operator 'unique'; known: UNIQUE, CLUSTER, LIKE, UNLIKE, GROUP_BY, MAX_PER",
        ),
    ],
)
def test_what_swarm_cannot_express_is_refused_by_name(constraint: list[str], expected: str) -> None:
    placement, problems = translate([["zone", "GROUP_BY"], constraint], PATH)
    assert [str(p) for p in problems] == [f"{PATH}[1]{expected}"]
    assert placement.preferences == ("spread=node.labels.zone",)
