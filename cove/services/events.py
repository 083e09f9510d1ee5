"""A cluster's event log (cove's extension), read a page at a time, oldest first."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.db import models
from cove.identity import Caller
from cove.services import clusters


@dataclass(frozen=True)
class ClusterEvents:
    cluster: models.Cluster
    events: list[models.Event]


def read_events(
    session: Session, caller: Caller, ident: str, *, since: int, limit: int
) -> ClusterEvents:
    """Events with an id above ``since``, with the cluster (for its current status)."""
    cluster = clusters.authorized_cluster(session, caller, ident, "event:get")
    rows = session.scalars(
        select(models.Event)
        .where(models.Event.cluster_id == cluster.id, models.Event.id > since)
        .order_by(models.Event.id)
        .limit(limit)
    )
    return ClusterEvents(cluster, list(rows))
