"""``cove serve`` as a real process for tests that drive it over HTTP (the real clients,
Keystone mode): a fresh SQLite database, the ``InstantDriver`` test driver (os_distro
``instant``, every cluster operation completes at once), a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.keystone import free_port

ROOT = Path(__file__).resolve().parents[2]
COVE = Path(sys.executable).with_name("cove")
READY_TIMEOUT = 20.0


def toml(settings: dict[str, Any]) -> str:
    """A cove config file: top-level settings, then tables (``keystone_authtoken``)."""

    def value(item: Any) -> str:
        return "true" if item is True else "false" if item is False else f'"{item}"'

    plain = [
        f"{key} = {value(item)}" for key, item in settings.items() if not isinstance(item, dict)
    ]
    tables = [
        f"[{key}]\n" + "\n".join(f"{k} = {value(v)}" for k, v in item.items())
        for key, item in settings.items()
        if isinstance(item, dict)
    ]
    return "\n".join(plain) + "\n\n" + "\n\n".join(tables) + "\n"


@contextmanager
def serve(workdir: Path, config: dict[str, Any] | None = None, db: str = "") -> Iterator[str]:
    """Run ``cove serve`` (with ``config`` as its config file, on database ``db``, default a
    new SQLite file) until the block ends; yield its base URL once it answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_file = workdir / "cove.toml"
    config_file.write_text(toml(config or {}))
    env = dict(os.environ)
    env["COVE_EXTRA_DRIVERS"] = "tests.support.drivers:InstantDriver"
    env["COVE_STATE_DIR"] = str(workdir / "state")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    db = db or f"sqlite:///{workdir / 'cove.db'}"
    argv = [
        str(COVE), "--config", str(config_file), "serve",
        "--host", "127.0.0.1", "--port", str(port), "--db", db,
    ]  # fmt: skip
    stderr = workdir / "stderr.log"
    with (workdir / "stdout.log").open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, stderr)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], stderr: Path) -> None:
    """``GET /`` (public in every auth mode) until it answers, bounded by READY_TIMEOUT."""
    deadline = time.monotonic() + READY_TIMEOUT
    delay = 0.05
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"cove serve exited with {proc.returncode} before answering:\n"
                f"{stderr.read_text(errors='replace')}"
            )
        try:
            httpx.get(f"{url}/", timeout=2)
            return
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    proc.terminate()
    raise RuntimeError(
        f"cove serve did not answer {url} within {READY_TIMEOUT} s ({last}):\n"
        f"{stderr.read_text(errors='replace')}"
    )
