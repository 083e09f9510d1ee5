"""The app image registry: every recipe ships cove-start as its entrypoint with python3 and
Kolla's directories, tags are content hashes (stable, and changed by packages or by the start
program), and each sample config.json passes cove-start's own validation."""

from __future__ import annotations

import runpy
import subprocess
from dataclasses import replace
from typing import Any

import pytest

from cove.images import content_hash, image_tag
from cove.images.apps import (
    APPS,
    CONFIG_DIR,
    START_PATH,
    AppImage,
    UnknownApp,
    get_app,
    start_script,
)
from cove.images.apps.recipes import (
    GATE_PATH,
    ITEMS,
    ITEMS_PATH,
    ITEMS_WEB,
    POSTGRES,
    POSTGRES_PATH,
    app_file,
    app_recipe,
    gate_script,
)
from cove.images.recipe import DEFAULT_TRIM, RecipeFile


@pytest.fixture(params=sorted(APPS))
def app(request: pytest.FixtureRequest) -> AppImage:
    return APPS[request.param]


def test_the_registry_has_the_services_a_deployment_needs() -> None:
    assert {"mariadb", "keystone", "memcached", "rabbitmq", "etcd", "postgres", "items"} <= set(
        APPS
    )


def test_every_app_starts_through_cove_start_and_its_gate(app: AppImage) -> None:
    recipe = app.recipe
    start, gate, *_ = recipe.files
    assert (start.path, start.mode, start.content) == (START_PATH, 0o755, start_script())
    assert (gate.path, gate.mode, gate.content) == (GATE_PATH, 0o755, gate_script())
    assert start.content.startswith("#!/usr/bin/python3\n")
    assert gate.content.startswith("#!/usr/bin/python3\n")
    assert recipe.entrypoint == (START_PATH,)
    assert "python3" in recipe.packages
    assert CONFIG_DIR in recipe.directories
    assert dict(recipe.env)["KOLLA_CONFIG_STRATEGY"] == "COPY_ALWAYS"
    assert (recipe.suite, recipe.variant, recipe.os_distro) == ("bookworm", "minbase", "debian")
    assert recipe.version_package in recipe.packages
    assert image_tag(recipe) == f"cove/app-{app.name}:{content_hash(recipe)}"


def test_tags_are_stable_and_distinct() -> None:
    tags = {name: image_tag(app.recipe) for name, app in APPS.items()}
    again = {name: image_tag(get_app(name).recipe) for name in APPS}
    assert tags == again
    assert len(set(tags.values())) == len(tags)


def test_the_tag_changes_with_the_packages_and_the_start_program() -> None:
    base = app_recipe("x", ("etcd-server",), "etcd-server")
    assert content_hash(app_recipe("x", ("etcd-server",), "etcd-server")) == content_hash(base)
    assert content_hash(app_recipe("x", ("etcd-server", "jq"), "etcd-server")) != content_hash(base)
    start, gate = base.files
    edited = replace(base, files=(replace(start, content=start.content + "\n"), gate))
    assert content_hash(edited) != content_hash(base)


def test_an_unknown_app_names_the_known_ones() -> None:
    with pytest.raises(UnknownApp, match="no app image named 'nova'; known: etcd, items, keystone"):
        get_app("nova")


def test_each_sample_config_is_valid(app: AppImage) -> None:
    start: dict[str, Any] = runpy.run_path(_script_path())
    start["validate_config"](app.sample_config, "config.json")
    for entry in app.sample_config.get("config_files", []):
        name = entry["source"].removeprefix(f"{CONFIG_DIR}/")
        assert name in app.sample_files, f"{app.name}: {name} is not a sample file"
    assert app.health


def _script_path() -> str:
    from cove.images.apps import start

    return start.__file__


def _files(app: AppImage) -> dict[str, RecipeFile]:
    return {f.path: f for f in app.recipe.files}


def test_postgres_is_debians_server_started_by_cove_postgres() -> None:
    recipe = POSTGRES.recipe
    assert "postgresql-15" in recipe.packages and recipe.version_package == "postgresql-15"
    script = _files(POSTGRES)[POSTGRES_PATH]
    assert script.mode == 0o755 and script.content == app_file("postgres.sh")
    assert script.content.startswith("#!/bin/sh\n")
    assert subprocess.run(["sh", "-n"], input=script.content, text=True).returncode == 0
    # The cluster the package's postinst made at build time is not shipped: data is a volume's.
    assert {"var/lib/postgresql", "etc/postgresql"} <= set(recipe.trim)
    assert set(DEFAULT_TRIM) <= set(recipe.trim)
    assert POSTGRES.health == ("pg_isready", "-q")


def test_items_ships_the_api_the_page_and_nginx_in_one_image() -> None:
    recipe = ITEMS.recipe
    assert {"python3-psycopg2", "nginx-light"} <= set(recipe.packages)
    files = _files(ITEMS)
    program = files[ITEMS_PATH]
    assert program.mode == 0o755 and program.content == app_file("items.py")
    assert program.content.startswith("#!/usr/bin/python3\n")
    page = files[f"{ITEMS_WEB}/index.html"]
    assert page.mode == 0o644 and 'fetch("/api/items"' in page.content
    assert "/api/health" in " ".join(ITEMS.health)


def test_the_three_tier_package_runs_only_these_images() -> None:
    from cove.images.apps import refs
    from cove.services.deployments import package

    images = package("three-tier").images
    assert [refs.repository(i) for i in images] == ["cove/app-postgres", "cove/app-items"]
    assert all(refs.known(i) for i in images)
