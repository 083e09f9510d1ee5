# ruff: noqa: E501  (messages read best one a line)
from __future__ import annotations

from typing import Any

import pytest

from cove.domain.deploy import definition, graph
from cove.domain.deploy.problems import DefinitionError

from .support import base


def _problems(data: dict[str, Any]) -> list[str]:
    return [str(p) for p in graph.check(definition.load(data))]


def _chain(edges: dict[str, list[str]]) -> dict[str, Any]:
    services = {
        name: {
            "image": "busybox",
            "health_check": {"test": "true"},
            "requires": [{"service": t} for t in targets],
        }
        for name, targets in edges.items()
    }
    return {"name": "g", "services": services}


def test_the_base_has_no_problems_and_orders_in_waves() -> None:
    loaded = definition.load(base())
    assert graph.check(loaded) == []
    assert graph.waves(loaded) == [["db"], ["schema"], ["api"], ["web"]]


def test_unknown_service_lists_what_is_defined() -> None:
    data = base()
    data["services"]["api"]["requires"] = [{"service": "database"}]
    assert _problems(data) == [
        "services.api.requires[0]: service 'database' is not defined; defined: api, db, web"
    ]


def test_unknown_task_and_the_wrong_kind_are_told_apart() -> None:
    data = base()
    data["services"]["web"]["requires"] = [
        {"task": "migrate"},
        {"service": "schema"},
        {"task": "db"},
    ]
    assert _problems(data) == [
        "services.web.requires[0]: task 'migrate' is not defined; defined: schema",
        "services.web.requires[1]: service 'schema' is not defined (a task of that name is: write task:); defined: api, db, web",
        "services.web.requires[2]: task 'db' is not defined (a service of that name is: write service:); defined: schema",
    ]


def test_requiring_itself_is_refused() -> None:
    data = base()
    data["services"]["db"]["requires"] = [{"service": "db"}]
    data["tasks"]["schema"]["requires"] = [{"task": "schema"}]
    assert _problems(data) == [
        "services.db.requires[0]: service 'db' cannot require itself",
        "tasks.schema.requires[0]: task 'schema' cannot require itself",
    ]


def test_a_node_scoped_requirement_on_a_task_is_refused() -> None:
    data = base()
    data["services"]["api"]["requires"] = [{"task": "schema", "scope": "node"}]
    assert _problems(data) == [
        "services.api.requires[0].scope: a task runs once for the whole deployment, not on every node: use scope: global"
    ]


def test_node_scope_needs_a_global_service() -> None:
    data = base()
    data["services"]["web"]["requires"] = [{"service": "api", "scope": "node"}]
    assert _problems(data) == [
        "services.web.requires[0].scope: service 'api' is replicated, so a node may have no instance of it: scope: node needs a mode: global service"
    ]
    data["services"]["api"]["mode"] = "global"
    del data["services"]["api"]["replicas"]
    assert _problems(data) == []


def test_healthy_needs_a_health_check_and_replicas() -> None:
    data = base()
    data["services"]["web"]["requires"] = [{"service": "db"}]
    del data["services"]["db"]["health_check"]
    assert _problems(data) == [
        "services.web.requires[0]: service 'db' has no health_check, so it never reports healthy: give it one, or require state: running",
        "tasks.schema.requires[0]: service 'db' has no health_check, so it never reports healthy: give it one, or require state: running",
    ]
    data["services"]["web"]["requires"] = [{"service": "db", "state": "running"}]
    data["tasks"]["schema"]["requires"] = [{"service": "db", "state": "running"}]
    assert _problems(data) == []
    data["services"]["db"]["replicas"] = 0
    assert (
        _problems(data)[0]
        == "services.web.requires[0]: service 'db' has replicas: 0, so it never runs"
    )


def test_a_repeated_requirement_is_named() -> None:
    data = base()
    data["services"]["web"]["requires"] = [
        {"service": "api"},
        {"service": "api", "state": "running"},
    ]
    assert _problems(data) == ["services.web.requires[1]: repeats requires[0]"]


def test_services_and_tasks_share_one_namespace() -> None:
    data = base()
    data["tasks"]["db"] = {"image": "busybox"}
    assert "tasks.db: 'db' is also a service; services and tasks share one namespace" in _problems(
        data
    )


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": ["b"], "b": ["a"]}, ["services.a.requires[0]: dependency cycle: a -> b -> a"]),
        (
            {"c": ["a"], "a": ["b"], "b": ["c"]},
            ["services.a.requires[0]: dependency cycle: a -> b -> c -> a"],
        ),
        (
            {"a": ["b"], "b": ["a"], "x": ["y"], "y": ["z"], "z": ["x"], "free": []},
            [
                "services.a.requires[0]: dependency cycle: a -> b -> a",
                "services.x.requires[0]: dependency cycle: x -> y -> z -> x",
            ],
        ),
        # Two cycles through a: the shortest is named.
        (
            {"a": ["d", "b"], "b": ["a"], "d": ["e"], "e": ["a"]},
            ["services.a.requires[1]: dependency cycle: a -> b -> a"],
        ),
        ({"a": ["b"], "b": ["c"], "c": []}, []),
    ],
)
def test_cycles_are_named_in_order(edges: dict[str, list[str]], expected: list[str]) -> None:
    assert sorted(_problems(_chain(edges))) == expected


def test_a_cycle_through_a_task() -> None:
    data = base()
    data["services"]["db"]["requires"] = [{"service": "web", "state": "running"}]
    assert _problems(data) == [
        "services.api.requires[0]: dependency cycle: api -> schema -> db -> web -> api"
    ]


def test_a_long_chain_and_a_wide_fan_do_not_recurse() -> None:
    names = [f"s{i}" for i in range(100)]
    chain = {n: ([names[i + 1]] if i + 1 < len(names) else []) for i, n in enumerate(names)}
    loaded = definition.load(_chain(chain))
    assert graph.check(loaded) == []
    assert len(graph.waves(loaded)) == 100
    chain[names[-1]] = [names[0]]
    (problem,) = _problems(_chain(chain))
    assert problem.startswith("services.s0.requires[0]: dependency cycle: s0 -> s1 -> ")
    assert problem.endswith("s99 -> s0")


def test_waves_refuse_a_graph_with_problems() -> None:
    with pytest.raises(DefinitionError, match="dependency cycle"):
        graph.waves(definition.load(_chain({"a": ["b"], "b": ["a"]})))
