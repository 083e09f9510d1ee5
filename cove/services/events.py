"""A cluster's event log (cove's extension), read a page at a time, oldest first."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cove.db import models
from cove.identity import Caller
from cove.services import clusters, operations


@dataclass(frozen=True)
class ClusterEvents:
    cluster: models.Cluster
    events: list[models.Event]


def read_events(
    session: Session, caller: Caller, ident: str, *, since: int, limit: int
) -> ClusterEvents:
    """Events with an id above ``since``, with the cluster (for its current status)."""
    cluster = clusters.authorized_cluster(session, caller, ident, "event:get")
    return ClusterEvents(cluster, list(operations.events_since(session, cluster, since, limit)))


def read_operations(
    session: Session, caller: Caller, ident: str, *, limit: int
) -> tuple[models.Cluster, list[models.Operation]]:
    """The cluster's operations, newest first, with their recorded steps (their progress)."""
    cluster = clusters.authorized_cluster(session, caller, ident, "event:get")
    return cluster, list(operations.history(session, cluster, limit))
