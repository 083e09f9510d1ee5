"""Images cove builds itself from distribution packages, offline from any image registry.

A driver describes its image as an ``ImageRecipe`` (``recipe``); ``ensure_image``
(``builder``) finds or builds the image any recipe describes. The builder's parts:
``rootfs`` (debootstrap and the recipe's files), ``debian`` (apt's mirror, installed
versions), ``docker_cli`` (import and look-up on cove's engine), ``lock``, ``commands``,
``errors``. The swarm-mode node's recipe is ``cove.drivers.swarm_mode.image``; ``node`` keeps
the names callers imported before the split.
"""

from __future__ import annotations

from cove.images.builder import BuiltImage, ensure_image, find_image
from cove.images.docker_cli import DockerCli
from cove.images.errors import EngineUnavailable, ImageBuildError
from cove.images.recipe import ImageRecipe, RecipeFile, content_hash, image_tag

__all__ = [
    "BuiltImage",
    "DockerCli",
    "EngineUnavailable",
    "ImageBuildError",
    "ImageRecipe",
    "RecipeFile",
    "content_hash",
    "ensure_image",
    "find_image",
    "image_tag",
]
