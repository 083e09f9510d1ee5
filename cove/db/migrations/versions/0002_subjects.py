"""operations and events on subjects of any kind; tombstones of deleted subjects

Operations and events belonged to a cluster (``cluster_id`` with a cascading foreign key).
They now name a subject (``subject_kind``, ``subject_id``), so container clusters and
deployments get operations, steps and events from the same core. Removing a subject's
operations and events is the reconciler's work, no longer a cascade. Tombstones remember
deleted subjects for the orphan sweep.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("operations", "events"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "subject_kind", sa.String(length=32), nullable=False, server_default="cluster"
                )
            )
            batch.add_column(sa.Column("subject_id", sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET subject_id = cluster_id")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("subject_id", existing_type=sa.Integer(), nullable=False)
            batch.drop_index(f"ix_{table}_cluster_id")
            batch.drop_column("cluster_id")
    with op.batch_alter_table("operations") as batch:
        batch.create_index("ix_operations_subject", ["subject_kind", "subject_id"])
    with op.batch_alter_table("events") as batch:
        batch.create_index("ix_events_subject", ["subject_kind", "subject_id", "id"])
    op.create_table(
        "tombstones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tombstones") as batch:
        batch.create_index("ix_tombstones_uuid", ["uuid"])


def downgrade() -> None:
    raise NotImplementedError("cove does not downgrade databases")
