"""Alembic environment: the URL and connection come from cove, never from alembic.ini."""

from alembic import context

import cove.db.clustering
import cove.db.deploy  # noqa: F401  (registers the deployments table)
from cove.db.models import Base

config = context.config
connection = config.attributes.get("connection")


def run() -> None:
    if connection is None:
        raise RuntimeError("cove runs migrations through cove.db.migrate, with a connection")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
