"""Application images for cove's deployments, built from Debian packages as Kolla builds its
images: each starts through ``cove-start`` (``start``), Kolla's config.json contract, and its
recipe (``recipes``) lives in the ``APPS`` registry, built on demand by ``cove.images``'
builder under a content-addressed tag (``cove/app-<name>:<hash>``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cove.images.apps.recipes import (
    APPS,
    CONFIG_DIR,
    CONFIG_FILE,
    GATE_PATH,
    START_PATH,
    AppImage,
    start_script,
)
from cove.images.builder import BuiltImage, ensure_image, find_image
from cove.images.docker_cli import DockerCli
from cove.images.errors import ImageBuildError

__all__ = [
    "APPS",
    "CONFIG_DIR",
    "CONFIG_FILE",
    "GATE_PATH",
    "START_PATH",
    "AppImage",
    "UnknownApp",
    "ensure_app_image",
    "find_app_image",
    "get_app",
    "start_script",
]


class UnknownApp(ImageBuildError):
    """No app image recipe has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no app image named {name!r}; known: {', '.join(sorted(APPS))}")
        self.name = name


def get_app(name: str) -> AppImage:
    """Raises UnknownApp."""
    try:
        return APPS[name]
    except KeyError:
        raise UnknownApp(name) from None


def find_app_image(name: str, *, docker_host: str) -> BuiltImage | None:
    return find_image(get_app(name).recipe, DockerCli(docker_host))


def ensure_app_image(
    name: str,
    state_dir: Path,
    *,
    docker_host: str,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> BuiltImage:
    """Find or build the app image ``name`` (raises UnknownApp, ImageBuildError)."""
    recipe = get_app(name).recipe
    return ensure_image(recipe, state_dir, docker_host=docker_host, force=force, log=log)
