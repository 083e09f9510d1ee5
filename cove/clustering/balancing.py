"""The loadbalance policy made concrete: a balancer spec from the policy's pool, vip and
health monitor, with the cluster's ACTIVE members as backends (each reached at its host
node's address on the port its container publishes for the pool's port)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cove.clustering.policies import Bound, enabled
from cove.drivers.containerhost import (
    OWNER_LABEL,
    Backend,
    BalancerCheck,
    BalancerSpec,
    ContainerRecord,
)
from cove.failures import Permanent

BALANCER_LABEL = "cove.clustering.balancer"  # the policy's uuid


class NotBalanceable(Permanent):
    """The members cannot be balanced as the policy asks (their pool port is not
    published by the profile)."""


@dataclass(frozen=True)
class Member:
    uuid: str
    address: str  # the host node's
    container: ContainerRecord | None


def balancer_name(cluster_uuid: str, policy_uuid: str) -> str:
    return f"cove-lb-{cluster_uuid[:8]}-{policy_uuid[:8]}"


def policies_of(bound: Sequence[Bound]) -> list[Bound]:
    return enabled(bound, "loadbalance")


def pool_port(policy: Bound) -> int:
    return int((policy.properties.get("pool") or {}).get("protocol_port", 80))


def check_published(policy: Bound, profile_spec: Mapping[str, Any]) -> None:
    """Refuse at attach a profile whose containers do not publish the pool's port."""
    port = pool_port(policy)
    published = {
        int(p.get("container_port", 0))
        for p in (profile_spec.get("properties") or {}).get("ports") or ()
    }
    if port not in published:
        raise NotBalanceable(
            f"The profile publishes no port {port} (the pool's protocol_port); add "
            f"'ports: [{{container_port: {port}}}]' to its properties."
        )


def spec_of(cluster_uuid: str, policy: Bound, members: Sequence[Member]) -> BalancerSpec:
    props = policy.properties
    pool = props.get("pool") or {}
    vip = props.get("vip") or {}
    monitor = props.get("health_monitor") or {}
    port = pool_port(policy)
    protocol = str(pool.get("protocol", "HTTP"))
    backends = []
    for member in members:
        record = member.container
        if record is None or record.state != "running":
            continue
        published = record.ports.get(f"{port}/tcp")
        if published is not None:
            backends.append(Backend(member.uuid, member.address, int(published)))
    check = None
    if monitor:
        kind = str(monitor.get("type", "TCP"))
        check = BalancerCheck(
            type=kind if protocol == "HTTP" or kind in ("PING", "TCP") else "TCP",
            delay=int(monitor.get("delay", 10)),
            timeout=int(monitor.get("timeout", 5)),
            max_retries=int(monitor.get("max_retries", 3)),
            url_path=str(monitor.get("url_path", "/")),
            expected_codes=str(monitor.get("expected_codes", "200")),
        )
    return BalancerSpec(
        name=balancer_name(cluster_uuid, policy.uuid),
        labels={OWNER_LABEL: cluster_uuid, BALANCER_LABEL: policy.uuid},
        port=int(vip.get("protocol_port", 80)),
        protocol=protocol,
        method=str(pool.get("lb_method", "ROUND_ROBIN")),
        backends=tuple(sorted(backends, key=lambda b: b.name)),
        check=check,
        connection_limit=int(vip.get("connection_limit", -1)),
    )
