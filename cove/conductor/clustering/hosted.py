"""Container clusters and the cove clusters under them: when a cove cluster removes nodes
(a resize, a node group deleted), the members on those nodes move first, each made on
another node before its old container goes; when nodes were replaced (healing, upgrade) or
removed, each hosted container cluster gets a recovery action that recreates what was lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, sessionmaker

from cove.clustering.placement import Placer
from cove.conductor.clustering.actions import Actions
from cove.conductor.clustering.store import NodeView
from cove.db import clustering as m
from cove.db import models
from cove.db.session import transaction
from cove.domain.clustering.actions import ActionName
from cove.domain.clustering.statuses import NodeStatus
from cove.drivers.base import RetryLater
from cove.services import operations


class HostedContainers:
    def __init__(self, factory: sessionmaker[Session], actions: Actions) -> None:
        self.factory = factory
        self.actions = actions

    def evacuate(self, cluster_uuid: str, nodes: Sequence[str]) -> None:
        leaving = frozenset(nodes)
        members = self._members_on(cluster_uuid, leaving)
        self._refuse_busy({n.cluster_uuid for n in members if n.cluster_uuid})
        for member in members:
            self._move(member, leaving)

    def recheck(self, cluster_id: int) -> None:
        with transaction(self.factory) as session:
            host = session.get(models.Cluster, cluster_id)
            if host is None:
                return
            hosting = select(m.ContainerNode.cluster_id).where(_placed_on(host.uuid)).distinct()
            hosted = session.scalars(
                select(m.ContainerCluster).where(m.ContainerCluster.id.in_(hosting))
            ).all()
            for cluster in hosted:
                start_recover(
                    session,
                    cluster,
                    cause="Host cluster changed",
                    message=f"Host cluster {host.name} changed its nodes; checking members.",
                )

    # -- moving members -------------------------------------------------------------------------

    def _members_on(self, cluster_uuid: str, nodes: frozenset[str]) -> list[NodeView]:
        with transaction(self.factory, write=False) as session:
            uuids = [
                node.uuid
                for node in session.scalars(select(m.ContainerNode).where(_placed_on(cluster_uuid)))
                if (node.data or {}).get("placement", {}).get("host_node") in nodes
            ]
        views = [self.actions.store.node(uuid) for uuid in uuids]
        return [v for v in views if v is not None]

    def _refuse_busy(self, cluster_uuids: set[str]) -> None:
        """A container cluster in the middle of an action keeps its members where they are
        until it ends: the cove cluster's operation retries (it removes nothing before)."""
        if not cluster_uuids:
            return
        with transaction(self.factory, write=False) as session:
            for cluster in session.scalars(
                select(m.ContainerCluster).where(m.ContainerCluster.uuid.in_(cluster_uuids))
            ):
                running = operations.find_active(session, cluster)
                if running is not None:
                    raise RetryLater(
                        f"Container cluster {cluster.name} is busy ({running.kind}); its "
                        "members move off the nodes to remove once it ends.",
                        delay=2.0,
                    )

    def _move(self, member: NodeView, leaving: frozenset[str]) -> None:
        """Make the member's container on another node, then remove the old one. The target
        is recorded first, so a conductor that dies midway resumes to the same node."""
        host = self.actions.host_of_node(member)
        target = member.placement.get("moving_to")
        if not target:
            if member.cluster_uuid:
                view = self.actions.store.cluster(
                    self.actions.store.cluster_id(member.cluster_uuid)
                )
                placer = self.actions.placer(view, host)
            else:
                placer = Placer(host.nodes(), self.actions.hosts.loads.of(host))
            target = placer.place(avoid=leaving)
            self.actions.store.place(member.uuid, {**member.placement, "moving_to": target})
        old = member.host_node
        record = self.actions.ensure(
            replace(member, placement={**member.placement, "host_node": target})
        )
        self.actions.store.place(
            member.uuid,
            {k: v for k, v in member.placement.items() if k != "moving_to"} | {"host_node": target},
        )
        self.actions.store.set_node(
            member.uuid,
            NodeStatus.ACTIVE,
            f"Moved from {old} to {target}: {old} is being removed.",
            physical_id=record.id,
            action="NODE_RECOVER",
        )
        if old and member.container:
            host.remove_container(old, member.container, grace=10.0)


def _placed_on(cluster_uuid: str) -> ColumnElement[bool]:
    return m.ContainerNode.data["placement"]["host_cluster"].as_string() == cluster_uuid


def start_recover(
    session: Session,
    cluster: m.ContainerCluster,
    *,
    cause: str,
    message: str,
    operation: str = "RECREATE",
) -> bool:
    """Start a CLUSTER_RECOVER on ``cluster`` unless an action runs on it."""
    locked = session.get(m.ContainerCluster, cluster.id, with_for_update=True)
    if locked is None or operations.find_active(session, locked) is not None:
        return False
    op = operations.start(
        session,
        locked,
        ActionName.CLUSTER_RECOVER,
        {"inputs": {"operation": operation, "check": True}},
        timeout_minutes=max(1, locked.timeout // 60),
        message=message,
    )
    op.subject_uuid, op.project_id, op.user_id = locked.uuid, locked.project_id, locked.user_id
    op.cause = cause
    return True
