"""The generic builder without an engine: what it lays over a debootstrapped root, the image
configuration it imports with, and a cache hit that builds nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cove.images import ImageRecipe, RecipeFile, builder, content_hash, ensure_image, rootfs
from cove.images.docker_cli import DockerCli
from cove.images.rootfs import add_users, lay_over

RECIPE = ImageRecipe(
    repository="cove/test",
    name="test",
    suite="bookworm",
    packages=("a",),
    os_distro="debian",
    version_package="a",
    directories=("/etc/docker",),
    files=(RecipeFile("/usr/local/bin/init", "#!/bin/sh\n", mode=0o755),),
    env=(("PATH", "/bin"),),
    entrypoint=("/usr/local/bin/init",),
)


def test_lay_over_trims_cleans_apt_and_writes_the_recipe(tmp_path: Path) -> None:
    (tmp_path / "usr/share/doc/pkg").mkdir(parents=True)
    (tmp_path / "usr/share/doc/pkg/README").write_text("x")
    (tmp_path / "usr/share/doc/link").symlink_to("pkg")
    (tmp_path / "var/cache/apt/archives").mkdir(parents=True)
    (tmp_path / "var/cache/apt/archives/a.deb").write_text("deb")
    (tmp_path / "var/cache/apt/archives/lock").write_text("")
    (tmp_path / "var/lib/apt/lists/partial").mkdir(parents=True)
    (tmp_path / "var/lib/apt/lists/index").write_text("list")

    lay_over(RECIPE, tmp_path)

    assert list((tmp_path / "usr/share/doc").iterdir()) == []
    assert [p.name for p in (tmp_path / "var/cache/apt/archives").iterdir()] == ["lock"]
    assert [p.name for p in (tmp_path / "var/lib/apt/lists").iterdir()] == ["partial"]
    assert (tmp_path / "etc/docker").is_dir()
    init = tmp_path / "usr/local/bin/init"
    assert init.read_text() == "#!/bin/sh\n"
    assert init.stat().st_mode & 0o777 == 0o755


def test_add_users_creates_only_the_missing_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        "root:x:0:0::/root:/bin/sh\netcd:x:100:100::/:/bin/false\n"
    )
    calls: list[list[str]] = []
    monkeypatch.setattr(rootfs, "run_command", lambda argv, **kw: calls.append(list(argv)))

    add_users(replace(RECIPE, users=("etcd", "keystone")), tmp_path)

    assert calls == [
        [
            "chroot",
            str(tmp_path),
            "useradd",
            "--system",
            "--user-group",
            "--home-dir=/var/lib/keystone",
            "--no-create-home",
            "--shell=/usr/sbin/nologin",
            "keystone",
        ]
    ]


def test_image_changes_label_and_configure_the_image() -> None:
    assert builder.image_changes(RECIPE, "abc", "1.0") == [
        "LABEL os_distro=debian",
        "LABEL cove.image=test",
        "LABEL cove.image.version=1.0",
        "LABEL cove.image.hash=abc",
        "ENV PATH=/bin",
        'ENTRYPOINT ["/usr/local/bin/init"]',
    ]


def test_an_existing_image_is_found_not_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked: list[tuple[str, str]] = []

    def inspect(self: DockerCli, ref: str) -> dict[str, Any]:
        asked.append((self.docker_host, ref))
        return {"Config": {"Labels": {"os_distro": "debian", "cove.image.version": "1.0"}}}

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged recipe must not be built again")

    monkeypatch.setattr(DockerCli, "inspect_image", inspect)
    monkeypatch.setattr(builder, "debootstrap", no_build)
    monkeypatch.setattr(DockerCli, "import_tree", no_build)

    found = ensure_image(RECIPE, tmp_path, docker_host="unix:///test.sock")

    ref = f"cove/test:{content_hash(RECIPE)}"
    assert found == builder.BuiltImage(ref=ref, os_distro="debian", version="1.0", created=False)
    assert asked == [("unix:///test.sock", ref)]
    assert not (tmp_path / "images").exists()
