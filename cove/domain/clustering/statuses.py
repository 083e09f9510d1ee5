"""Senlin's cluster and node statuses, and how a cluster's status follows from its nodes
after every action (``eval_status``)."""

from __future__ import annotations

from enum import StrEnum


class ClusterStatus(StrEnum):
    INIT = "INIT"
    ACTIVE = "ACTIVE"
    CREATING = "CREATING"
    UPDATING = "UPDATING"
    RESIZING = "RESIZING"
    DELETING = "DELETING"
    CHECKING = "CHECKING"
    RECOVERING = "RECOVERING"
    CRITICAL = "CRITICAL"
    ERROR = "ERROR"
    WARNING = "WARNING"
    OPERATING = "OPERATING"


class NodeStatus(StrEnum):
    INIT = "INIT"
    ACTIVE = "ACTIVE"
    ERROR = "ERROR"
    WARNING = "WARNING"
    CREATING = "CREATING"
    UPDATING = "UPDATING"
    DELETING = "DELETING"
    RECOVERING = "RECOVERING"
    OPERATING = "OPERATING"


def eval_status(
    active: int, desired: int, min_size: int, max_size: int, operation: str
) -> tuple[ClusterStatus, str]:
    """The status a cluster has after ``operation`` with ``active`` ACTIVE nodes."""
    if active < min_size:
        return (
            ClusterStatus.ERROR,
            f"{operation}: number of active nodes is below min_size ({min_size}).",
        )
    if active < desired:
        return (
            ClusterStatus.WARNING,
            f"{operation}: number of active nodes is below desired_capacity ({desired}).",
        )
    if max_size >= 0 and active > max_size:
        return (
            ClusterStatus.WARNING,
            f"{operation}: number of active nodes is above max_size ({max_size}).",
        )
    return (
        ClusterStatus.ACTIVE,
        f"{operation}: number of active nodes is equal or above desired_capacity ({desired}).",
    )
