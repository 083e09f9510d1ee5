"""one active operation per subject, enforced by the database

A partial unique index on operations (subject_kind, subject_id) over the active states
(pending, running): a second active operation on a subject cannot be inserted whatever the
writers read before. Databases that already hold more than one active operation on a subject
(two writes accepted at once on PostgreSQL before this revision) keep the oldest and have the
others cancelled first, as a delete would have superseded them.

Revision ID: 0003
Revises: 0002
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ACTIVE = "state IN ('pending', 'running')"


def upgrade() -> None:
    operations = sa.table(
        "operations",
        sa.column("id", sa.Integer()),
        sa.column("subject_kind", sa.String()),
        sa.column("subject_id", sa.Integer()),
        sa.column("state", sa.String()),
        sa.column("error", sa.Text()),
        sa.column("finished_at", sa.DateTime(timezone=True)),
    )
    older = operations.alias("older")
    op.execute(
        operations.update()
        .where(
            operations.c.state.in_(("pending", "running")),
            sa.exists().where(
                older.c.subject_kind == operations.c.subject_kind,
                older.c.subject_id == operations.c.subject_id,
                older.c.state.in_(("pending", "running")),
                older.c.id < operations.c.id,
            ),
        )
        .values(
            state="cancelled",
            error="cancelled: another operation was already active on the subject",
            finished_at=datetime.now(UTC),
        )
    )
    op.create_index(
        "uq_operations_active_subject",
        "operations",
        ["subject_kind", "subject_id"],
        unique=True,
        postgresql_where=sa.text(ACTIVE),
        sqlite_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    raise NotImplementedError("cove does not downgrade databases")
