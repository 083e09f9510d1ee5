"""What attached policies decide for an action, Senlin's way: scaling policies say how many
nodes a scale-out or scale-in adds or removes (adjustment type, number, min_step,
best_effort, cooldown), deletion policies which nodes go (criteria) and what happens to them,
affinity policies where new containers may go, batch policies how many members an update
replaces at once. Pure: given the bound policies and the
cluster's numbers, return decisions; the reconciler records them as steps."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cove.clustering.placement import Rules
from cove.failures import Permanent


class PolicyRefusal(Permanent):
    """A policy's check failed (cooldown, size bounds): the action fails with this reason."""


@dataclass(frozen=True)
class Bound:
    """A policy attached to the cluster, as the runtime reads it."""

    uuid: str
    name: str
    type: str  # "senlin.policy.scaling-1.0"
    properties: Mapping[str, Any]
    enabled: bool
    data: Mapping[str, Any]  # what the binding remembers (last_op)

    @property
    def family(self) -> str:
        return self.type.rsplit("-", 1)[0].removeprefix("senlin.policy.")


@dataclass(frozen=True)
class Sizes:
    current: int  # nodes in the cluster now
    desired: int
    min_size: int
    max_size: int  # -1: unbounded


def enabled(policies: Sequence[Bound], family: str) -> list[Bound]:
    return [p for p in policies if p.enabled and p.family == family]


def scaling_policy(policies: Sequence[Bound], event: str) -> Bound | None:
    for policy in enabled(policies, "scaling"):
        if policy.properties.get("event") == event:
            return policy
    return None


def check_cooldown(policy: Bound, now: datetime) -> None:
    cooldown = int((policy.properties.get("adjustment") or {}).get("cooldown") or 0)
    last = policy.data.get("last_op")
    if cooldown and last:
        ends = datetime.fromisoformat(last) + timedelta(seconds=cooldown)
        if now < ends:
            raise PolicyRefusal(
                f"Policy {policy.name} cooldown is still in progress "
                f"(until {ends:%Y-%m-%d %H:%M:%S} UTC)."
            )


def adjustment_count(policy: Bound, sizes: Sizes, scale_out: bool) -> int:
    """How many nodes the policy's adjustment adds or removes (before bounds)."""
    adjustment = policy.properties.get("adjustment") or {}
    kind = adjustment.get("type", "CHANGE_IN_CAPACITY")
    number = adjustment.get("number", 1)
    min_step = int(adjustment.get("min_step", 1) or 1)
    if kind == "EXACT_CAPACITY":
        count = int(number) - sizes.current if scale_out else sizes.current - int(number)
    elif kind == "CHANGE_IN_PERCENTAGE":
        delta = sizes.current * float(number) / 100.0
        count = math.ceil(delta) if abs(delta) < 1 else math.floor(delta)
        count = max(count, min_step)
    else:
        count = int(number)
    return count


def bounded_count(count: int, sizes: Sizes, scale_out: bool, best_effort: bool) -> int:
    """``count`` within min_size/max_size: clamped when best_effort, else refused."""
    if count <= 0:
        raise PolicyRefusal(f"Count ({count}) must be a positive integer.")
    if scale_out:
        target = sizes.desired + count
        if sizes.max_size >= 0 and target > sizes.max_size:
            if not best_effort:
                raise PolicyRefusal(
                    f"The target capacity ({target}) is greater than the cluster's "
                    f"max_size ({sizes.max_size})."
                )
            count = sizes.max_size - sizes.desired
    else:
        target = sizes.desired - count
        if target < sizes.min_size:
            if not best_effort:
                raise PolicyRefusal(
                    f"The target capacity ({target}) is less than the cluster's "
                    f"min_size ({sizes.min_size})."
                )
            count = sizes.desired - sizes.min_size
    if count <= 0:
        raise PolicyRefusal("The cluster is already at its size bound; nothing to scale.")
    return count


@dataclass(frozen=True)
class Member:
    uuid: str
    status: str
    created_at: datetime
    profile_created_at: datetime
    tainted: bool = False  # marked by ``node update --tainted``: goes first, as a broken one


@dataclass(frozen=True)
class Deletion:
    criteria: str = "RANDOM"
    destroy_after_deletion: bool = True
    grace_period: int = 0
    reduce_desired_capacity: bool = True


def deletion_of(policies: Sequence[Bound]) -> Deletion:
    for policy in enabled(policies, "deletion"):
        props = policy.properties
        return Deletion(
            criteria=str(props.get("criteria", "RANDOM")),
            destroy_after_deletion=bool(props.get("destroy_after_deletion", True)),
            grace_period=int(props.get("grace_period", 0) or 0),
            reduce_desired_capacity=bool(props.get("reduce_desired_capacity", True)),
        )
    return Deletion()


def victims(members: Sequence[Member], count: int, criteria: str) -> list[str]:
    """Which members go: nodes not ACTIVE or tainted first (as Senlin), then by the
    criteria."""
    broken = [m for m in members if m.status != "ACTIVE" or m.tainted]
    healthy = [m for m in members if m.status == "ACTIVE" and not m.tainted]
    if criteria == "OLDEST_FIRST":
        healthy.sort(key=lambda m: (m.created_at, m.uuid))
    elif criteria == "YOUNGEST_FIRST":
        healthy.sort(key=lambda m: (m.created_at, m.uuid), reverse=True)
    elif criteria == "OLDEST_PROFILE_FIRST":
        healthy.sort(key=lambda m: (m.profile_created_at, m.created_at, m.uuid))
    else:
        healthy = random.sample(healthy, len(healthy))
    return [m.uuid for m in (broken + healthy)[:count]]


def placement_rules(policies: Sequence[Bound], host_node: str | None) -> Rules:
    """The affinity policy, read for containers: ``servergroup.policies`` anti-affinity (at
    most one member per host node, refused when impossible, as Nova's hard group) or
    affinity (members together on one node); ``spread: node_group`` balances members over
    the host cluster's node groups first (as availability zones)."""
    for policy in enabled(policies, "affinity"):
        props = policy.properties
        wanted = (props.get("servergroup") or {}).get("policies", "anti-affinity")
        return Rules(
            host_node=host_node,
            anti_affinity=wanted == "anti-affinity",
            affinity=wanted == "affinity",
            spread_nodegroups=props.get("spread") == "node_group",
        )
    return Rules(host_node=host_node)


@dataclass(frozen=True)
class Batching:
    size: int  # members replaced together
    pause: int  # seconds between two batches


def batching_of(policies: Sequence[Bound], total: int) -> Batching:
    """How an update replaces ``total`` members. The batch policy keeps ``min_in_service``
    members serving (half of them when there are no more than that), replaces at most
    ``max_batch_size`` at once (-1: no cap) and waits ``pause_time`` seconds between two
    batches. Without one: one member at a time, no pause, so the others keep serving."""
    for policy in enabled(policies, "batch"):
        props = policy.properties
        keep = int(props.get("min_in_service", 1))
        cap = int(props.get("max_batch_size", -1))
        size = total - keep if total > keep else (total + 1) // 2
        if cap >= 0:
            size = min(size, cap)
        return Batching(max(1, size), int(props.get("pause_time", 60)))
    return Batching(1, 0)


def batches(members: Sequence[str], size: int) -> list[list[str]]:
    return [list(members[i : i + size]) for i in range(0, len(members), max(1, size))]
