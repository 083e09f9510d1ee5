"""The tag is a hash of the recipe: the same recipe always names the same image (never built
twice) and any change to what goes into the image names a new one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cove.drivers.swarm_mode.image import NODE_RECIPE, node_image_tag
from cove.images import ImageRecipe, RecipeFile, content_hash, image_tag
from cove.images import recipe as recipe_module

RECIPE = ImageRecipe(
    repository="cove/test",
    name="test",
    suite="bookworm",
    packages=("a", "b"),
    os_distro="debian",
    version_package="a",
    directories=("/etc/x",),
    files=(RecipeFile("/usr/local/bin/init", "#!/bin/sh\n", mode=0o755),),
    env=(("PATH", "/bin"),),
    entrypoint=("/usr/local/bin/init",),
)


def test_same_recipe_same_hash() -> None:
    again = ImageRecipe(**{f: getattr(RECIPE, f) for f in RECIPE.__dataclass_fields__})
    assert content_hash(again) == content_hash(RECIPE)
    assert image_tag(RECIPE) == f"cove/test:{content_hash(RECIPE)}"
    assert len(content_hash(RECIPE)) == 12


def test_package_order_does_not_matter() -> None:
    assert content_hash(replace(RECIPE, packages=("b", "a"))) == content_hash(RECIPE)


def test_repository_names_the_image_but_is_not_content() -> None:
    moved = replace(RECIPE, repository="elsewhere/test")
    assert content_hash(moved) == content_hash(RECIPE)
    assert image_tag(moved) == f"elsewhere/test:{content_hash(RECIPE)}"


@pytest.mark.parametrize(
    "change",
    [
        {"name": "other"},
        {"suite": "trixie"},
        {"packages": ("a", "b", "c")},
        {"os_distro": "ubuntu"},
        {"version_package": "b"},
        {"variant": "buildd"},
        {"trim": ()},
        {"directories": ()},
        {"files": (RecipeFile("/usr/local/bin/init", "#!/bin/sh\nexit 0\n", mode=0o755),)},
        {"files": (RecipeFile("/usr/local/bin/init", "#!/bin/sh\n", mode=0o700),)},
        {"files": (RecipeFile("/usr/bin/init", "#!/bin/sh\n", mode=0o755),)},
        {"env": (("PATH", "/usr/bin:/bin"),)},
        {"entrypoint": ("/bin/sh",)},
        {"users": ("keystone",)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_any_content_change_changes_the_hash(change: dict[str, object]) -> None:
    assert content_hash(replace(RECIPE, **change)) != content_hash(RECIPE)  # type: ignore[arg-type]


def test_builder_version_is_part_of_the_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    before = content_hash(RECIPE)
    monkeypatch.setattr(recipe_module, "BUILDER_VERSION", "test-next")
    assert content_hash(RECIPE) != before


def test_node_recipe() -> None:
    assert node_image_tag() == f"cove/node:{content_hash(NODE_RECIPE)}"
    assert NODE_RECIPE.os_distro == "debian"
    assert "docker.io" in NODE_RECIPE.packages
    assert NODE_RECIPE.version_package == "docker.io"
    (init,) = NODE_RECIPE.files
    assert NODE_RECIPE.entrypoint == (init.path,) and init.mode == 0o755
    assert init.content.startswith("#!/bin/sh\n")


def test_fields_added_later_leave_unchanged_recipes_their_tags() -> None:
    """``users`` came after images were built: a recipe without users hashes as before."""
    import hashlib
    import json
    from dataclasses import asdict

    inputs = asdict(RECIPE)
    del inputs["repository"], inputs["users"]
    inputs["packages"] = sorted(RECIPE.packages)
    inputs["builder"] = recipe_module.BUILDER_VERSION
    before = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:12]
    assert content_hash(RECIPE) == before
