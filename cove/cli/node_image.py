"""The swarm-mode node image for the service commands (``image build``, ``up``, ``doctor``):
found or built on cove's engine (``Settings.docker_host``) and registered in the catalog.

Imported lazily by those commands: it pulls in the builder, the driver and the database."""

from __future__ import annotations

from collections.abc import Callable

from cove.db import migrate
from cove.db.session import make_engine, make_session_factory, transaction
from cove.drivers.swarm_mode import image as swarm_image
from cove.images import BuiltImage, DockerCli, find_image
from cove.services import catalog
from cove.settings import Settings


def engine_version(settings: Settings) -> str:
    """Raises ImageBuildError (EngineUnavailable names scripts/docker-engine.sh)."""
    return DockerCli(settings.docker_host).engine_version()


def node_image_tag() -> str:
    return swarm_image.node_image_tag()


def find_node_image(settings: Settings) -> BuiltImage | None:
    return find_image(swarm_image.NODE_RECIPE, DockerCli(settings.docker_host))


def ensure_node_image(
    settings: Settings, *, force: bool = False, log: Callable[[str], None] | None = None
) -> BuiltImage:
    return swarm_image.ensure_node_image(
        settings.state_dir, docker_host=settings.docker_host, force=force, log=log
    )


def register(settings: Settings, built: BuiltImage) -> str:
    """Register ``built`` in the catalog of ``settings``' database (schema brought up to
    date first); the catalog image's name."""
    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        with transaction(make_session_factory(engine)) as session:
            row = catalog.register_node_image(
                session,
                name=swarm_image.CATALOG_NAME,
                node_image=built.ref,
                os_distro=built.os_distro,
                version=built.version,
            )
            return row.name
    finally:
        engine.dispose()
