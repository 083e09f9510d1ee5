"""deployments keep their package's plain options, so an update merges new options over them

A package's secret (writeOnly) options are the values of its secret variables, sealed with
the others in sealed_secrets; only the plain ones are kept here.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("options", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("options")
