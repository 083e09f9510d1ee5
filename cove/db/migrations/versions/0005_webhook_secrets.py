"""webhook receivers get a secret of their own

A webhook's URL named the receiver's id, which every list shows. It now carries a random
secret of its own; the trigger finds the receiver by the secret's SHA-256. Receivers made
before have no secret and answer 404 until they are made again.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clustering_receivers") as batch:
        batch.add_column(sa.Column("token_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_clustering_receivers_token_hash", ["token_hash"])


def downgrade() -> None:
    with op.batch_alter_table("clustering_receivers") as batch:
        batch.drop_constraint("uq_clustering_receivers_token_hash", type_="unique")
        batch.drop_column("token_hash")
