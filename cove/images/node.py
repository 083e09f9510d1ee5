"""Compatibility: the names ``cove.images.node`` offered before the image builder and the
swarm-mode node's recipe were split. New code imports the builder from ``cove.images`` and
the recipe from ``cove.drivers.swarm_mode.image``; catalog registration is
``cove.services.catalog.register_node_image``.

The recipe's names are looked up on first use (PEP 562 ``__getattr__``): importing the driver
package here would import its ``services`` module, which imports this one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cove.images.builder import BuiltImage
from cove.images.debian import apt_mirror, package_version
from cove.images.docker_cli import DockerCli
from cove.images.errors import EngineUnavailable, ImageBuildError
from cove.providers.engine_address import DEFAULT_DOCKER_HOST

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cove.db import models

NodeImage = BuiltImage

_RECIPE_NAMES = frozenset(
    {
        "CATALOG_NAME",
        "INIT_PATH",
        "INIT_SCRIPT",
        "NODE_RECIPE",
        "OS_DISTRO",
        "PACKAGES",
        "PATH_ENV",
        "REGISTRY_PROXY_CONFIG",
        "REPOSITORY",
        "SUITE",
        "node_image_tag",
    }
)

__all__ = [
    "EngineUnavailable",
    "ImageBuildError",
    "NodeImage",
    "apt_mirror",
    "check_engine",
    "ensure_node_image",
    "inspect_image",
    "package_version",
    "register_node_image",
    *sorted(_RECIPE_NAMES),
]


def __getattr__(name: str) -> Any:
    if name in _RECIPE_NAMES:
        from cove.drivers.swarm_mode import image

        return getattr(image, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_engine(docker_host: str = DEFAULT_DOCKER_HOST) -> str:
    return DockerCli(docker_host).engine_version()


def inspect_image(ref: str, docker_host: str = DEFAULT_DOCKER_HOST) -> dict[str, Any] | None:
    return DockerCli(docker_host).inspect_image(ref)


def ensure_node_image(
    state_dir: Path,
    *,
    docker_host: str = DEFAULT_DOCKER_HOST,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> BuiltImage:
    from cove.drivers.swarm_mode import image

    return image.ensure_node_image(state_dir, docker_host=docker_host, force=force, log=log)


def register_node_image(
    session: Session, image: BuiltImage, name: str | None = None
) -> models.Image:
    from cove.drivers.swarm_mode.image import CATALOG_NAME
    from cove.services import catalog

    return catalog.register_node_image(
        session,
        name=name or CATALOG_NAME,
        node_image=image.ref,
        os_distro=image.os_distro,
        version=image.version,
    )
