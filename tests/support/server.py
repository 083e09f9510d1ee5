"""cove as real processes for tests that drive it over HTTP (the CLI, the real clients,
Keystone mode): ``cove serve``, or ``cove api`` and ``cove conductor`` apart, on a fresh
SQLite database by default, with the ``InstantDriver`` test driver (os_distro ``instant``,
every cluster operation completes at once) and a free loopback port."""

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
READY_TIMEOUT = 60.0  # a bound, not a wait: a loaded 2-core machine took over 20 s to start it


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


INSTANT = "tests.support.drivers:InstantDriver"


@contextmanager
def serve(
    workdir: Path,
    config: dict[str, Any] | None = None,
    db: str | None = "",
    *,
    command: str = "serve",
    drivers: str = INSTANT,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Run ``cove serve`` (or ``command``: ``api``) with ``config`` as its config file, on
    database ``db`` (default a new SQLite file in ``workdir``; None: cove's own default, in
    its state directory ``workdir/state``), until the block ends; yield its base URL once it
    answers. ``env``: more of the process's environment; ``args``: more of the command's
    options (``--workers 2``). Its output goes to
    ``workdir/<command>.stdout.log`` and ``.stderr.log``."""
    port = free_port()
    argv = ["--host", "127.0.0.1", "--port", str(port), *args]
    with _running(workdir, command, argv, config, db, drivers, env) as (proc, stderr):
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, proc, stderr)
        yield url


@contextmanager
def conductor(
    workdir: Path, db: str, *, drivers: str = INSTANT, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cove conductor`` on ``db`` until the block ends."""
    with _running(workdir, "conductor", [], None, db, drivers, env) as (proc, _):
        yield proc


@contextmanager
def _running(
    workdir: Path,
    command: str,
    argv: list[str],
    config: dict[str, Any] | None,
    db: str | None,
    drivers: str,
    env: dict[str, str] | None,
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / f"{command}.toml"
    config_file.write_text(toml(config or {}))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COVE_", "OS_"))}
    environ["COVE_EXTRA_DRIVERS"] = drivers
    environ["COVE_STATE_DIR"] = str(workdir / "state")
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    environ.update(env or {})
    if db is not None:
        argv = [*argv, "--db", db or f"sqlite:///{workdir / 'cove.db'}"]
    full = [str(COVE), "--config", str(config_file), command, *argv]
    stderr = workdir / f"{command}.stderr.log"
    with (workdir / f"{command}.stdout.log").open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(full, stdout=out, stderr=err, env=environ, cwd=workdir)
    try:
        yield proc, stderr
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
