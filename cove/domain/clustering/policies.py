"""Policy types with Senlin's schemas and versions, adapted to containers where Senlin's
were VM-only: health (container status polling and engine events; RECREATE, REBOOT =
restart), affinity (spread over host nodes or node groups) and load balancing (an haproxy
balancer on the host cluster)."""

from __future__ import annotations

from typing import Any

from cove.domain.clustering.schema import Prop, SpecType, parse_spec

_SCALE_EVENTS = ("CLUSTER_SCALE_IN", "CLUSTER_SCALE_OUT")
_ADJUSTMENTS = ("EXACT_CAPACITY", "CHANGE_IN_CAPACITY", "CHANGE_IN_PERCENTAGE")

SCALING = {
    "event": Prop(
        "String", "Event that will trigger this policy.", required=True, allowed=_SCALE_EVENTS
    ),
    "adjustment": Prop(
        "Map",
        "Detailed specification for scaling adjustments.",
        default={},
        schema={
            "type": Prop(
                "String", "Type of adjustment.", default="CHANGE_IN_CAPACITY", allowed=_ADJUSTMENTS
            ),
            "number": Prop(
                "Number",
                "A number specifying the amount of adjustment.",
                default=1,
                minimum=0,
                exclusive_minimum=True,
            ),
            "min_step": Prop("Integer", "Minimum nodes to add or remove.", default=1, minimum=0),
            "best_effort": Prop(
                "Boolean", "Clamp to the bounds instead of failing.", default=False
            ),
            "cooldown": Prop(
                "Integer", "Seconds before another scaling may run.", default=0, minimum=0
            ),
        },
    ),
}

_HOOKS = Prop(
    "Map",
    "Lifecycle hook properties.",
    default={},
    schema={
        "type": Prop(
            "String", "Type of lifecycle hook.", default="zaqar", allowed=("zaqar", "webhook")
        ),
        "params": Prop(
            "Map",
            "Hook parameters.",
            default={},
            schema={
                "queue": Prop("String", "Zaqar queue.", default=""),
                "url": Prop("String", "Webhook URL.", default=""),
            },
        ),
        "timeout": Prop("Integer", "Seconds to wait for the hook.", default=0, minimum=0),
    },
)
DELETION_10 = {
    "criteria": Prop(
        "String",
        "Criteria used in selecting candidates for deletion.",
        default="RANDOM",
        allowed=("OLDEST_FIRST", "OLDEST_PROFILE_FIRST", "YOUNGEST_FIRST", "RANDOM"),
    ),
    "destroy_after_deletion": Prop("Boolean", "Destroy nodes after removal.", default=True),
    "grace_period": Prop("Integer", "Seconds before deletion.", default=0, minimum=0),
    "reduce_desired_capacity": Prop("Boolean", "Reduce the desired capacity.", default=True),
}
DELETION_11 = {**DELETION_10, "hooks": _HOOKS}

# Both served by one poll of each member's container at the policy's interval (a container
# has no lifecycle notifications of Nova's kind). Senlin 1.1's NODE_STATUS_POLL_URL is not
# offered: a member's URL is not reachable from cove by name, and a mode accepted but not
# run would report healthy members it never looked at.
_DETECTION_TYPES = ("NODE_STATUS_POLLING", "LIFECYCLE_EVENTS")
_RECOVERY_ACTIONS = ("RECREATE", "REBOOT")


def _health(version: str) -> dict[str, Prop]:
    mode = Prop(
        "Map",
        schema={
            "type": Prop(
                "String",
                "Type of node failure detection.",
                required=True,
                allowed=_DETECTION_TYPES,
            ),
            "options": Prop(
                "Map",
                "Detection options.",
                default={},
                schema={"interval": Prop("Integer", "Polling interval.", minimum=1)},
            ),
        },
    )
    detection: dict[str, Prop]
    if version == "1.0":
        detection = {
            "type": Prop(
                "String",
                "Type of node failure detection.",
                required=True,
                allowed=_DETECTION_TYPES,
            ),
            "options": Prop(
                "Map",
                "Detection options.",
                default={},
                schema={"interval": Prop("Integer", "Polling interval.", default=60, minimum=1)},
            ),
        }
    else:
        detection = {
            "detection_modes": Prop("List", "Detection modes.", required=True, schema=mode),
            "interval": Prop("Integer", "Polling interval in seconds.", default=60, minimum=1),
            "node_update_timeout": Prop(
                "Integer", "Seconds a node may take to update.", default=300, minimum=1
            ),
            "recovery_conditional": Prop(
                "String",
                "When a node needs recovery.",
                default="ANY_FAILED",
                allowed=("ANY_FAILED", "ALL_FAILED"),
            ),
        }
    recovery: dict[str, Prop] = {
        "actions": Prop(
            "List",
            "Recovery actions.",
            default=[],
            schema=Prop(
                "Map",
                schema={
                    "name": Prop(
                        "String",
                        "RECREATE, or REBOOT (a restart).",
                        required=True,
                        allowed=_RECOVERY_ACTIONS,
                    ),
                    "params": Prop("Map", "Action parameters.", default={}),
                },
            ),
        ),
        "fencing": Prop(
            "List",
            "Fencing (not used for containers).",
            default=[],
            schema=Prop("String", allowed=("COMPUTE",)),
        ),
        "node_delete_timeout": Prop("Integer", "Seconds a delete may take.", default=20, minimum=1),
        "node_force_recreate": Prop("Boolean", "Recreate even if deleting fails.", default=False),
    }
    return {
        "detection": Prop(
            "Map", "Policy aspect for node failure detection.", required=True, schema=detection
        ),
        "recovery": Prop(
            "Map", "Policy aspect for node failure recovery.", required=True, schema=recovery
        ),
    }


