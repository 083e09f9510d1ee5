"""Senlin's action names and what each carries in its operation's ``params["inputs"]``.

An action is an ``operations`` row: ``kind`` is the action name, the subject is the
container cluster (``container_cluster``) or, for a node outside any cluster, the node
(``container_node``). A node action on a clustered node runs with the cluster as subject,
so one action at a time touches a cluster. ``outputs`` is what the action reports.

Inputs (all validated by the services before the row is written):

- CLUSTER_CREATE: {} (the cluster row holds desired_capacity; nodes are made by the action)
- CLUSTER_DELETE: {}
- CLUSTER_UPDATE: {"profile_id": uuid?} (a new profile: nodes replaced one batch at a time)
- CLUSTER_ADD_NODES: {"nodes": [node uuid, …]} (orphan ACTIVE nodes of a compatible profile)
- CLUSTER_DEL_NODES: {"nodes": [node uuid, …], "destroy_after_deletion": bool}
- CLUSTER_REPLACE_NODES: {"nodes": {old uuid: new uuid}}
- CLUSTER_SCALE_OUT / CLUSTER_SCALE_IN: {"count": int?}
- CLUSTER_RESIZE: {"adjustment_type": str?, "number": int|float?, "min_size": int?,
  "max_size": int?, "min_step": int?, "strict": bool}
- CLUSTER_CHECK: {} ; CLUSTER_RECOVER: {"operation": str?, "params": {}}
- CLUSTER_ATTACH_POLICY: {"policy_id": uuid, "enabled": bool}
- CLUSTER_DETACH_POLICY: {"policy_id": uuid}
- CLUSTER_UPDATE_POLICY: {"policy_id": uuid, "enabled": bool}
- CLUSTER_OPERATION: {"operation": name, "params": {}, "nodes": [uuid, …]}
- NODE_CREATE, NODE_DELETE, NODE_CHECK: {"node": uuid}
- NODE_UPDATE: {"node": uuid, "name": str?, "profile_id": uuid?, "tainted": bool?}
- NODE_RECOVER: {"node": uuid, "operation": str?, "params": {}}
- NODE_OPERATION: {"node": uuid, "operation": name, "params": {}}
"""

from __future__ import annotations

from enum import StrEnum


class ActionName(StrEnum):
    CLUSTER_CREATE = "CLUSTER_CREATE"
    CLUSTER_DELETE = "CLUSTER_DELETE"
    CLUSTER_UPDATE = "CLUSTER_UPDATE"
    CLUSTER_ADD_NODES = "CLUSTER_ADD_NODES"
    CLUSTER_DEL_NODES = "CLUSTER_DEL_NODES"
    CLUSTER_REPLACE_NODES = "CLUSTER_REPLACE_NODES"
    CLUSTER_RESIZE = "CLUSTER_RESIZE"
    CLUSTER_SCALE_OUT = "CLUSTER_SCALE_OUT"
    CLUSTER_SCALE_IN = "CLUSTER_SCALE_IN"
    CLUSTER_CHECK = "CLUSTER_CHECK"
    CLUSTER_RECOVER = "CLUSTER_RECOVER"
    CLUSTER_ATTACH_POLICY = "CLUSTER_ATTACH_POLICY"
    CLUSTER_DETACH_POLICY = "CLUSTER_DETACH_POLICY"
    CLUSTER_UPDATE_POLICY = "CLUSTER_UPDATE_POLICY"
    CLUSTER_OPERATION = "CLUSTER_OPERATION"
    NODE_CREATE = "NODE_CREATE"
    NODE_DELETE = "NODE_DELETE"
    NODE_UPDATE = "NODE_UPDATE"
    NODE_CHECK = "NODE_CHECK"
    NODE_RECOVER = "NODE_RECOVER"
    NODE_OPERATION = "NODE_OPERATION"


# Operation states (cove's runner) as Senlin's action statuses.
ACTION_STATUS = {
    "pending": "READY",
    "running": "RUNNING",
    "succeeded": "SUCCEEDED",
    "failed": "FAILED",
    "cancelled": "CANCELLED",
}

# What a scaling policy's event names; the actions it shapes.
SCALING_ACTIONS = frozenset(
    {ActionName.CLUSTER_SCALE_OUT, ActionName.CLUSTER_SCALE_IN, ActionName.CLUSTER_RESIZE}
)
# The actions a webhook receiver may run (any cluster action but create, as Senlin).
RECEIVER_ACTIONS = frozenset(a for a in ActionName if a.startswith("CLUSTER_")) - {
    ActionName.CLUSTER_CREATE
}
