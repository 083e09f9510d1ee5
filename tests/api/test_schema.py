"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL: a
column, index or constraint added to one and not the other fails here."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, delete, insert, select

import cove.db.clustering
import cove.db.deploy  # noqa: F401  (registers the deployments table)
from cove.db import migrate, models
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


def _migrate(engine: Engine, verb: str, revision: str) -> None:
    config = migrate.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)


def _cluster(project: str, name: str) -> dict[str, str]:
    return {"name": name, "project_id": project, "user_id": "u", "uuid": models.new_uuid(),
            "cluster_template_id": "t", "status": "CREATE_COMPLETE"}  # fmt: skip


def test_the_database_counts_each_projects_clusters_from_the_migration_on(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    usage = select(models.QuotaUsage.project_id, models.QuotaUsage.in_use).where(
        models.QuotaUsage.resource == "Cluster"
    )
    try:
        migrate.upgrade(engine)
        _migrate(engine, "downgrade", "0008")  # before the count: clusters exist already
        with engine.begin() as conn:
            made = [_cluster("p1", f"a{n}") for n in range(3)] + [_cluster("p2", "b0")]
            conn.execute(insert(models.Cluster.__table__), made)
        _migrate(engine, "upgrade", "head")
        with engine.begin() as conn:
            assert dict(conn.execute(usage).all()) == {"p1": 3, "p2": 1}
            # Whatever path writes the rows (here plain SQL), they are counted.
            conn.execute(delete(models.Cluster.__table__).where(models.Cluster.name == "a0"))
            conn.execute(insert(models.Cluster.__table__), [_cluster("p3", "c0")])
            assert dict(conn.execute(usage).all()) == {"p1": 2, "p2": 1, "p3": 1}
    finally:
        engine.dispose()
