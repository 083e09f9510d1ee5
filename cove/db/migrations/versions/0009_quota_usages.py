"""a project's clusters counted as they are made and removed, for the quota check

``quota_usages`` holds one row per project and resource; triggers on ``clusters`` add one on
every insert and take one away on every delete, in the same transaction, so the count is
right whatever path writes the rows. The quota check reads that row: it no longer counts the
project's clusters (100,000 index entries took 10-30 ms). Existing clusters are counted once
here.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ADD = (
    "INSERT INTO quota_usages (project_id, resource, in_use) "
    "VALUES (NEW.project_id, 'Cluster', 1) "
    "ON CONFLICT (project_id, resource) DO UPDATE SET in_use = quota_usages.in_use + 1"
)
TAKE = (
    "UPDATE quota_usages SET in_use = in_use - 1 "
    "WHERE project_id = OLD.project_id AND resource = 'Cluster'"
)


def upgrade() -> None:
    op.create_table(
        "quota_usages",
        sa.Column("project_id", sa.String(255), primary_key=True),
        sa.Column("resource", sa.String(255), primary_key=True),
        sa.Column("in_use", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO quota_usages (project_id, resource, in_use) "
        "SELECT project_id, 'Cluster', count(*) FROM clusters GROUP BY project_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION cove_count_clusters() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'INSERT' THEN {ADD}; RETURN NEW; "
            f"ELSE {TAKE}; RETURN OLD; END IF; END $$"
        )
        op.execute(
            "CREATE TRIGGER clusters_counted AFTER INSERT OR DELETE ON clusters "
            "FOR EACH ROW EXECUTE FUNCTION cove_count_clusters()"
        )
    else:
        for name, event, statement in (("in", "INSERT", ADD), ("out", "DELETE", TAKE)):
            op.execute(
                f"CREATE TRIGGER clusters_counted_{name} AFTER {event} ON clusters "
                f"BEGIN {statement}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER clusters_counted ON clusters")
        op.execute("DROP FUNCTION cove_count_clusters()")
    else:
        op.execute("DROP TRIGGER clusters_counted_in")
        op.execute("DROP TRIGGER clusters_counted_out")
    op.drop_table("quota_usages")
