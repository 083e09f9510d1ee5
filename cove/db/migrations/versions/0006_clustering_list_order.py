"""indexes for the clustering lists' default order

Nodes and clusters list by init_at, events by timestamp, within a project (and nodes within a
cluster): without an index on that order every page sorted all of a project's rows (a 10,000
node project's first page cost 2 ms of sorting, 50,000 nodes 13-15 ms; bench/README.md).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_clustering_nodes_project_order", "clustering_nodes", ["project_id", "init_at", "id"]),
    ("ix_clustering_nodes_cluster_order", "clustering_nodes", ["cluster_id", "init_at", "id"]),
    (
        "ix_clustering_clusters_project_order",
        "clustering_clusters",
        ["project_id", "init_at", "id"],
    ),
    (
        "ix_clustering_events_project_order",
        "clustering_events",
        ["project_id", "timestamp", "id"],
    ),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
