"""SQLAlchemy models: the database is cove's source of truth (desired state, operations,
events). API shapes live with the HTTP layer; storage names need not match Magnum's."""

from __future__ import annotations

import uuid as uuidlib
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, query_expression, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def table_of(model: type[Any]) -> Table:
    """A model's table, for plain INSERTs where the ORM's unit of work would cost more than
    the statement (the columns' Python defaults apply as in a flush)."""
    return cast(Table, model.__table__)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, whatever the backend stores (SQLite keeps naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=None, onupdate=utcnow)


class ClusterTemplate(Timestamps, Base):
    __tablename__ = "cluster_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    coe: Mapped[str] = mapped_column(String(32))
    image_id: Mapped[str] = mapped_column(String(255))
    cluster_distro: Mapped[str | None] = mapped_column(String(255))
    flavor_id: Mapped[str | None] = mapped_column(String(255))
    master_flavor_id: Mapped[str | None] = mapped_column(String(255))
    keypair_id: Mapped[str | None] = mapped_column(String(255))
    external_network_id: Mapped[str | None] = mapped_column(String(255))
    fixed_network: Mapped[str | None] = mapped_column(String(255))
    fixed_subnet: Mapped[str | None] = mapped_column(String(255))
    network_driver: Mapped[str | None] = mapped_column(String(255))
    volume_driver: Mapped[str | None] = mapped_column(String(255))
    dns_nameserver: Mapped[str | None] = mapped_column(String(255))
    apiserver_port: Mapped[int | None]
    docker_volume_size: Mapped[int | None]
    docker_storage_driver: Mapped[str | None] = mapped_column(String(255))
    http_proxy: Mapped[str | None] = mapped_column(String(255))
    https_proxy: Mapped[str | None] = mapped_column(String(255))
    no_proxy: Mapped[str | None] = mapped_column(String(255))
    insecure_registry: Mapped[str | None] = mapped_column(String(255))
    registry_enabled: Mapped[bool] = mapped_column(default=False)
    tls_disabled: Mapped[bool] = mapped_column(default=False)
    public: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    master_lb_enabled: Mapped[bool] = mapped_column(default=False)
    floating_ip_enabled: Mapped[bool] = mapped_column(default=True)
    server_type: Mapped[str] = mapped_column(String(16), default="vm")
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[str | None] = mapped_column(String(255))
    driver: Mapped[str | None] = mapped_column(String(255))


class Cluster(Timestamps, Base):
    __tablename__ = "clusters"
    SUBJECT_KIND: ClassVar[str] = "cluster"  # operations and events name it so

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    cluster_template_id: Mapped[str] = mapped_column(String(36), index=True)
    keypair: Mapped[str | None] = mapped_column(String(255))
    docker_volume_size: Mapped[int | None]
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    master_flavor_id: Mapped[str | None] = mapped_column(String(255))
    flavor_id: Mapped[str | None] = mapped_column(String(255))
    create_timeout: Mapped[int] = mapped_column(default=60)
    status: Mapped[str] = mapped_column(String(32))
    status_reason: Mapped[str | None] = mapped_column(Text)
    health_status: Mapped[str | None] = mapped_column(String(16))
    health_status_reason: Mapped[dict[str, Any]] = mapped_column(default=dict)
    discovery_url: Mapped[str | None] = mapped_column(Text)
    api_address: Mapped[str | None] = mapped_column(String(255))
    coe_version: Mapped[str | None] = mapped_column(String(255))
    container_version: Mapped[str | None] = mapped_column(String(255))
    fixed_network: Mapped[str | None] = mapped_column(String(255))
    fixed_subnet: Mapped[str | None] = mapped_column(String(255))
    floating_ip_enabled: Mapped[bool] = mapped_column(default=True)
    master_lb_enabled: Mapped[bool] = mapped_column(default=False)
    merge_labels: Mapped[bool] = mapped_column(default=False)
    # Not a column: the template's labels, read with the cluster where a query asks for them
    # (``with_expression``; a show's label diff is against them).
    template_labels: Mapped[dict[str, Any] | None] = query_expression()

    nodegroups: Mapped[list[NodeGroup]] = relationship(
        back_populates="cluster",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="NodeGroup.id",
    )


