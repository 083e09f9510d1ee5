"""The README's main command as a new user runs it: ``eval "$(scripts/run.sh)"`` ends with a
healthy cluster and ``docker node ls`` working through the printed line; ``cove doctor``
agrees; a second run finds everything and changes nothing; ``cove down`` removes the cluster,
the template and the service it started.

Everything runs in a temporary HOME and state directory, with cove at a free port
(``COVE_URL``), so a developer's own cove on 9511 is left alone.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cove.images import BuiltImage
from cove.providers.base import LABEL_CLUSTER
from tests.e2e.conftest import ROOT, sweep_label

COVE = Path(sys.executable).with_name("cove")
NAME = "quick"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def user_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "COVE_STATE_DIR": str(tmp_path / "state"),
        "COVE_URL": f"http://127.0.0.1:{_free_port()}",
    }
    for name in ("DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "COVE_DB"):
        env.pop(name, None)
    yield env
    # Whatever the test left: the service `up` started, and the cluster's containers.
    state = tmp_path / "state" / "up.json"
    if state.is_file() and (pid := json.loads(state.read_text()).get("service", {}).get("pid")):
        subprocess.run(["kill", str(pid)], check=False, capture_output=True)
    database = tmp_path / "state" / "cove.db"
    if database.is_file():
        with sqlite3.connect(database) as conn:
            for (cluster_uuid,) in conn.execute("SELECT uuid FROM clusters"):
                sweep_label(f"{LABEL_CLUSTER}={cluster_uuid}")


def _shell(script: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_main_command_ends_with_a_healthy_cluster_and_down_removes_it(
    node_image: BuiltImage, user_env: dict[str, str]
) -> None:
    url = user_env["COVE_URL"]
    first = _shell(
        f'eval "$(scripts/run.sh --name {NAME} --workers 1)"\n'
        "docker node ls --format '{{.Hostname}} {{.Status}}'\n"
        'echo "DOCKER_HOST=$DOCKER_HOST"',
        user_env,
    )
    assert first.returncode == 0, f"{first.stdout}\n{first.stderr}"
    rows = [line for line in first.stdout.splitlines() if not line.startswith("DOCKER_HOST=")]
    assert len(rows) == 2 and all(row.endswith(" Ready") for row in rows), first.stdout
    assert "is HEALTHY" in first.stderr, first.stderr
    docker_host = first.stdout.splitlines()[-1].split("=", 1)[1]

    shown = httpx.get(f"{url}/v1/clusters/{NAME}", timeout=10).json()
    assert shown["status"] == "CREATE_COMPLETE" and shown["health_status"] == "HEALTHY"
    assert docker_host == shown["api_address"]

    # In the shell the line pointed at the cluster, cove still uses this machine's engine.
    exports = _shell("scripts/run.sh --name quick --workers 1", user_env).stdout.strip()
    assert exports.startswith(f"export DOCKER_HOST={docker_host} "), exports
    doctor = _shell(f"{exports}\n{shlex.quote(str(COVE))} doctor", user_env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "FAIL" not in doctor.stdout and "conductor(s) up" in doctor.stdout, doctor.stdout
    assert f"node image {node_image.ref}" in doctor.stdout, doctor.stdout

    # Again: everything is found, nothing is made twice, the same line is printed.
    again = _shell(f"{shlex.quote(str(COVE))} up --name {NAME} --workers 1", user_env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().startswith(f"export DOCKER_HOST={docker_host} "), again.stdout
    assert "started cove serve" not in again.stderr and "creating cluster" not in again.stderr
    clusters = httpx.get(f"{url}/v1/clusters", timeout=10).json()["clusters"]
    assert [c["name"] for c in clusters] == [NAME]

    down = _shell(f"{shlex.quote(str(COVE))} down --name {NAME}", user_env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped cove serve" in down.stderr and "deleted template" in down.stderr
    leftovers = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={LABEL_CLUSTER}={shown['uuid']}", "-q"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert leftovers == "", leftovers
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=5)
    after = _shell(f"{shlex.quote(str(COVE))} doctor", user_env)
    assert after.returncode == 1 and "FAIL  service" in after.stdout, after.stdout
