"""What the clustering reconcilers read from and write to the database, each in its own
short transaction (never held while an engine works): a frozen view of a cluster, node rows
planned and settled, statuses and Senlin's event records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cove.clustering.policies import Bound
from cove.db import clustering as m
from cove.db import models
from cove.db.session import transaction
from cove.domain.clustering.policies import PRIORITY
from cove.domain.clustering.statuses import ClusterStatus, NodeStatus, eval_status
from cove.drivers.base import StepFailed
from cove.services.clustering import events

# Senlin's event levels are Python's logging levels.
INFO, WARNING, ERROR = 20, 30, 40


@dataclass(frozen=True)
class NodeView:
    id: int
    uuid: str
    name: str
    status: str
    index: int
    physical_id: str | None
    placement: dict[str, Any]
    created_at: datetime
    profile_uuid: str
    profile_spec: dict[str, Any]
    profile_created_at: datetime
    cluster_uuid: str | None
    tainted: bool = False

    @property
    def host_node(self) -> str | None:
        return self.placement.get("host_node")

    @property
    def container(self) -> str | None:
        return self.placement.get("container")


@dataclass(frozen=True)
class ClusterView:
    id: int
    uuid: str
    name: str
    project_id: str
    user_id: str
    desired: int
    min_size: int
    max_size: int
    next_index: int
    profile_id: int
    profile_uuid: str
    profile_spec: dict[str, Any]
    profile_created_at: datetime
    config: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    nodes: tuple[NodeView, ...] = ()
    policies: tuple[Bound, ...] = field(default_factory=tuple)

    def node(self, uuid: str) -> NodeView | None:
        return next((n for n in self.nodes if n.uuid == uuid), None)


def _node_view(node: m.ContainerNode, profile: m.Profile, cluster_uuid: str | None) -> NodeView:
    return NodeView(
        id=node.id,
        uuid=node.uuid,
        name=node.name,
        status=node.status,
        index=node.index,
        physical_id=node.physical_id,
        placement=dict((node.data or {}).get("placement") or {}),
        created_at=node.created_at,
        profile_uuid=profile.uuid,
        profile_spec=dict(profile.spec),
        profile_created_at=profile.created_at,
        cluster_uuid=cluster_uuid,
        tainted=bool(node.tainted),
    )


class Store:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    # -- reading ---------------------------------------------------------------------------

    def cluster(self, cluster_id: int) -> ClusterView:
        with transaction(self.factory, write=False) as session:
            cluster = session.get(m.ContainerCluster, cluster_id)
            assert cluster is not None  # the runner checked
            profile = session.get(m.Profile, cluster.profile_id)
            assert profile is not None
            profiles = {profile.id: profile}
            nodes = []
            for node in session.scalars(
                select(m.ContainerNode)
                .where(m.ContainerNode.cluster_id == cluster.id)
                .order_by(m.ContainerNode.index, m.ContainerNode.id)
            ):
                node_profile = profiles.get(node.profile_id) or session.get(
                    m.Profile, node.profile_id
                )
                assert node_profile is not None
                profiles[node_profile.id] = node_profile
                nodes.append(_node_view(node, node_profile, cluster.uuid))
            policies = [
                Bound(
                    uuid=policy.uuid,
                    name=policy.name,
                    type=policy.type,
                    properties=dict((policy.spec or {}).get("properties") or {}),
                    enabled=binding.enabled,
                    data=dict(binding.data or {}),
                )
                for binding, policy in session.execute(
                    select(m.PolicyBinding, m.Policy)
                    .join(m.Policy, m.Policy.id == m.PolicyBinding.policy_id)
                    .where(m.PolicyBinding.cluster_id == cluster.id)
                    .order_by(m.PolicyBinding.priority, m.PolicyBinding.id)
                )
            ]
            return ClusterView(
                id=cluster.id,
                uuid=cluster.uuid,
                name=cluster.name,
                project_id=cluster.project_id,
                user_id=cluster.user_id,
                desired=cluster.desired_capacity,
                min_size=cluster.min_size,
                max_size=cluster.max_size,
                next_index=cluster.next_index,
                profile_id=profile.id,
                profile_uuid=profile.uuid,
                profile_spec=dict(profile.spec),
                profile_created_at=profile.created_at,
                config=dict(cluster.config or {}),
                data=dict(cluster.data or {}),
                nodes=tuple(nodes),
                policies=tuple(policies),
            )

    def cluster_id(self, cluster_uuid: str) -> int:
        with transaction(self.factory, write=False) as session:
            found = session.scalar(
                select(m.ContainerCluster.id).where(m.ContainerCluster.uuid == cluster_uuid)
            )
            if found is None:
                raise StepFailed(f"The container cluster '{cluster_uuid}' could not be found.")
            return found

    def node(self, node_uuid: str) -> NodeView | None:
        with transaction(self.factory, write=False) as session:
            node = session.scalar(select(m.ContainerNode).where(m.ContainerNode.uuid == node_uuid))
            if node is None:
                return None
            profile = session.get(m.Profile, node.profile_id)
            assert profile is not None
            cluster = session.get(m.ContainerCluster, node.cluster_id) if node.cluster_id else None
            return _node_view(node, profile, cluster.uuid if cluster else None)

    def policy(self, uuid: str) -> Bound:
        """A policy as the runtime reads it (not attached: no binding data)."""
        with transaction(self.factory, write=False) as session:
            policy = _policy(session, uuid)
            return Bound(
                policy.uuid,
                policy.name,
                policy.type,
                dict((policy.spec or {}).get("properties") or {}),
                True,
                {},
            )

    def created_by(self, cluster_id: int, op_id: int) -> list[str]:
        """Members an operation planned (found again when it crashed before recording so)."""
        with transaction(self.factory, write=False) as session:
            return _planned(session, cluster_id, op_id)

    # -- writing ---------------------------------------------------------------------------

    def plan_nodes(
        self, cluster_id: int, op_id: int, placements: Sequence[dict[str, Any]]
    ) -> list[str]:
        """Rows for new members, CREATING, each with its placement; indexes from
        ``next_index``. Names follow the cluster's ``node.name.format`` ($nI index,
        $nR random) else Senlin's ``node-<8 random>``.

        Once per operation whoever asks: with the cluster's row locked, rows this operation
        planned already are returned instead (a conductor that lost its lease while planning
        and the one that took the operation over both get the same members)."""
        with transaction(self.factory) as session:
            cluster = session.get(m.ContainerCluster, cluster_id, with_for_update=True)
            assert cluster is not None
            planned = _planned(session, cluster_id, op_id)
            if planned:
                return planned
            made = []
            for placement in placements:
                index = cluster.next_index
                cluster.next_index += 1
                node = m.ContainerNode(
                    name="",
                    cluster_id=cluster.id,
                    profile_id=cluster.profile_id,
                    index=index,
                    role="",
                    status=str(NodeStatus.CREATING),
                    status_reason="Creation in progress",
                    project_id=cluster.project_id,
                    user_id=cluster.user_id,
                    domain_id=cluster.domain_id,
                    data={"placement": placement, "created_by": op_id},
                )
                node.uuid = models.new_uuid()
                node.name = _node_name(cluster.config or {}, index, node.uuid)
                session.add(node)
                made.append(node.uuid)
            return made

    def place(self, node_uuid: str, placement: dict[str, Any]) -> None:
        with transaction(self.factory) as session:
            node = _node_row(session, node_uuid)
            if node is not None:
                node.data = {**(node.data or {}), "placement": placement}

    def set_node(
        self,
        node_uuid: str,
        status: NodeStatus,
        reason: str,
        *,
        physical_id: str | None = None,
        action: str | None = None,
        level: int = INFO,
    ) -> None:
        with transaction(self.factory) as session:
            node = _node_row(session, node_uuid)
            if node is None:
                return
            node.status, node.status_reason = str(status), reason
            if physical_id is not None:
                node.physical_id = physical_id
            if action is not None:
                events.record(
                    session, node, action=action, status=str(status), reason=reason, level=level
                )

    def updated_node(self, node_uuid: str, name: str | None, tainted: bool | None) -> None:
        """The end of a NODE_UPDATE: the new name and taint, ACTIVE again."""
        with transaction(self.factory) as session:
            node = _node_row(session, node_uuid)
            if node is None:
                return
            if name is not None:
                node.name = name
            if tainted is not None:
                node.tainted = tainted
            node.status, node.status_reason = str(NodeStatus.ACTIVE), "Update succeeded"
            events.record(
                session, node, action="NODE_UPDATE", status=node.status, reason="Update succeeded"
            )

    def delete_nodes(self, node_uuids: Iterable[str], action: str) -> None:
        with transaction(self.factory) as session:
            for uuid in node_uuids:
                node = _node_row(session, uuid)
                if node is not None:
                    events.record(
                        session,
                        node,
                        action=action,
                        status="DELETED",
                        reason="Node deleted.",
                        level=INFO,
                    )
                    session.delete(node)

    def detach_nodes(self, node_uuids: Iterable[str], action: str) -> None:
        """Nodes leave the cluster and stay as orphans (destroy_after_deletion false)."""
        with transaction(self.factory) as session:
            for uuid in node_uuids:
                node = _node_row(session, uuid)
                if node is not None:
                    node.cluster_id, node.index, node.role = None, -1, ""
                    events.record(
                        session,
                        node,
                        action=action,
                        status=node.status,
                        reason="Node left.",
                        level=INFO,
                    )

    def adopt_nodes(self, cluster_id: int, node_uuids: Iterable[str]) -> None:
        with transaction(self.factory) as session:
            cluster = session.get(m.ContainerCluster, cluster_id, with_for_update=True)
            assert cluster is not None
            for uuid in node_uuids:
                node = _node_row(session, uuid)
                if node is not None and node.cluster_id is None:
                    node.cluster_id, node.index = cluster.id, cluster.next_index
                    cluster.next_index += 1

    def set_desired(self, cluster_id: int, desired: int) -> None:
        with transaction(self.factory) as session:
            cluster = session.get(m.ContainerCluster, cluster_id)
            if cluster is not None:
                cluster.desired_capacity = desired

    def resize_bounds(self, cluster_id: int, desired: int, min_size: int, max_size: int) -> None:
        with transaction(self.factory) as session:
            cluster = session.get(m.ContainerCluster, cluster_id)
            if cluster is not None:
                cluster.desired_capacity = desired
                cluster.min_size, cluster.max_size = min_size, max_size

    def switch_profile(self, cluster_id: int, profile_uuid: str) -> None:
        with transaction(self.factory) as session:
            cluster = session.get(m.ContainerCluster, cluster_id)
            profile = session.scalar(select(m.Profile).where(m.Profile.uuid == profile_uuid))
            if profile is None:
                raise StepFailed(f"The profile '{profile_uuid}' could not be found.")
            if cluster is not None:
                cluster.profile_id = profile.id

    def switch_node_profile(self, node_uuid: str, profile_uuid: str) -> None:
        with transaction(self.factory) as session:
            node = _node_row(session, node_uuid)
            profile = session.scalar(select(m.Profile).where(m.Profile.uuid == profile_uuid))
            if profile is None:
                raise StepFailed(f"The profile '{profile_uuid}' could not be found.")
            if node is not None:
                node.profile_id = profile.id

    def project_of(self, node_uuid: str) -> str:
        with transaction(self.factory, write=False) as session:
            node = _node_row(session, node_uuid)
            return node.project_id if node is not None else ""

    def set_data(self, cluster_id: int, key: str, value: Any) -> None:
        with transaction(self.factory) as session:
            cluster = session.get(m.ContainerCluster, cluster_id)
            if cluster is not None:
                data = {**(cluster.data or {}), key: value}
                cluster.data = {k: v for k, v in data.items() if v}

    def set_cluster_status(self, cluster_id: int, status: ClusterStatus, reason: str) -> None:
        with transaction(self.factory) as session:
            cluster = session.get(m.ContainerCluster, cluster_id)
            if cluster is not None:
                cluster.status, cluster.status_reason = str(status), reason


def settle(session: Session, cluster: m.ContainerCluster, operation: str) -> None:
    """The cluster's status from its ACTIVE nodes against its sizes (Senlin's eval_status)."""
    active = session.scalars(
        select(m.ContainerNode.id).where(
            m.ContainerNode.cluster_id == cluster.id,
            m.ContainerNode.status == str(NodeStatus.ACTIVE),
        )
    ).all()
    status, reason = eval_status(
        len(active), cluster.desired_capacity, cluster.min_size, cluster.max_size, operation
    )
    cluster.status, cluster.status_reason = str(status), reason


def _planned(session: Session, cluster_id: int, op_id: int) -> list[str]:
    """The members operation ``op_id`` planned for the cluster, oldest first."""
    return [
        n.uuid
        for n in session.scalars(
            select(m.ContainerNode)
            .where(m.ContainerNode.cluster_id == cluster_id)
            .order_by(m.ContainerNode.id)
        )
        if (n.data or {}).get("created_by") == op_id
    ]


def _node_row(session: Session, uuid: str) -> m.ContainerNode | None:
    return session.scalar(select(m.ContainerNode).where(m.ContainerNode.uuid == uuid))


def _node_name(config: dict[str, Any], index: int, uuid: str) -> str:
    fmt = str(config.get("node.name.format") or "")
    if not fmt:
        return f"node-{uuid[:8]}"
    return fmt.replace("$nI", str(index)).replace("$nR", uuid[:8]).replace("$I", str(index))


class Bindings:
    """Policy attachments (Senlin's cluster-policy records)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def attach(self, cluster_id: int, policy_uuid: str, enabled: bool) -> None:
        with transaction(self.factory) as session:
            policy, binding = _binding(session, cluster_id, policy_uuid)
            if binding is None:  # else attached by an earlier attempt that committed
                family = policy.type.rsplit("-", 1)[0]
                session.add(
                    m.PolicyBinding(
                        cluster_id=cluster_id,
                        policy_id=policy.id,
                        enabled=enabled,
                        priority=PRIORITY.get(family, 500),
                    )
                )

    def detach(self, cluster_id: int, policy_uuid: str) -> None:
        with transaction(self.factory) as session:
            _, binding = _binding(session, cluster_id, policy_uuid)
            if binding is not None:
                session.delete(binding)

    def update(self, cluster_id: int, policy_uuid: str, enabled: bool) -> None:
        with transaction(self.factory) as session:
            _, binding = _binding(session, cluster_id, policy_uuid)
            if binding is not None:
                binding.enabled = enabled


def _binding(
    session: Session, cluster_id: int, policy_uuid: str
) -> tuple[m.Policy, m.PolicyBinding | None]:
    policy = _policy(session, policy_uuid)
    binding = session.scalar(
        select(m.PolicyBinding).where(
            m.PolicyBinding.cluster_id == cluster_id, m.PolicyBinding.policy_id == policy.id
        )
    )
    return policy, binding


def _policy(session: Session, uuid: str) -> m.Policy:
    policy = session.scalar(select(m.Policy).where(m.Policy.uuid == uuid))
    if policy is None:
        raise StepFailed(f"The policy '{uuid}' could not be found.")  # deleted meanwhile
    return policy
