"""The reconcilers of the clustering service: one for container clusters, one for nodes
outside any cluster. They set the transitional status Senlin shows while an action runs,
hand the action to ``Actions``, and write the end: outputs, the cluster's status from its
nodes (Senlin's eval_status), a scaling policy's last operation (its cooldown), and on
delete the rows, remembered by a tombstone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from cove.conductor.clustering.actions import Actions
from cove.conductor.clustering.hosts import Hosts
from cove.conductor.clustering.store import ERROR, Bindings, Store, settle
from cove.conductor.reconcilers import OperationRun
from cove.db import clustering as m
from cove.db import models
from cove.domain.clustering.actions import SCALING_ACTIONS, ActionName
from cove.domain.clustering.statuses import ClusterStatus, NodeStatus
from cove.drivers.registry import DriverRegistry
from cove.services.clustering import events

# The status a cluster shows while an action runs on it (Senlin's transitional statuses).
_RUNNING_STATUS = {
    ActionName.CLUSTER_CREATE: ClusterStatus.CREATING,
    ActionName.CLUSTER_DELETE: ClusterStatus.DELETING,
    ActionName.CLUSTER_UPDATE: ClusterStatus.UPDATING,
    ActionName.CLUSTER_ADD_NODES: ClusterStatus.RESIZING,
    ActionName.CLUSTER_DEL_NODES: ClusterStatus.RESIZING,
    ActionName.CLUSTER_REPLACE_NODES: ClusterStatus.RESIZING,
    ActionName.CLUSTER_RESIZE: ClusterStatus.RESIZING,
    ActionName.CLUSTER_SCALE_OUT: ClusterStatus.RESIZING,
    ActionName.CLUSTER_SCALE_IN: ClusterStatus.RESIZING,
    ActionName.CLUSTER_CHECK: ClusterStatus.CHECKING,
    ActionName.CLUSTER_RECOVER: ClusterStatus.RECOVERING,
    ActionName.CLUSTER_OPERATION: ClusterStatus.OPERATING,
}
# Senlin's operation word in status reasons ("CLUSTER_SCALE_OUT" -> "Scale out").
_VERB = {
    a: a.removeprefix("CLUSTER_").removeprefix("NODE_").replace("_", " ").capitalize()
    for a in ActionName
}


class ContainerClusterReconciler:
    subject_kind = m.ContainerCluster.SUBJECT_KIND

    def __init__(
        self,
        factory: sessionmaker[Session],
        drivers: DriverRegistry,
        *,
        hosts: Hosts | None = None,
        clock: Callable[[], datetime] = models.utcnow,
    ) -> None:
        self.factory = factory
        self.store = Store(factory)
        self.hosts = hosts or Hosts(factory, drivers)
        self.actions = Actions(self.store, Bindings(factory), self.hosts, clock)
        self.clock = clock

    def subject(self, session: Session, subject_id: int) -> m.ContainerCluster | None:
        return session.get(m.ContainerCluster, subject_id)

    def run(self, op: OperationRun) -> dict[str, Any]:
        kind = ActionName(op.kind)
        status = _RUNNING_STATUS.get(kind)
        if status is not None:
            self.store.set_cluster_status(op.subject_id, status, f"{_VERB[kind]} in progress.")
        return self.actions.cluster(op)

    def succeeded(self, session: Session, op: models.Operation, subject: Any, outcome: Any) -> None:
        cluster: m.ContainerCluster = subject
        kind = ActionName(op.kind)
        op.outputs = dict(outcome or {})
        if kind is ActionName.CLUSTER_DELETE:
            events.record(
                session,
                cluster,
                action=str(kind),
                status="DELETED",
                reason="Cluster deleted.",
                level=20,
                operation=op,
            )
            session.execute(delete(m.ContainerNode).where(m.ContainerNode.cluster_id == cluster.id))
            session.execute(delete(m.PolicyBinding).where(m.PolicyBinding.cluster_id == cluster.id))
            session.execute(delete(m.Receiver).where(m.Receiver.cluster_id == cluster.id))
            _forget(session, cluster)
            session.delete(cluster)
            return
        if kind in SCALING_ACTIONS:
            self._remember_scaling(session, cluster, kind)
        settle(session, cluster, f"{_VERB[kind]} succeeded")
        events.record(
            session,
            cluster,
            action=str(kind),
            status=cluster.status,
            reason=cluster.status_reason or "",
            level=20,
            operation=op,
        )

    def _remember_scaling(
        self, session: Session, cluster: m.ContainerCluster, kind: ActionName
    ) -> None:
        """A scaling policy's cooldown starts when an action it governs ends."""
        for binding, policy in session.execute(
            select(m.PolicyBinding, m.Policy)
            .join(m.Policy, m.Policy.id == m.PolicyBinding.policy_id)
            .where(m.PolicyBinding.cluster_id == cluster.id)
        ):
            if policy.type.startswith("senlin.policy.scaling"):
                event = (policy.spec.get("properties") or {}).get("event")
                if kind is ActionName.CLUSTER_RESIZE or event == str(kind):
                    binding.data = {**(binding.data or {}), "last_op": self.clock().isoformat()}

    def failed(self, session: Session, op: models.Operation, subject: Any, reason: str) -> None:
        cluster: m.ContainerCluster = subject
        kind = ActionName(op.kind)
        settle(session, cluster, f"{_VERB[kind]} failed")
        if kind is not ActionName.CLUSTER_CHECK:
            cluster.status_reason = f"{_VERB[kind]} failed: {reason}"
            if kind in (ActionName.CLUSTER_CREATE, ActionName.CLUSTER_DELETE):
                cluster.status = str(ClusterStatus.ERROR)
        events.record(
            session,
            cluster,
            action=str(kind),
            status="FAILED",
            reason=reason,
            level=ERROR,
            operation=op,
        )


