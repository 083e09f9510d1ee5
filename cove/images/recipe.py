"""What an image is made of, as data: a Debian suite and packages, then files, directories and
image configuration laid over the root. A driver describes its image with an ``ImageRecipe``;
``cove.images.builder`` turns any recipe into an image and knows nothing of drivers.

The image's tag is a hash of the recipe (``content_hash``), so an unchanged recipe is never
built twice and any change to what goes into the image makes a new tag.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

# Bump when the builder's steps change in a way that changes the image.
BUILDER_VERSION = "1"

# Documentation and translations nobody reads inside a container.
DEFAULT_TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale")


@dataclass(frozen=True)
class RecipeFile:
    path: str  # absolute, inside the image
    content: str
    mode: int = 0o644


@dataclass(frozen=True)
class ImageRecipe:
    """Everything an image's content is made from; every field but ``repository`` goes into
    the tag's hash."""

    repository: str  # the tag is <repository>:<content hash>
    name: str  # the cove.image label and the import message: "node"
    suite: str  # the Debian release debootstrap installs: "bookworm"
    packages: tuple[str, ...]  # installed besides the variant's own
    os_distro: str  # the os_distro label, which the catalog's Image row carries
    version_package: str  # the package whose installed version labels the image
    variant: str = "minbase"
    trim: tuple[str, ...] = DEFAULT_TRIM  # directories emptied after debootstrap
    directories: tuple[str, ...] = ()  # created, absolute paths
    files: tuple[RecipeFile, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    entrypoint: tuple[str, ...] = ()
    # System users (each with a group of its name) created after the packages are installed,
    # for services whose Debian package creates none (python3-keystone).
    users: tuple[str, ...] = ()


# Fields added after images were first built enter the hash only when set, so that recipes
# which do not use them keep their tags (and built images).
_HASHED_WHEN_SET = ("users",)


def content_hash(recipe: ImageRecipe) -> str:
    """Short hash of everything the image's content is made from (package order aside:
    debootstrap installs a set)."""
    inputs = asdict(recipe)
    del inputs["repository"]
    for field in _HASHED_WHEN_SET:
        if not inputs[field]:
            del inputs[field]
    inputs["packages"] = sorted(recipe.packages)
    inputs["builder"] = BUILDER_VERSION
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return digest[:12]


def image_tag(recipe: ImageRecipe) -> str:
    return f"{recipe.repository}:{content_hash(recipe)}"