class NodeGroup(Timestamps, Base):
    __tablename__ = "nodegroups"
    __table_args__ = (UniqueConstraint("cluster_id", "name", name="uq_nodegroup_cluster_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    docker_volume_size: Mapped[int | None]
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    flavor_id: Mapped[str | None] = mapped_column(String(255))
    image_id: Mapped[str | None] = mapped_column(String(255))
    node_addresses: Mapped[list[Any]] = mapped_column(default=list)
    node_count: Mapped[int] = mapped_column(default=1)
    role: Mapped[str] = mapped_column(String(255))
    min_node_count: Mapped[int] = mapped_column(default=0)
    max_node_count: Mapped[int | None]
    is_default: Mapped[bool] = mapped_column(default=False)
    stack_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    status_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(255))
    merge_labels: Mapped[bool] = mapped_column(default=False)
    node_labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    node_taints: Mapped[list[Any]] = mapped_column(default=list)

    cluster: Mapped[Cluster] = relationship(back_populates="nodegroups")


class ClusterCA(Base):
    """A cluster's certificate authority. Rotation adds a generation; the newest is in use.
    The key is kept in the database (as Magnum's x509keypair table does without Barbican)."""

    __tablename__ = "cluster_cas"
    __table_args__ = (UniqueConstraint("cluster_id", "generation", name="uq_ca_generation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    generation: Mapped[int] = mapped_column(default=1)
    cert_pem: Mapped[str] = mapped_column(Text)
    key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Operation(Base):
    """A unit of conductor work on a subject (``subject_kind``, ``subject_id``): a cluster
    today, later a container cluster or a deployment. Claimed with a lease, driven by the
    reconciler registered for its kind, step by step. One active operation per subject."""

    __tablename__ = "operations"
    __table_args__ = (
        Index("ix_operations_state_lease", "state", "lease_expires_at"),
        Index("ix_operations_subject", "subject_kind", "subject_id"),
        # One active operation per subject, whatever the writers read before (0003).
        Index(
            "uq_operations_active_subject",
            "subject_kind",
            "subject_id",
            unique=True,
            postgresql_where=text("state IN ('pending', 'running')"),
            sqlite_where=text("state IN ('pending', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    subject_kind: Mapped[str] = mapped_column(String(32), default="cluster")
    subject_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    # pending → running → succeeded | failed | cancelled
    state: Mapped[str] = mapped_column(String(16), default="pending")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Named, persisted steps: {step: {"state": "done", "data": {...}, "at": iso}}. A resumed
    # operation skips the steps done and reads the data later steps need.
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    deadline: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=None, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    # Who asked and why (0004): the clustering API lists operations as Senlin's actions,
    # per project, with their target's uuid, cause and outputs.
    subject_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    cause: Mapped[str | None] = mapped_column(String(255))
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Event(Base):
    """Something that happened to a subject, as users read it (Magnum's cluster events)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject", "subject_kind", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(32), default="cluster")
    subject_id: Mapped[int] = mapped_column(Integer)
    operation_id: Mapped[int | None] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[str] = mapped_column(String(16), default="info")
    message: Mapped[str] = mapped_column(Text)


class Tombstone(Base):
    """A deleted subject, remembered so the orphan sweep can remove what a superseded
    operation made after the delete's own sweep: only objects of subjects this database
    deleted are ever swept (other installations may share the engine)."""

    __tablename__ = "tombstones"
    __table_args__ = (Index("ix_tombstones_uuid", "uuid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(32))
    uuid: Mapped[str] = mapped_column(String(36))
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quota(Timestamps, Base):
    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource", name="uq_quota_project_res"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int] = mapped_column(default=1)


class QuotaUsage(Base):
    """How much of a resource a project holds: ``in_use`` clusters. Kept by the database
    itself, by triggers on ``clusters`` (migration 0009), so that every insert and delete
    counts, whatever path makes it; the quota check reads one row instead of counting the
    project's clusters, and costs the same at 100 or 100,000."""

    __tablename__ = "quota_usages"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    in_use: Mapped[int] = mapped_column(Integer)


class Service(Timestamps, Base):
    """A running cove process (conductor), as Magnum's mservices report them."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary", name="uq_service_host_binary"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    report_count: Mapped[int] = mapped_column(default=0)
    disabled: Mapped[bool] = mapped_column(default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    last_seen_up: Mapped[datetime | None]


# The infrastructure catalog Magnum borrows from Glance, Nova and Neutron.


class Image(Timestamps, Base):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), index=True)
    os_distro: Mapped[str | None] = mapped_column(String(255))
    node_image: Mapped[str | None] = mapped_column(String(255))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    project_id: Mapped[str] = mapped_column(String(255))
    public: Mapped[bool] = mapped_column(default=True)


class Flavor(Timestamps, Base):
    __tablename__ = "flavors"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int]
    ram: Mapped[int]
    disk: Mapped[int]


class Keypair(Timestamps, Base):
    __tablename__ = "keypairs"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_keypair_user_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(String(255))


class Network(Timestamps, Base):
    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(255))
    external: Mapped[bool] = mapped_column(default=False)
    shared: Mapped[bool] = mapped_column(default=False)
    # [{"uuid", "name", "cidr"}]
    subnets: Mapped[list[Any]] = mapped_column(default=list)
