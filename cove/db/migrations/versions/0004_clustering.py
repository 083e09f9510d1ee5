"""the clustering service: profiles, policies, container clusters and nodes, bindings,
receivers, Senlin-style events; operations gain who asked, why, their target's uuid and
outputs, so the clustering API lists them as Senlin's actions.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "clustering_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("obj_id", sa.String(length=36), nullable=True),
        sa.Column("obj_type", sa.String(length=32), nullable=True),
        sa.Column("obj_name", sa.String(length=255), nullable=True),
        sa.Column("cluster_id", sa.String(length=36), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index(
        op.f("ix_clustering_events_cluster_id"), "clustering_events", ["cluster_id"], unique=False
    )
    op.create_index(
        op.f("ix_clustering_events_obj_id"), "clustering_events", ["obj_id"], unique=False
    )
    op.create_index(
        "ix_clustering_events_project", "clustering_events", ["project_id", "id"], unique=False
    )
    op.create_table(
        "clustering_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("domain_id", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index(
        op.f("ix_clustering_policies_name"), "clustering_policies", ["name"], unique=False
    )
    op.create_index(
        op.f("ix_clustering_policies_project_id"),
        "clustering_policies",
        ["project_id"],
        unique=False,
    )
    op.create_table(
        "clustering_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("domain_id", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index(
        op.f("ix_clustering_profiles_name"), "clustering_profiles", ["name"], unique=False
    )
    op.create_index(
        op.f("ix_clustering_profiles_project_id"),
        "clustering_profiles",
        ["project_id"],
        unique=False,
    )
    op.create_table(
        "clustering_clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("desired_capacity", sa.Integer(), nullable=False),
        sa.Column("min_size", sa.Integer(), nullable=False),
        sa.Column("max_size", sa.Integer(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dependents", sa.JSON(), nullable=False),
        sa.Column("init_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("domain_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["clustering_profiles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index(
        op.f("ix_clustering_clusters_name"), "clustering_clusters", ["name"], unique=False
    )
    op.create_index(
        op.f("ix_clustering_clusters_profile_id"),
        "clustering_clusters",
        ["profile_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_clustering_clusters_project_id"),
        "clustering_clusters",
        ["project_id"],
        unique=False,
    )
    op.create_table(
        "clustering_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["cluster_id"], ["clustering_clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["clustering_policies.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cluster_id", "policy_id", name="uq_clustering_binding"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index(
        op.f("ix_clustering_bindings_cluster_id"),
        "clustering_bindings",
        ["cluster_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_clustering_bindings_policy_id"), "clustering_bindings", ["policy_id"], unique=False
    )
    op.create_table(
        "clustering_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("physical_id", sa.String(length=255), nullable=True),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dependents", sa.JSON(), nullable=False),
        sa.Column("tainted", sa.Boolean(), nullable=False),
        sa.Column("init_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("domain_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["cluster_id"], ["clustering_clusters.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["clustering_profiles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index(
        "ix_clustering_nodes_cluster", "clustering_nodes", ["cluster_id", "index"], unique=False
    )
    op.create_index(op.f("ix_clustering_nodes_name"), "clustering_nodes", ["name"], unique=False)
    op.create_index(
        op.f("ix_clustering_nodes_profile_id"), "clustering_nodes", ["profile_id"], unique=False
    )
    op.create_index(
        op.f("ix_clustering_nodes_project_id"), "clustering_nodes", ["project_id"], unique=False
    )
    op.create_table(
        "clustering_receivers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("actor", sa.JSON(), nullable=False),
        sa.Column("channel", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("domain_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["cluster_id"], ["clustering_clusters.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index(
        op.f("ix_clustering_receivers_cluster_id"),
        "clustering_receivers",
        ["cluster_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_clustering_receivers_name"), "clustering_receivers", ["name"], unique=False
    )
    op.create_index(
        op.f("ix_clustering_receivers_project_id"),
        "clustering_receivers",
        ["project_id"],
        unique=False,
    )
    op.add_column("operations", sa.Column("subject_uuid", sa.String(length=36), nullable=True))
    op.add_column("operations", sa.Column("project_id", sa.String(length=255), nullable=True))
    op.add_column("operations", sa.Column("user_id", sa.String(length=255), nullable=True))
    op.add_column("operations", sa.Column("cause", sa.String(length=255), nullable=True))
    op.add_column(
        "operations",
        sa.Column("outputs", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    op.create_index(op.f("ix_operations_project_id"), "operations", ["project_id"], unique=False)
    op.create_index(
        op.f("ix_operations_subject_uuid"), "operations", ["subject_uuid"], unique=False
    )


def downgrade() -> None:

    op.drop_index(op.f("ix_operations_subject_uuid"), table_name="operations")
    op.drop_index(op.f("ix_operations_project_id"), table_name="operations")
    op.drop_column("operations", "outputs")
    op.drop_column("operations", "cause")
    op.drop_column("operations", "user_id")
    op.drop_column("operations", "project_id")
    op.drop_column("operations", "subject_uuid")
    op.drop_index(op.f("ix_clustering_receivers_project_id"), table_name="clustering_receivers")
    op.drop_index(op.f("ix_clustering_receivers_name"), table_name="clustering_receivers")
    op.drop_index(op.f("ix_clustering_receivers_cluster_id"), table_name="clustering_receivers")
    op.drop_table("clustering_receivers")
    op.drop_index(op.f("ix_clustering_nodes_project_id"), table_name="clustering_nodes")
    op.drop_index(op.f("ix_clustering_nodes_profile_id"), table_name="clustering_nodes")
    op.drop_index(op.f("ix_clustering_nodes_name"), table_name="clustering_nodes")
    op.drop_index("ix_clustering_nodes_cluster", table_name="clustering_nodes")
    op.drop_table("clustering_nodes")
    op.drop_index(op.f("ix_clustering_bindings_policy_id"), table_name="clustering_bindings")
    op.drop_index(op.f("ix_clustering_bindings_cluster_id"), table_name="clustering_bindings")
    op.drop_table("clustering_bindings")
    op.drop_index(op.f("ix_clustering_clusters_project_id"), table_name="clustering_clusters")
    op.drop_index(op.f("ix_clustering_clusters_profile_id"), table_name="clustering_clusters")
    op.drop_index(op.f("ix_clustering_clusters_name"), table_name="clustering_clusters")
    op.drop_table("clustering_clusters")
    op.drop_index(op.f("ix_clustering_profiles_project_id"), table_name="clustering_profiles")
    op.drop_index(op.f("ix_clustering_profiles_name"), table_name="clustering_profiles")
    op.drop_table("clustering_profiles")
    op.drop_index(op.f("ix_clustering_policies_project_id"), table_name="clustering_policies")
    op.drop_index(op.f("ix_clustering_policies_name"), table_name="clustering_policies")
    op.drop_table("clustering_policies")
    op.drop_index("ix_clustering_events_project", table_name="clustering_events")
    op.drop_index(op.f("ix_clustering_events_obj_id"), table_name="clustering_events")
    op.drop_index(op.f("ix_clustering_events_cluster_id"), table_name="clustering_events")
    op.drop_table("clustering_events")
