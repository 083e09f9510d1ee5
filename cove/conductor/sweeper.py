"""The orphan sweep: objects on a provider labelled with a cluster this database deleted.

A delete supersedes a running create, whose driver may still make a node after the delete's
own label sweep; such leftovers carry the deleted cluster's label and are removed here. Only
clusters with a tombstone are swept, so clusters of another installation sharing the engine
are never touched. Tombstones older than ``KEEP`` are dropped."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from cove.db import models
from cove.db.session import transaction
from cove.drivers.registry import DriverRegistry

log = logging.getLogger(__name__)

KEEP = timedelta(days=7)


def sweep(factory: sessionmaker[Session], registry: DriverRegistry) -> list[str]:
    """Remove what is left of deleted clusters; the uuids swept."""
    swept: list[str] = []
    with transaction(factory, write=False) as session:
        deleted = set(session.scalars(select(models.Tombstone.uuid)))
    if not deleted:
        return swept  # nothing deleted lately: no need to ask any engine
    for provider in registry.providers():
        dead = provider.cluster_uuids() & deleted
        for uuid in sorted(dead):
            log.warning("removing what is left of deleted cluster %s", uuid)
            provider.delete_cluster(uuid)
            swept.append(uuid)
    with transaction(factory) as session:
        session.execute(
            delete(models.Tombstone).where(models.Tombstone.deleted_at < models.utcnow() - KEEP)
        )
    return swept
