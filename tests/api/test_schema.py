"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL: a
column, index or constraint added to one and not the other fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import cove.db.clustering
import cove.db.deploy  # noqa: F401  (registers the deployments table)
from cove.db import migrate
from cove.db.models import Base
from cove.db.session import make_engine


def test_migrations_build_the_models_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()
