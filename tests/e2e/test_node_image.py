"""The swarm-mode node image against the real engine: built from Debian packages with the
labels the catalog needs, found again without a rebuild, and a node container started from it
runs an inner Docker engine (cgroup parent per node, or daemon.json when cove writes one) that
can load an image and run a container. Registration in the image catalog is an upsert."""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from cove.cli.main import cli
from cove.db import migrate, models
from cove.db.session import make_engine, make_session_factory, transaction
from cove.drivers.swarm_mode.image import (
    CATALOG_NAME,
    INIT_PATH,
    ensure_node_image,
    node_image_tag,
)
from cove.images import BuiltImage
from cove.images.debian import apt_mirror
from cove.services.catalog import register_node_image
from cove.settings import Settings
from tests.e2e.conftest import StartNode, docker, wait_inner_engine


def test_image_exists_with_labels(node_image: BuiltImage) -> None:
    assert node_image.ref == node_image_tag()
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", node_image.ref))
    labels = config["Labels"]
    assert labels["os_distro"] == "debian" == node_image.os_distro
    assert labels["cove.image"] == "node"
    assert labels["cove.image.version"] == node_image.version
    assert node_image.version.startswith("20.10"), node_image.version  # bookworm's docker.io
    assert config["Entrypoint"] == [INIT_PATH]
    size = int(docker("image", "inspect", "--format", "{{.Size}}", node_image.ref))
    print(f"\nnode image {node_image.ref}: {size / 1e6:.0f} MB, docker.io {node_image.version}")


def test_second_ensure_is_a_cached_lookup(node_image: BuiltImage) -> None:
    started = time.monotonic()
    settings = Settings()
    again = ensure_node_image(settings.state_dir, docker_host=settings.docker_host)
    elapsed = time.monotonic() - started
    print(f"\ncached ensure_node_image: {elapsed * 1000:.0f} ms")
    assert again == replace(node_image, created=False)
    assert elapsed < 2.0
    # This image's build root is deleted after the import (app images may be building beside).
    build_root = Settings().state_dir / "images" / f"rootfs-{node_image.ref.rsplit(':', 1)[1]}"
    assert not build_root.exists()


def _run_inner(node: str, *argv: str) -> str:
    return docker("exec", node, "docker", "run", "--rm", *argv)


def _inner_cgroup_paths(node: str, image: str) -> set[str]:
    lines = _run_inner(node, image, "cat", "/proc/self/cgroup").splitlines()
    return {line.split(":", 2)[2] for line in lines}


def test_nodes_run_an_inner_engine_and_containers(
    start_node: StartNode, busybox_image: str
) -> None:
    # Two nodes side by side: each gets its own cgroup parent, so their containers coexist.
    started = time.monotonic()
    nodes = [start_node(), start_node()]
    with ThreadPoolExecutor(2) as pool:
        waits = list(pool.map(wait_inner_engine, nodes))
    ready = time.monotonic() - started
    print(f"\ntwo nodes: engines answer {ready:.2f}s after docker create (waits {waits})")

    for node in nodes:
        init = docker("exec", node, "cat", "/proc/1/cmdline").replace("\0", " ")
        assert f"--cgroup-parent=/cove-{node}" in init
        loaded = subprocess.run(
            f"docker save {busybox_image} | docker exec -i {node} docker load",
            shell=True,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert loaded.returncode == 0, loaded.stderr
        assert _run_inner(node, busybox_image, "echo", f"hello from {node}") == f"hello from {node}"
        paths = _inner_cgroup_paths(node, busybox_image) - {"/"}
        assert paths, "expected cgroup paths (cgroup v1 or host cgroup namespace)"
        assert all(p.startswith(f"/cove-{node}/") for p in paths), paths
        # A long-running inner container in each node at the same time.
        docker("exec", node, "docker", "run", "-d", "--name", "idle", busybox_image, "sleep", "60")
    for node in nodes:
        state = docker("exec", node, "docker", "inspect", "--format", "{{.State.Running}}", "idle")
        assert state == "true"


def test_node_uses_daemon_json(start_node: StartNode, busybox_image: str) -> None:
    parent = "/cove-e2e-custom-parent"
    config = {"cgroup-parent": parent, "labels": ["cove.test.config=daemon-json"]}
    node = start_node(files={"/etc/docker/daemon.json": json.dumps(config).encode()})
    wait_inner_engine(node)
    labels = docker("exec", node, "docker", "info", "--format", "{{json .Labels}}")
    assert json.loads(labels) == ["cove.test.config=daemon-json"]
    init = docker("exec", node, "cat", "/proc/1/cmdline").replace("\0", " ")
    assert "--cgroup-parent" not in init  # the file says it; a flag too would be refused
    subprocess.run(
        f"docker save {busybox_image} | docker exec -i {node} docker load",
        shell=True,
        check=True,
        capture_output=True,
        timeout=120,
    )
    paths = _inner_cgroup_paths(node, busybox_image) - {"/"}
    assert paths and all(p.startswith(f"{parent}/") for p in paths), paths


def test_register_node_image_upserts(db_url: str, node_image: BuiltImage, make_api: object) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    for version in (node_image.version, "0.0-test"):
        with transaction(factory) as session:
            register_node_image(
                session,
                name=CATALOG_NAME,
                node_image=node_image.ref,
                os_distro=node_image.os_distro,
                version=version,
            )
    with transaction(factory) as session:
        count = session.scalar(
            select(func.count()).select_from(models.Image).where(models.Image.name == CATALOG_NAME)
        )
        row = session.scalar(select(models.Image).where(models.Image.name == CATALOG_NAME))
        assert count == 1
        assert row is not None
        assert (row.os_distro, row.node_image, row.public, row.project_id) == (
            "debian",
            node_image.ref,
            True,
            "",
        )
        assert row.properties == {"version": "0.0-test"}
    engine.dispose()
    # Any project sees it in the catalog, so templates can name it as image_id.
    api = make_api().as_project("some-project")  # type: ignore[operator]
    shown = api.get(f"/v1/images/{CATALOG_NAME}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["os_distro"] == "debian"


def test_cli_image_build_registers(node_image: BuiltImage, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(cli, ["image", "build", "--db", url])
    assert result.exit_code == 0, result.output
    assert node_image.ref in result.output
    assert CATALOG_NAME in result.output
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        refs = list(session.scalars(select(models.Image.node_image)))
    engine.dispose()
    assert refs == [node_image.ref]


def test_cli_image_build_without_engine(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["image", "build", "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        env={"COVE_DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"},
    )
    assert result.exit_code == 1
    assert "scripts/docker-engine.sh" in result.output


def test_cli_image_build_ignores_the_shells_docker_host(
    node_image: BuiltImage, tmp_path: Path
) -> None:
    """After `eval "$(cove up)"` DOCKER_HOST points at a cluster: cove's own engine is still
    this machine's (COVE_DOCKER_HOST, default the local socket)."""
    result = CliRunner().invoke(
        cli,
        ["image", "build", "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        env={"DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"},
    )
    assert result.exit_code == 0, result.output
    assert f"found {node_image.ref}" in result.output


def test_apt_mirror_reads_both_source_formats(tmp_path: Path) -> None:
    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "Types: deb deb-src\n# a comment\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main contrib\n"
    )
    assert apt_mirror("bookworm", [deb822]) == "http://mirror.example/debian"
    one_line = tmp_path / "sources.list"
    one_line.write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://other.example/debian bookworm main\n"
    )
    assert apt_mirror("bookworm", [one_line]) == "http://other.example/debian"
