"""/v1/stats: how many clusters and nodes a project (or, for an admin, every project) has."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cove import errors, policy
from cove.db import models
from cove.identity import Caller


@dataclass(frozen=True)
class ClusterStats:
    clusters: int
    nodes: int


STATS_TYPES = ("cluster",)


def cluster_stats(
    session: Session, caller: Caller, project_id: str | None, kind: str
) -> ClusterStats:
    policy.enforce(caller, "stats:get_all")
    if kind not in STATS_TYPES:
        raise errors.InvalidField("type", kind, "Unsupported stats type.", list(STATS_TYPES))
    if not caller.is_admin:
        if project_id is not None and project_id != caller.project_id:
            raise errors.Forbidden("Not authorized.")
        project_id = caller.project_id
    clusters_q = select(func.count(models.Cluster.id))
    nodes_q = select(func.coalesce(func.sum(models.NodeGroup.node_count), 0))
    if project_id is not None:
        clusters_q = clusters_q.where(models.Cluster.project_id == project_id)
        nodes_q = nodes_q.where(models.NodeGroup.project_id == project_id)
    return ClusterStats(session.scalar(clusters_q) or 0, int(session.scalar(nodes_q) or 0))
