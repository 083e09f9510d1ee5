"""Quotas (admin-managed) and their enforcement at cluster create: Magnum's default is 20
clusters per project, overridden by an explicit quota row."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cove import errors
from cove.db import models

RESOURCES = ("Cluster",)


def limit_for(session: Session, project_id: str, default: int, resource: str = "Cluster") -> int:
    """The project's explicit quota, else the operator's default (``max_clusters_per_project``)."""
    row = session.scalar(
        select(models.Quota.hard_limit).where(
            models.Quota.project_id == project_id, models.Quota.resource == resource
        )
    )
    return default if row is None else row


def check_cluster_quota(session: Session, project_id: str, default: int) -> None:
    """Runs inside the create transaction, which holds the write lock (SQLite) or counts
    under the same snapshot, so two racing creates cannot both pass at the limit."""
    limit = limit_for(session, project_id, default)
    used = (
        session.scalar(
            select(func.count(models.Cluster.id)).where(models.Cluster.project_id == project_id)
        )
        or 0
    )
    if used >= limit:
        raise errors.QuotaExceeded(
            f"You have reached the maximum clusters per project, {limit}. "
            "You may delete a cluster to make room for a new one."
        )
