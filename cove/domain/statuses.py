"""Cluster and node group statuses (Magnum's 18 values), health values, and which
operations each status allows. One table here; no handler lists statuses of its own."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_FAILED = "CREATE_FAILED"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    UPDATE_FAILED = "UPDATE_FAILED"
    UPDATE_COMPLETE = "UPDATE_COMPLETE"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_FAILED = "DELETE_FAILED"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    RESUME_COMPLETE = "RESUME_COMPLETE"
    RESUME_FAILED = "RESUME_FAILED"
    RESTORE_COMPLETE = "RESTORE_COMPLETE"
    ROLLBACK_IN_PROGRESS = "ROLLBACK_IN_PROGRESS"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"
    ROLLBACK_COMPLETE = "ROLLBACK_COMPLETE"
    SNAPSHOT_COMPLETE = "SNAPSHOT_COMPLETE"
    CHECK_COMPLETE = "CHECK_COMPLETE"
    ADOPT_COMPLETE = "ADOPT_COMPLETE"


class HealthStatus(StrEnum):
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    UNKNOWN = "UNKNOWN"


class Operation(StrEnum):
    """What a conductor does to a cluster. One runs at a time per cluster."""

    CREATE = "create"
    UPDATE = "update"
    RESIZE = "resize"
    UPGRADE = "upgrade"
    DELETE = "delete"
    ROTATE_CA = "rotate-ca"
    CREATE_NODEGROUP = "create-nodegroup"
    UPDATE_NODEGROUP = "update-nodegroup"
    DELETE_NODEGROUP = "delete-nodegroup"
    HEAL = "heal"


FAILED = frozenset(
    {
        Status.CREATE_FAILED,
        Status.UPDATE_FAILED,
        Status.DELETE_FAILED,
        Status.ROLLBACK_FAILED,
        Status.RESUME_FAILED,
    }
)

IN_PROGRESS = frozenset(
    {
        Status.CREATE_IN_PROGRESS,
        Status.UPDATE_IN_PROGRESS,
        Status.DELETE_IN_PROGRESS,
        Status.ROLLBACK_IN_PROGRESS,
    }
)

# The *_COMPLETE states from which Magnum's conductor accepts update and upgrade.
STABLE = frozenset(
    {
        Status.CREATE_COMPLETE,
        Status.UPDATE_COMPLETE,
        Status.RESUME_COMPLETE,
        Status.RESTORE_COMPLETE,
        Status.ROLLBACK_COMPLETE,
        Status.SNAPSHOT_COMPLETE,
        Status.CHECK_COMPLETE,
        Status.ADOPT_COMPLETE,
    }
)

# Magnum lets resize also run from UPDATE_FAILED (autoscaler retries). UPDATE_IN_PROGRESS is
# excluded here: cove refuses a second write to a busy cluster with 409 instead.
_ALLOWED_FROM: dict[Operation, frozenset[Status]] = {
    Operation.UPDATE: STABLE | {Status.UPDATE_FAILED},
    Operation.RESIZE: STABLE | {Status.UPDATE_FAILED},
    Operation.UPGRADE: STABLE | {Status.UPDATE_FAILED},
    Operation.ROTATE_CA: STABLE | {Status.UPDATE_FAILED},
    Operation.CREATE_NODEGROUP: STABLE | {Status.UPDATE_FAILED},
    Operation.UPDATE_NODEGROUP: STABLE | {Status.UPDATE_FAILED},
    Operation.DELETE_NODEGROUP: STABLE | {Status.UPDATE_FAILED},
    Operation.HEAL: STABLE | {Status.UPDATE_FAILED},
}

# Status a cluster takes when an operation starts, and when it ends well or badly.
START_STATUS: dict[Operation, Status] = {
    Operation.CREATE: Status.CREATE_IN_PROGRESS,
    Operation.DELETE: Status.DELETE_IN_PROGRESS,
}
SUCCESS_STATUS: dict[Operation, Status] = {Operation.CREATE: Status.CREATE_COMPLETE}
FAILURE_STATUS: dict[Operation, Status] = {
    Operation.CREATE: Status.CREATE_FAILED,
    Operation.DELETE: Status.DELETE_FAILED,
}


def start_status(op: Operation) -> Status:
    return START_STATUS.get(op, Status.UPDATE_IN_PROGRESS)


def success_status(op: Operation) -> Status:
    return SUCCESS_STATUS.get(op, Status.UPDATE_COMPLETE)


def failure_status(op: Operation) -> Status:
    return FAILURE_STATUS.get(op, Status.UPDATE_FAILED)


def allows(status: str, op: Operation) -> bool:
    """Delete is allowed from any status; create is never re-entered through the API."""
    if op is Operation.DELETE:
        return True
    return Status(status) in _ALLOWED_FROM.get(op, frozenset())
