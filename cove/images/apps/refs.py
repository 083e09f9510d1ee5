"""Which images deployments run: cove's app images (built from Debian packages by ``cove
image build --app``), named in definitions by repository (``cove/app-mariadb``, any tag),
run at the tag of the recipe cove builds now."""

from __future__ import annotations

from cove.images.apps.recipes import APPS
from cove.images.recipe import image_tag

PREFIX = "cove/app-"


def repository(ref: str) -> str:
    last = ref.rsplit("/", 1)[-1]
    return ref.rsplit(":", 1)[0] if ":" in last else ref


def known(ref: str) -> bool:
    return repository(ref).removeprefix(PREFIX) in APPS and ref.startswith(PREFIX)


def resolve(ref: str) -> str:
    """The reference to run: an app image's current tag; anything else as it is."""
    if known(ref):
        return image_tag(APPS[repository(ref).removeprefix(PREFIX)].recipe)
    return ref
