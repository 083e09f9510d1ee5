"""Labels every COE accepts (node counts, boot volume, auto-healing, image registry), and
``rexray_preempt``, shared by the COEs whose volume driver is REX-Ray."""

from __future__ import annotations

from collections.abc import Mapping

from cove.domain.labels._core import (
    BOOL_ALLOWED,
    LabelSpec,
    Refused,
    Schema,
    boolean,
    integer,
    parse_int,
)


def _registry_prefix(value: str) -> None:
    # Drivers prepend the prefix to image names as-is, so it must end at a path boundary.
    if value and not value.endswith("/"):
        raise Refused(
            f"{value!r} does not end with '/'. Use the empty value for the default registries, "
            f"or a prefix such as {value.rstrip('/') + '/'!r}."
        )


def _min_not_above_max(value: str, labels: Mapping[str, str]) -> None:
    if "max_node_count" not in labels:
        return
    low, high = parse_int(value), parse_int(labels["max_node_count"])
    if low > high:
        raise Refused(
            f"min_node_count ({low}) is greater than max_node_count ({high}). "
            "Lower min_node_count or raise max_node_count."
        )


COMMON = Schema(
    specs=(
        LabelSpec(
            "auto_healing_enabled",
            "Whether failed nodes are detected and replaced automatically.",
            BOOL_ALLOWED,
            "false",
            check=boolean,
        ),
        LabelSpec(
            "auto_healing_controller",
            "The auto-healing service to run (Magnum's Kubernetes driver knows draino and "
            "magnum-auto-healer).",
        ),
        LabelSpec(
            "min_node_count",
            "The smallest node count that auto-scaling or auto-healing may shrink the cluster to.",
            check=integer(),
        ),
        LabelSpec(
            "max_node_count",
            "The largest node count that auto-scaling may grow the cluster to.",
            check=integer(),
        ),
        LabelSpec(
            "boot_volume_size",
            "Size in GB of a Cinder volume each node boots from; 0 boots from the flavor's disk.",
            None,
            "0",
            check=integer(),
        ),
        LabelSpec("availability_zone", "The Nova availability zone for the cluster's servers."),
        LabelSpec(
            "container_infra_prefix",
            "A registry prefix ending in '/' for the cluster's infrastructure images, e.g. "
            "registry.example.com/mirror/; empty pulls from the default registries.",
            None,
            "",
            check=_registry_prefix,
        ),
    ),
    rules=(("min_node_count", _min_not_above_max),),
)

REXRAY_PREEMPT = LabelSpec(
    "rexray_preempt",
    "Whether REX-Ray lets any host take over a volume even while other hosts use it.",
    BOOL_ALLOWED,
    "false",
    check=boolean,
)
