"""A deployment's event log (cove's extension), read a page at a time, oldest first: what
the API accepted, each change of its progress, pauses, retries, how each operation ended.
Same visibility as showing the deployment."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cove.db import models
from cove.db.deploy import Deployment
from cove.identity import Caller
from cove.services import deployments, operations


@dataclass(frozen=True)
class DeploymentEvents:
    deployment: Deployment
    events: list[models.Event]


def read_events(
    session: Session, caller: Caller, cluster_ident: str, ident: str, *, since: int, limit: int
) -> DeploymentEvents:
    """Events with an id above ``since``, with the deployment (its status and progress)."""
    _, found = deployments.show(session, caller, cluster_ident, ident)
    return DeploymentEvents(found, list(operations.events_since(session, found, since, limit)))
