"""Fixtures for the CLI suite: the real ``cove`` command against a real ``cove serve``.

One server per session (so one per pytest-xdist worker) on a free loopback port, with its own
SQLite database and state directory, and two test drivers: ``instant`` (every operation
completes at once) and ``slow`` (a create takes the cluster's ``slow_seconds`` label). The
catalog objects and templates the tests share are made through the CLI itself.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from tests.support.server import COVE, serve

DRIVERS = "tests.support.drivers:InstantDriver,tests.cli.drivers:SlowDriver"
CALL_TIMEOUT = 60.0


def unique(prefix: str) -> str:
    """A name no other test uses, valid as a cluster name."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@dataclass
class Result:
    """What a user sees after running one command."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"$ {shlex.join(self.argv)}\n[exit {self.returncode}]\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except ValueError:
            pytest.fail(f"stdout is not JSON\n{self.describe()}")

    def yaml(self) -> Any:
        return yaml.safe_load(self.stdout)

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    def fields(self) -> dict[str, str]:
        """A ``show`` table (field, value; continuation lines indented) as a dict."""
        fields: dict[str, str] = {}
        last = ""
        for line in self.stdout.splitlines()[2:]:
            if line[:1].strip():
                last, _, value = line.partition(" ")
                fields[last] = value.strip()
            elif last:
                fields[last] += "\n" + line.strip()
        assert fields, f"no field/value table\n{self.describe()}"
        return fields


@dataclass
class Cove:
    """Runs the installed ``cove`` executable as a user would, aimed at the test server."""

    url: str
    env: dict[str, str]

    def argv(self, command: str | list[str]) -> list[str]:
        args = shlex.split(command) if isinstance(command, str) else command
        return [str(COVE), *args]

    def __call__(
        self,
        command: str | list[str],
        *,
        code: int | None = 0,
        env: dict[str, str] | None = None,
        timeout: float = CALL_TIMEOUT,
    ) -> Result:
        """Run one command; assert its exit code unless ``code`` is None."""
        argv = self.argv(command)
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
            check=False,
        )
        result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
        if code is not None:
            assert result.returncode == code, f"expected exit {code}\n{result.describe()}"
        return result

    def json(self, command: str) -> Any:
        return self(f"{command} -f json").json()

    def popen(self, command: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )


class Api:
    """Direct API reads, to check what the CLI did independently of the CLI."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.headers = {"OpenStack-API-Version": "container-infra latest"}

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}/v1/{path}", headers=self.headers, timeout=10)

    def settled(self, cluster: str, timeout: float = 20.0) -> dict[str, Any]:
        """The cluster once its status no longer ends in _IN_PROGRESS (bounded backoff)."""
        deadline, delay = time.monotonic() + timeout, 0.05
        while True:
            body = self.get(f"clusters/{cluster}").json()
            if not str(body.get("status", "")).endswith("_IN_PROGRESS"):
                return dict(body)
            if time.monotonic() > deadline:
                pytest.fail(f"cluster {cluster} still {body.get('status')} after {timeout} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def gone(self, cluster: str, timeout: float = 20.0) -> None:
        deadline, delay = time.monotonic() + timeout, 0.05
        while self.get(f"clusters/{cluster}").status_code != 404:
            if time.monotonic() > deadline:
                pytest.fail(f"cluster {cluster} still there after {timeout} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _clean_env() -> dict[str, str]:
    """The caller's environment without anything that would steer cove or add a token."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("COVE_", "OS_"))}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a ``cove serve`` started for this session (this xdist worker)."""
    workdir = tmp_path_factory.mktemp("cove-serve")
    with serve(workdir, drivers=DRIVERS, env={"COVE_HEALTH_INTERVAL": "3600"}) as url:
        yield url


@pytest.fixture(scope="session")
def cove(server: str, tmp_path_factory: pytest.TempPathFactory) -> Cove:
    env = _clean_env()
    env["COVE_URL"] = server
    env["HOME"] = str(tmp_path_factory.mktemp("home"))
    env["NO_COLOR"] = "1"
    return Cove(server, env)


@pytest.fixture(scope="session")
def api(server: str) -> Api:
    return Api(server)


@pytest.fixture(scope="session")
def world(cove: Cove) -> dict[str, str]:
    """Images for each driver (and one no driver serves) and a template on each, made with
    ``cove image create`` and ``cove template create``."""
    names = {"instant": "instant-image", "slow": "slow-image", "nodriver": "nodriver-image"}
    for distro, image in names.items():
        cove(f"image create {image} --os-distro {distro}")
    common = "--coe swarm-mode --external-network public --flavor m1.small"
    cove(f"template create tpl --image instant-image {common}")
    cove(f"template create slow-tpl --image slow-image {common}")
    cove(f"template create broken-tpl --image nodriver-image {common}")
    cove(f"template create plain-tpl --image instant-image --tls-disabled {common}")
    return {"template": "tpl", "slow": "slow-tpl", "broken": "broken-tpl", "plain": "plain-tpl"}


@pytest.fixture
def cluster(cove: Cove, world: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A CREATE_COMPLETE cluster of the instant driver (1 master, 1 worker), deleted after."""
    name = unique("c")
    body = cove.json(f"cluster create {name} --template {world['template']}")
    yield body
    cove(f"cluster delete {body['uuid']} --no-wait", code=None)
