"""The order of a rolling update, with tables of graphs: a changed element waits for every
requirement to converge on its new spec, independent ones change together, unchanged ones
count once ready, and a failure's dependants are named."""

from __future__ import annotations

import pytest

from cove.domain.deploy import rollout
from cove.domain.deploy.definition import load

# store <- db <- schema <- api <- web ; cache independent of db
REQUIRES = {
    "store": set(),
    "db": {"store"},
    "cache": {"store"},
    "schema": {"store", "db"},
    "api": {"store", "schema", "cache"},
    "web": {"store", "api"},
}
EVERYTHING = ["api", "cache", "db", "schema", "web"]


@pytest.mark.parametrize(
    ("changing", "converged", "started", "now"),
    [
        # Everything changes: first those that need only the store.
        (EVERYTHING, ["store"], [], ["cache", "db"]),
        # db converged, cache still rolling: schema may go, api waits for cache too.
        (EVERYTHING, ["store", "db"], ["cache", "db"], ["schema"]),
        (EVERYTHING, ["store", "db", "schema"], ["cache", "db", "schema"], []),
        (EVERYTHING, ["store", "db", "schema", "cache"], ["cache", "db", "schema"], ["api"]),
        # Only web changes, but its unchanged requirement is not ready yet: it waits.
        (["web"], ["store", "db", "cache", "schema"], [], []),
        (["web"], ["store", "db", "cache", "schema", "api"], [], ["web"]),
        # Only db changes: nothing else is ever started, whatever converges.
        (["db"], list(REQUIRES), ["db"], []),
        # The store itself changes: nothing else before it converged.
        (["store", "db"], [], [], ["store"]),
    ],
)
def test_an_element_changes_only_once_its_requirements_converged(
    changing: list[str], converged: list[str], started: list[str], now: list[str]
) -> None:
    assert rollout.startable(REQUIRES, changing, converged, started) == now


def test_what_an_element_waits_for_and_who_depends_on_it() -> None:
    assert rollout.waiting_on(REQUIRES, "api", ["store", "db"]) == ["cache", "schema"]
    assert rollout.dependants(REQUIRES, "db") == ["api", "schema", "web"]
    assert rollout.dependants(REQUIRES, "cache") == ["api", "web"]
    assert rollout.dependants(REQUIRES, "web") == []


def test_requirements_come_from_the_definition_with_the_store_under_everything() -> None:
    definition = load(
        """
name: d
services:
  db: {image: cove/app-mariadb}
  api: {image: cove/app-keystone, requires: [{service: db}, {task: seed}]}
tasks:
  seed: {image: cove/app-mariadb, requires: [{service: db}]}
"""
    )
    assert rollout.requirements(definition, implicit=["cove-store"]) == {
        "cove-store": set(),
        "db": {"cove-store"},
        "api": {"cove-store", "db", "seed"},
        "seed": {"cove-store", "db"},
    }
