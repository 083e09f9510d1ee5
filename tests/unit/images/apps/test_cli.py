"""``cove image build --app`` and ``cove image apps`` without a build: unknown names are
refused before anything is built, ``all`` means every recipe, and the listing works (built
unknown) when no engine answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cove.cli.main import cli
from cove.images import BuiltImage, image_tag
from cove.images import apps as app_images


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "COVE_STATE_DIR": str(tmp_path / "state"),
        "COVE_DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}",
    }


def test_an_unknown_app_is_refused_before_any_build(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    monkeypatch.setattr(app_images, "ensure_app_image", lambda name, *a, **kw: built.append(name))
    result = CliRunner().invoke(cli, ["image", "build", "--app", "etcd", "--app", "nova"], env=env)
    assert result.exit_code == 1
    assert "no app image named 'nova'; known: etcd, items, keystone, mariadb" in result.output
    assert built == []


def test_all_builds_every_app_and_prints_each_ref(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def ensure(name: str, *args: object, **kwargs: object) -> BuiltImage:
        ref = image_tag(app_images.APPS[name].recipe)
        return BuiltImage(ref=ref, os_distro="debian", version="1.0", created=name == "etcd")

    monkeypatch.setattr(app_images, "ensure_app_image", ensure)
    result = CliRunner().invoke(cli, ["image", "build", "--app", "all"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(app_images.APPS)
    assert f"built {image_tag(app_images.APPS['etcd'].recipe)} (etcd-server 1.0)" in lines
    assert all(line.startswith(("built ", "found ")) for line in lines)


def test_without_an_engine_the_build_names_the_fix(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["image", "build", "--app", "etcd"], env=env)
    assert result.exit_code == 1
    assert "scripts/docker-engine.sh" in result.output


def test_apps_lists_every_recipe_even_without_an_engine(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["image", "apps", "-f", "json"], env=env)
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [row["name"] for row in listed] == sorted(app_images.APPS)
    etcd = listed[0]
    assert etcd["image"] == image_tag(app_images.APPS["etcd"].recipe)
    assert etcd["built"] is None
    assert etcd["packages"] == ["etcd-server", "etcd-client"]


def test_help_names_the_app_commands() -> None:
    result = CliRunner().invoke(cli, ["image", "--help"])
    assert "\n  apps " in result.output
    build = CliRunner().invoke(cli, ["image", "build", "--help"]).output
    assert "--app NAME" in build