class ContainerNodeReconciler:
    """Nodes made outside any cluster (``openstack cluster node create``)."""

    subject_kind = m.ContainerNode.SUBJECT_KIND

    def __init__(self, factory: sessionmaker[Session], actions: Actions) -> None:
        self.factory = factory
        self.actions = actions

    def subject(self, session: Session, subject_id: int) -> m.ContainerNode | None:
        return session.get(m.ContainerNode, subject_id)

    def run(self, op: OperationRun) -> dict[str, Any]:
        with self.actions.store.factory() as session:
            node = session.get(m.ContainerNode, op.subject_id)
            assert node is not None
            uuid = node.uuid
        return self.actions.orphan(op, uuid)

    def succeeded(self, session: Session, op: models.Operation, subject: Any, outcome: Any) -> None:
        node: m.ContainerNode = subject
        op.outputs = dict(outcome or {})
        if ActionName(op.kind) is ActionName.NODE_DELETE:
            events.record(
                session,
                node,
                action=op.kind,
                status="DELETED",
                reason="Node deleted.",
                level=20,
                operation=op,
            )
            _forget(session, node)
            session.delete(node)

    def failed(self, session: Session, op: models.Operation, subject: Any, reason: str) -> None:
        node: m.ContainerNode = subject
        node.status = str(NodeStatus.ERROR)
        node.status_reason = f"{_VERB[ActionName(op.kind)]} failed: {reason}"
        events.record(
            session, node, action=op.kind, status="FAILED", reason=reason, level=ERROR, operation=op
        )


def _forget(session: Session, subject: m.ContainerCluster | m.ContainerNode) -> None:
    """A tombstone for the deleted subject; its actions and Senlin events stay listable
    (as in Senlin), the progress messages kept for it go."""
    session.add(models.Tombstone(subject_kind=subject.SUBJECT_KIND, uuid=subject.uuid))
    session.execute(
        delete(models.Event).where(
            models.Event.subject_kind == subject.SUBJECT_KIND,
            models.Event.subject_id == subject.id,
        )
    )