BATCH = {
    "min_in_service": Prop("Integer", "Nodes that must stay in service.", default=1, minimum=0),
    "max_batch_size": Prop("Integer", "Nodes per batch; -1 all.", default=-1, minimum=-1),
    "pause_time": Prop("Integer", "Seconds between batches.", default=60, minimum=0),
}

AFFINITY = {
    "servergroup": Prop(
        "Map",
        "How containers spread (cove: over the host cluster's nodes or node groups).",
        default={},
        schema={
            "name": Prop("String", "Name of the group."),
            "policies": Prop(
                "String",
                "anti-affinity or affinity.",
                default="anti-affinity",
                allowed=("anti-affinity", "affinity"),
            ),
        },
    ),
    "spread": Prop(
        "String",
        "What anti-affinity spreads over.",
        default="host_node",
        allowed=("host_node", "node_group"),
    ),
    "enable_drs_extension": Prop("Boolean", "Unused for containers.", default=False),
}


def _loadbalance(version: str) -> dict[str, Prop]:
    props = {
        "pool": Prop(
            "Map",
            "Load-balancing pool.",
            default={},
            schema={
                "protocol": Prop(
                    "String", "Protocol.", default="HTTP", allowed=("HTTP", "HTTPS", "TCP")
                ),
                "protocol_port": Prop(
                    "Integer", "Container port balanced to.", default=80, minimum=1
                ),
                "lb_method": Prop(
                    "String",
                    "Balancing method.",
                    default="ROUND_ROBIN",
                    allowed=("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP"),
                ),
                "session_persistence": Prop("Map", "Session persistence.", default={}),
            },
        ),
        "vip": Prop(
            "Map",
            "Virtual IP (cove: a port on the host cluster's balancer).",
            default={},
            schema={
                "protocol": Prop(
                    "String", "Protocol.", default="HTTP", allowed=("HTTP", "HTTPS", "TCP")
                ),
                "protocol_port": Prop("Integer", "Published port.", default=80, minimum=1),
                "connection_limit": Prop(
                    "Integer", "Connections; -1 unlimited.", default=-1, minimum=-1
                ),
            },
        ),
        "health_monitor": Prop(
            "Map",
            "Health monitor.",
            default={},
            schema={
                "type": Prop(
                    "String", "Type.", default="PING", allowed=("PING", "TCP", "HTTP", "HTTPS")
                ),
                "delay": Prop("Integer", "Seconds between checks.", default=10, minimum=1),
                "timeout": Prop("Integer", "Seconds before a check fails.", default=5, minimum=1),
                "max_retries": Prop("Integer", "Failures before down.", default=3, minimum=1),
                "url_path": Prop("String", "HTTP path.", default="/"),
                "expected_codes": Prop("String", "Expected HTTP codes.", default="200"),
            },
        ),
        "lb_status_timeout": Prop(
            "Integer", "Seconds to wait for the balancer.", default=300, minimum=1
        ),
    }
    if version == "1.1":
        props["availability_zone"] = Prop("String", "Unused for containers.")
    return props


POLICY_TYPES: dict[str, SpecType] = {
    t.full_name: t
    for t in (
        SpecType("senlin.policy.scaling", "1.0", SCALING),
        SpecType("senlin.policy.deletion", "1.0", DELETION_10),
        SpecType("senlin.policy.deletion", "1.1", DELETION_11, (("SUPPORTED", "2018.01"),)),
        SpecType("senlin.policy.health", "1.0", _health("1.0"), (("EXPERIMENTAL", "2017.02"),)),
        SpecType("senlin.policy.health", "1.1", _health("1.1"), (("SUPPORTED", "2018.09"),)),
        SpecType("senlin.policy.health", "1.2", _health("1.2"), (("SUPPORTED", "2020.09"),)),
        SpecType("senlin.policy.batch", "1.0", BATCH, (("EXPERIMENTAL", "2017.02"),)),
        SpecType("senlin.policy.affinity", "1.0", AFFINITY),
        SpecType("senlin.policy.loadbalance", "1.0", _loadbalance("1.0")),
        SpecType(
            "senlin.policy.loadbalance", "1.1", _loadbalance("1.1"), (("SUPPORTED", "2018.01"),)
        ),
    )
}

# Senlin's priorities, the order policies run in.
PRIORITY = {
    "senlin.policy.scaling": 100,
    "senlin.policy.batch": 200,
    "senlin.policy.affinity": 300,
    "senlin.policy.deletion": 400,
    "senlin.policy.loadbalance": 500,
    "senlin.policy.health": 600,
}
# Policy types of which a cluster may have one only (Senlin's ``singleton``).
SINGLETONS = frozenset(PRIORITY) - {"senlin.policy.scaling"}


def parse_policy_spec(spec: Any) -> tuple[SpecType, dict[str, Any]]:
    return parse_spec(spec, POLICY_TYPES, "policy")
