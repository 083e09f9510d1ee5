# ruff: noqa: E501  (tables of messages read best one case a line)
from __future__ import annotations

from typing import Any

import pytest

from cove.domain.clustering.errors import InvalidSpec
from cove.domain.clustering.policies import POLICY_TYPES, parse_policy_spec


def test_the_types_and_versions() -> None:
    assert sorted(POLICY_TYPES) == [
        "senlin.policy.affinity-1.0",
        "senlin.policy.batch-1.0",
        "senlin.policy.deletion-1.0",
        "senlin.policy.deletion-1.1",
        "senlin.policy.health-1.0",
        "senlin.policy.health-1.1",
        "senlin.policy.health-1.2",
        "senlin.policy.loadbalance-1.0",
        "senlin.policy.loadbalance-1.1",
        "senlin.policy.scaling-1.0",
    ]


def test_scaling_defaults() -> None:
    kind, props = parse_policy_spec(
        {
            "type": "senlin.policy.scaling",
            "version": "1.0",
            "properties": {"event": "CLUSTER_SCALE_OUT"},
        }
    )
    assert kind.name == "senlin.policy.scaling"
    assert props["adjustment"] == {}  # the default map, as Senlin stores it


def test_health_1_1() -> None:
    _, props = parse_policy_spec(
        {
            "type": "senlin.policy.health",
            "version": 1.1,
            "properties": {
                "detection": {"detection_modes": [{"type": "NODE_STATUS_POLLING"}]},
                "recovery": {"actions": [{"name": "RECREATE"}]},
            },
        }
    )
    assert props["detection"]["interval"] == 60


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "senlin.policy.scaling", "version": "9.9"}, "Known policy types: senlin.policy.affinity-1.0"),
        ({"type": "senlin.policy.region_placement", "version": "1.0"}, "is not found"),
        ({"type": "senlin.policy.scaling", "version": "1.0", "properties": {"event": "GROW"}}, "'properties.event'"),
        ({"type": "senlin.policy.scaling", "version": "1.0", "properties": {}}, "'properties.event' not provided"),
        ({"type": "senlin.policy.deletion", "version": "1.0", "properties": {"hooks": {}}}, "'properties.hooks'"),
        ({"type": "senlin.policy.health", "version": "1.1", "properties": {"detection": {"detection_modes": []}, "recovery": {"actions": [{"name": "REBUILD"}]}}}, "'properties.recovery.actions[0].name'"),
    ],
)  # fmt: skip
def test_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        parse_policy_spec(spec)
    assert message in err.value.message
