"""Storage of the clustering service (Senlin's API over containers on cove's clusters):
profiles, policies, container clusters and their nodes, policy bindings, receivers and
Senlin-style events. Actions are ``operations`` rows (subject ``container_cluster`` or
``container_node``), driven by the same runner as Magnum's clusters.

Column names follow cove's (``project_id``, ``uuid``); the API layer renders Senlin's."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cove.db.models import Base, Timestamps, new_uuid, utcnow


class Owned:
    """Who made a clustering object: Senlin shows user, project and domain on each."""

    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str | None] = mapped_column(String(255))


class Profile(Timestamps, Owned, Base):
    """A spec for the objects a cluster is made of; ``type`` names the profile type and its
    version (``container.dockerinc.docker-1.0``). Specs are immutable: only name and
    metadata can change, as in Senlin."""

    __tablename__ = "clustering_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(255))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Policy(Timestamps, Owned, Base):
    """A policy (``senlin.policy.scaling-1.0`` …) that can be attached to clusters;
    ``data`` is what the policy keeps for itself across attachments."""

    __tablename__ = "clustering_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(255))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ContainerCluster(Timestamps, Owned, Base):
    """A Senlin cluster: ``desired_capacity`` nodes of one profile, between ``min_size``
    and ``max_size`` (-1: no upper bound below the service's cap). Desired state; the
    nodes rows say what exists."""

    __tablename__ = "clustering_clusters"
    __table_args__ = (Index("ix_clustering_clusters_project_order", "project_id", "init_at", "id"),)
    SUBJECT_KIND: ClassVar[str] = "container_cluster"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("clustering_profiles.id"), index=True)
    desired_capacity: Mapped[int] = mapped_column(default=0)
    min_size: Mapped[int] = mapped_column(default=0)
    max_size: Mapped[int] = mapped_column(default=-1)
    next_index: Mapped[int] = mapped_column(default=1)
    timeout: Mapped[int] = mapped_column(default=3600)
    status: Mapped[str] = mapped_column(String(32), default="INIT")
    status_reason: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dependents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    init_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContainerNode(Timestamps, Owned, Base):
    """One container of a cluster (or an orphan node, ``cluster_id`` NULL). ``physical_id``
    is the container's id once made; ``data["placement"]`` says where it runs:
    ``{"host_cluster": uuid, "host_node": name, "address": ip}``."""

    __tablename__ = "clustering_nodes"
    __table_args__ = (
        Index("ix_clustering_nodes_cluster", "cluster_id", "index"),
        # The lists' default order, per project and per cluster (0006).
        Index("ix_clustering_nodes_project_order", "project_id", "init_at", "id"),
        Index("ix_clustering_nodes_cluster_order", "cluster_id", "init_at", "id"),
    )
    SUBJECT_KIND: ClassVar[str] = "container_node"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), index=True)
    physical_id: Mapped[str | None] = mapped_column(String(255))
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("clustering_clusters.id", ondelete="SET NULL")
    )
    profile_id: Mapped[int] = mapped_column(ForeignKey("clustering_profiles.id"), index=True)
    index: Mapped[int] = mapped_column(default=-1)
    role: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="INIT")
    status_reason: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dependents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tainted: Mapped[bool] = mapped_column(default=False)
    init_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyBinding(Timestamps, Base):
    """A policy attached to a cluster (Senlin's cluster-policy); ``data`` holds what the
    policy remembers for this cluster (a scaling policy's last operation, for cooldown)."""

    __tablename__ = "clustering_bindings"
    __table_args__ = (UniqueConstraint("cluster_id", "policy_id", name="uq_clustering_binding"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clustering_clusters.id", ondelete="CASCADE"), index=True
    )
    policy_id: Mapped[int] = mapped_column(ForeignKey("clustering_policies.id"), index=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[int] = mapped_column(default=0)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Receiver(Timestamps, Owned, Base):
    """A webhook (or message) receiver: calling its channel runs ``action`` on the cluster
    with ``params`` merged with the caller's, as ``actor``."""

    __tablename__ = "clustering_receivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(32))
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("clustering_clusters.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channel: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # SHA-256 of the webhook's secret (0005): the trigger finds the receiver by it. The URL
    # with the secret is in ``channel``, shown by the owner's show, never in lists.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class ClusteringEvent(Base):
    """Senlin's event records: what happened to which object, during which action."""

    __tablename__ = "clustering_events"
    __table_args__ = (
        Index("ix_clustering_events_project", "project_id", "id"),
        Index("ix_clustering_events_project_order", "project_id", "timestamp", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    obj_id: Mapped[str | None] = mapped_column(String(36), index=True)
    obj_type: Mapped[str | None] = mapped_column(String(32))
    obj_name: Mapped[str | None] = mapped_column(String(255))
    cluster_id: Mapped[str | None] = mapped_column(String(36), index=True)
    level: Mapped[int] = mapped_column(default=20)  # Python logging levels, as Senlin
    action: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    status_reason: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
