"""Scaling and deletion decisions with Senlin's semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cove.clustering import policies
from cove.clustering.policies import Bound, Member, PolicyRefusal, Sizes

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def scaling(event: str, **adjustment: object) -> Bound:
    return Bound(
        "p",
        "scale",
        "senlin.policy.scaling-1.0",
        {"event": event, "adjustment": adjustment},
        True,
        {},
    )


@pytest.mark.parametrize(
    ("adjustment", "current", "out", "count"),
    [
        ({"type": "CHANGE_IN_CAPACITY", "number": 2}, 3, True, 2),
        ({"type": "EXACT_CAPACITY", "number": 5}, 3, True, 2),
        ({"type": "EXACT_CAPACITY", "number": 1}, 3, False, 2),
        ({"type": "CHANGE_IN_PERCENTAGE", "number": 50}, 4, True, 2),
        ({"type": "CHANGE_IN_PERCENTAGE", "number": 10}, 4, True, 1),  # ceil below one
        ({"type": "CHANGE_IN_PERCENTAGE", "number": 10, "min_step": 2}, 4, True, 2),
        ({"type": "CHANGE_IN_PERCENTAGE", "number": 150}, 3, True, 4),  # floor above one
    ],
)
def test_adjustment_count(
    adjustment: dict[str, object], current: int, out: bool, count: int
) -> None:
    policy = scaling("CLUSTER_SCALE_OUT", **adjustment)
    assert policies.adjustment_count(policy, Sizes(current, current, 0, -1), out) == count


def test_bounds_refuse_unless_best_effort() -> None:
    sizes = Sizes(current=3, desired=3, min_size=1, max_size=4)
    with pytest.raises(
        PolicyRefusal, match=r"target capacity \(5\) is greater than .*max_size \(4\)"
    ):
        policies.bounded_count(2, sizes, True, best_effort=False)
    assert policies.bounded_count(2, sizes, True, best_effort=True) == 1
    with pytest.raises(PolicyRefusal, match=r"less than the cluster's min_size \(1\)"):
        policies.bounded_count(3, sizes, False, best_effort=False)
    assert policies.bounded_count(3, sizes, False, best_effort=True) == 2


def test_cooldown_refuses_until_it_ends() -> None:
    policy = Bound(
        "p",
        "scale",
        "senlin.policy.scaling-1.0",
        {"event": "CLUSTER_SCALE_OUT", "adjustment": {"cooldown": 60}},
        True,
        {"last_op": (NOW - timedelta(seconds=30)).isoformat()},
    )
    with pytest.raises(PolicyRefusal, match="cooldown is still in progress"):
        policies.check_cooldown(policy, NOW)
    policies.check_cooldown(policy, NOW + timedelta(seconds=31))


def test_scaling_policy_is_chosen_by_event_and_only_when_enabled() -> None:
    out = scaling("CLUSTER_SCALE_OUT")
    off = Bound("q", "in", "senlin.policy.scaling-1.0", {"event": "CLUSTER_SCALE_IN"}, False, {})
    assert policies.scaling_policy([out, off], "CLUSTER_SCALE_OUT") is out
    assert policies.scaling_policy([out, off], "CLUSTER_SCALE_IN") is None


def members() -> list[Member]:
    return [
        Member("old", "ACTIVE", NOW - timedelta(hours=3), NOW - timedelta(days=1)),
        Member("mid", "ACTIVE", NOW - timedelta(hours=2), NOW - timedelta(days=3)),
        Member("new", "ACTIVE", NOW - timedelta(hours=1), NOW - timedelta(days=2)),
        Member("bad", "ERROR", NOW, NOW),
    ]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("OLDEST_FIRST", ["bad", "old", "mid"]),
        ("YOUNGEST_FIRST", ["bad", "new", "mid"]),
        ("OLDEST_PROFILE_FIRST", ["bad", "mid", "new"]),
    ],
)
def test_victims_broken_first_then_criteria(criteria: str, expected: list[str]) -> None:
    assert policies.victims(members(), 3, criteria) == expected


def test_random_victims_still_take_broken_nodes_first() -> None:
    chosen = policies.victims(members(), 2, "RANDOM")
    assert chosen[0] == "bad" and chosen[1] in {"old", "mid", "new"}


def test_deletion_policy_defaults_and_values() -> None:
    assert policies.deletion_of([]) == policies.Deletion()
    bound = Bound(
        "d",
        "del",
        "senlin.policy.deletion-1.1",
        {"criteria": "OLDEST_FIRST", "grace_period": 5, "destroy_after_deletion": False},
        True,
        {},
    )
    chosen = policies.deletion_of([bound])
    assert (chosen.criteria, chosen.grace_period, chosen.destroy_after_deletion) == (
        "OLDEST_FIRST",
        5,
        False,
    )


def test_affinity_policy_becomes_placement_rules() -> None:
    def bound(**props: object) -> Bound:
        return Bound("a", "aff", "senlin.policy.affinity-1.0", props, True, {})

    anti = policies.placement_rules([bound(servergroup={"policies": "anti-affinity"})], "n")
    assert anti.anti_affinity and anti.enforce and anti.host_node == "n"
    together = policies.placement_rules([bound(servergroup={"policies": "affinity"})], None)
    assert together.affinity and not together.anti_affinity
    spread = policies.placement_rules([bound(spread="node_group")], None)
    assert spread.spread_nodegroups and spread.anti_affinity  # anti-affinity is the default
    assert policies.placement_rules([], None) == policies.Rules()


@pytest.mark.parametrize(
    ("total", "props", "size"),
    [
        (5, {"min_in_service": 2}, 3),
        (5, {"min_in_service": 2, "max_batch_size": 1}, 1),
        (2, {"min_in_service": 2}, 1),  # no more members than min_in_service: half of them
        (3, {"min_in_service": 5}, 2),
        (1, {"min_in_service": 1}, 1),
        (4, {"min_in_service": 0, "max_batch_size": -1}, 4),
        (4, {"min_in_service": 0, "max_batch_size": 0}, 1),
    ],
)
def test_batch_sizes_keep_min_in_service_and_the_cap(
    total: int, props: dict[str, int], size: int
) -> None:
    bound = Bound("b", "batch", "senlin.policy.batch-1.0", props, True, {})
    assert policies.batching_of([bound], total).size == size


def test_without_a_batch_policy_one_member_at_a_time_and_no_pause() -> None:
    assert policies.batching_of([], 5) == policies.Batching(1, 0)
    assert policies.batches(["a", "b", "c"], 2) == [["a", "b"], ["c"]]
