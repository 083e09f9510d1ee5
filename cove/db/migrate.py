"""Bring a database to the newest schema with Alembic (idempotent), and seed the defaults
Magnum users expect to exist (the Nova-like flavors, the ``public`` external network)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cove.db import models

MIGRATIONS = Path(__file__).parent / "migrations"

DEFAULT_FLAVORS = (
    ("m1.tiny", 1, 512, 1),
    ("m1.small", 1, 2048, 20),
    ("m1.medium", 2, 4096, 40),
    ("m1.large", 4, 8192, 80),
)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    seed_defaults(engine)


def seed_defaults(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        known = set(session.scalars(select(models.Flavor.name)))
        for name, vcpus, ram, disk in DEFAULT_FLAVORS:
            if name not in known:
                session.add(models.Flavor(name=name, vcpus=vcpus, ram=ram, disk=disk))
        has_public = session.scalar(
            select(models.Network.id).where(models.Network.name == "public")
        )
        if has_public is None:
            session.add(models.Network(name="public", project_id="", external=True, shared=True))
