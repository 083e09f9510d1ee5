"""Turn an ``ImageRecipe`` into a Docker image with ``debootstrap`` and ``docker import``: no
image registry is involved.

The tag is content-addressed (``<repository>:<content hash of the recipe>``), so asking again
with the same recipe finds the image and returns at once. The root file system lives under
``<state_dir>/images/rootfs-<hash>`` only while a build runs (a build that died after
debootstrap resumes from it) and is deleted after the import. Builds of one hash are
serialised with a file lock, so parallel callers build once.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cove.images.debian import package_version
from cove.images.docker_cli import DockerCli
from cove.images.errors import ImageBuildError
from cove.images.lock import build_lock
from cove.images.recipe import ImageRecipe, content_hash
from cove.images.rootfs import debootstrap

LABEL_OS_DISTRO = "os_distro"
LABEL_IMAGE = "cove.image"
LABEL_VERSION = "cove.image.version"
LABEL_HASH = "cove.image.hash"

log_ = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuiltImage:
    ref: str  # <repository>:<hash>
    os_distro: str
    version: str  # the recipe's version_package as installed in the image
    created: bool  # False when the image already existed


def _default_log(message: str) -> None:
    log_.info("%s", message)


def _built_image(
    recipe: ImageRecipe, ref: str, info: dict[str, Any], *, created: bool
) -> BuiltImage:
    labels = (info.get("Config") or {}).get("Labels") or {}
    return BuiltImage(
        ref=ref,
        os_distro=labels.get(LABEL_OS_DISTRO, recipe.os_distro),
        version=labels.get(LABEL_VERSION, ""),
        created=created,
    )


def find_image(recipe: ImageRecipe, docker: DockerCli) -> BuiltImage | None:
    """The recipe's image if the engine has it (a cache look-up, no build)."""
    ref = f"{recipe.repository}:{content_hash(recipe)}"
    info = docker.inspect_image(ref)
    return None if info is None else _built_image(recipe, ref, info, created=False)


def ensure_image(
    recipe: ImageRecipe,
    state_dir: Path,
    *,
    docker_host: str,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> BuiltImage:
    """Find the recipe's image on the engine at ``docker_host``, or build it. ``force``
    rebuilds it from a fresh debootstrap even when it exists. ``log`` gets the progress lines
    (default: this module's logger)."""
    log = log or _default_log
    docker = DockerCli(docker_host)
    digest = content_hash(recipe)
    ref = f"{recipe.repository}:{digest}"
    if not force and (found := find_image(recipe, docker)) is not None:
        return found
    docker.engine_version()  # fails early, naming the fix, when no engine answers
    workdir = Path(state_dir) / "images"
    with build_lock(workdir / f"build-{digest}.lock", log):
        old = docker.inspect_image(ref)
        if old is not None and not force:  # built by whoever held the lock before us
            return _built_image(recipe, ref, old, created=False)
        rootfs = workdir / f"rootfs-{digest}"
        done = workdir / f"rootfs-{digest}.done"
        if force or not done.exists():
            debootstrap(recipe, rootfs, done, log)
        else:
            log(f"resuming from the root file system in {rootfs}")
        version = package_version(rootfs, recipe.version_package)
        log(f"importing {rootfs} as {ref}")
        started = time.monotonic()
        docker.import_tree(
            rootfs,
            ref,
            image_changes(recipe, digest, version),
            f"cove {recipe.name} image ({recipe.suite}, {recipe.version_package} {version})",
        )
        log(f"imported {ref} in {time.monotonic() - started:.1f}s")
        log(f"removing {rootfs}")
        done.unlink(missing_ok=True)
        shutil.rmtree(rootfs, ignore_errors=True)
        if old is not None:
            _remove_if_dangling(docker, old["Id"])
        info = docker.inspect_image(ref)
        if info is None:
            raise ImageBuildError(f"docker import reported success but {ref} does not exist")
        return _built_image(recipe, ref, info, created=True)


def image_changes(recipe: ImageRecipe, digest: str, version: str) -> list[str]:
    """The Dockerfile instructions ``docker import`` applies: labels, environment,
    entrypoint."""
    changes = [
        f"LABEL {LABEL_OS_DISTRO}={recipe.os_distro}",
        f"LABEL {LABEL_IMAGE}={recipe.name}",
        f"LABEL {LABEL_VERSION}={version}",
        f"LABEL {LABEL_HASH}={digest}",
    ]
    changes += [f"ENV {key}={value}" for key, value in recipe.env]
    if recipe.entrypoint:
        changes.append(f"ENTRYPOINT {json.dumps(list(recipe.entrypoint))}")
    return changes


def _remove_if_dangling(docker: DockerCli, image_id: str) -> None:
    """After a forced rebuild, drop the image the tag used to name (unless still in use)."""
    info = docker.inspect_image(image_id)
    if info is not None and not info.get("RepoTags"):
        docker.remove_image(image_id)
