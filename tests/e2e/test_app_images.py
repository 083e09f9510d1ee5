"""An application image against the real engine: the etcd image (the smallest) is built from
Debian packages (a cached look-up after the first time), and a container from it, given only
a bind-mounted config.json and the file it names, follows Kolla's start contract: the file is
copied into place with the owner and mode asked, etcd replaces cove-start as the container's
first process (so ``docker stop`` reaches it) and answers ``etcdctl endpoint health``. A
container without a config.json stops at once with the reason."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from cove.images import BuiltImage
from cove.images.apps import CONFIG_DIR, START_PATH, ensure_app_image
from cove.settings import Settings
from tests.e2e.conftest import docker, label_args

ETCD_CONF = """\
name: e2e
data-dir: /var/lib/etcd/e2e
listen-client-urls: http://0.0.0.0:2379
advertise-client-urls: http://127.0.0.1:2379
listen-peer-urls: http://127.0.0.1:2380
logger: zap
"""


@pytest.fixture(scope="module")
def etcd_image(docker_engine: None) -> BuiltImage:
    settings = Settings()
    started = time.monotonic()
    built = ensure_app_image(
        "etcd", settings.state_dir, docker_host=settings.docker_host, log=print
    )
    print(
        f"\netcd app image {built.ref}: {time.monotonic() - started:.1f}s (created {built.created})"
    )
    return built


def _logs(name: str) -> str:
    result = subprocess.run(
        ["docker", "logs", name], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout + result.stderr


def _health(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "docker",
            "exec",
            name,
            "etcdctl",
            "--endpoints=http://127.0.0.1:2379",
            "endpoint",
            "health",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_etcd_starts_through_the_kolla_contract(
    etcd_image: BuiltImage, e2e_labels: dict[str, str], tmp_path: Path
) -> None:
    config_dir = tmp_path / "config_files"
    config_dir.mkdir()
    (config_dir / "etcd.conf.yml").write_text(ETCD_CONF)
    (config_dir / "config.json").write_text(
        json.dumps(
            {
                "command": "setpriv --reuid=etcd --regid=etcd --init-groups "
                "etcd --config-file /etc/etcd/e2e.yml",
                "config_files": [
                    {
                        "source": f"{CONFIG_DIR}/etcd.conf.yml",
                        "dest": "/etc/etcd/e2e.yml",
                        "owner": "etcd:etcd",
                        "perm": "0600",
                    }
                ],
                "permissions": [{"path": "/var/lib/etcd", "owner": "etcd", "perm": "0700"}],
            }
        )
    )
    name = f"cove-e2e-etcd-{uuid.uuid4().hex[:6]}"
    docker(
        "run",
        "-d",
        f"--name={name}",
        *label_args(e2e_labels),
        f"--volume={config_dir}:{CONFIG_DIR}:ro",
        etcd_image.ref,
    )
    try:
        deadline = time.monotonic() + 60
        while (health := _health(name)).returncode != 0:
            if time.monotonic() > deadline:
                logs = _logs(name)
                pytest.fail(f"etcd did not answer: {health.stderr}\n{logs}")
            time.sleep(0.5)
        assert "is healthy" in health.stdout + health.stderr

        placed = docker("exec", name, "stat", "-c", "%a %U:%G", "/etc/etcd/e2e.yml")
        assert placed == "600 etcd:etcd"
        assert docker("exec", name, "cat", "/etc/etcd/e2e.yml") == ETCD_CONF.strip()
        assert docker("exec", name, "stat", "-c", "%a %U", "/var/lib/etcd") == "700 etcd"
        assert docker("exec", name, "cat", "/proc/1/comm") == "etcd"  # exec'd, not a child
        assert docker("exec", name, "stat", "-c", "%u", "/proc/1") != "0"  # privileges dropped
        logs = _logs(name)
        assert "cove-start: copying /var/lib/kolla/config_files/etcd.conf.yml" in logs

        started = time.monotonic()
        docker("stop", "--time=20", name)
        assert time.monotonic() - started < 10  # SIGTERM reached etcd; no kill after 20 s
        assert docker("inspect", "--format", "{{.State.ExitCode}}", name) == "0"
    finally:
        docker("rm", "-f", name, check=False)


def test_without_config_json_the_container_stops_with_the_reason(
    etcd_image: BuiltImage, e2e_labels: dict[str, str]
) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", etcd_image.ref))
    assert config["Entrypoint"] == [START_PATH]
    result = subprocess.run(
        ["docker", "run", "--rm", *label_args(e2e_labels), etcd_image.ref],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"{CONFIG_DIR}/config.json does not exist" in result.stderr
