"""``cove up`` and ``cove down``: from nothing to a working swarm cluster in one command, and
back. Every step looks before it acts, so ``up`` run again finds what the last one made.

``up`` prints only the client configuration's export line on stdout (progress goes to
stderr), so ``eval "$(cove up)"`` leaves the shell pointed at the cluster. What ``up`` made
(the service it started, the template it created) is recorded in ``<state_dir>/up.json``, so
``down`` removes that and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from cove.cli import waiting
from cove.cli.client import ApiError, CliError, CoveClient, Unreachable
from cove.cli.options import get_client

if TYPE_CHECKING:
    from cove.settings import Settings  # imported lazily: see cove.cli.main

TEMPLATE = "cove-swarm"
FLAVOR = "m1.small"
SERVICE_START_TIMEOUT = 30.0
HEALTH_TIMEOUT = 60.0


def _say(message: str) -> None:
    click.echo(f"cove up: {message}", err=True)


def _settings() -> Settings:
    from cove.settings import load_settings

    root = click.get_current_context().find_root()
    return load_settings((root.obj or {}).get("config"))


class UpState:
    """``<state_dir>/up.json``: what ``up`` made, for ``down``."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.state_dir / "up.json"
        self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.write_text(json.dumps(self.data, indent=2))


def ensure_engine(settings: Settings) -> str:
    from cove.cli import node_image
    from cove.images import ImageBuildError

    try:
        return node_image.engine_version(settings)
    except ImageBuildError as exc:
        raise CliError(
            f"{exc} (a Debian machine can run the repository's scripts/docker-engine.sh, or "
            "`apt-get install docker.io` and start dockerd); then run `cove up` again"
        ) from None


def ensure_node_image(settings: Settings) -> Any:
    """Build (or find, 15 ms when cached) the node image and register it in the database."""
    from cove.cli import node_image
    from cove.images import ImageBuildError

    try:
        built = node_image.ensure_node_image(settings, log=_say)
    except ImageBuildError as exc:
        raise CliError(str(exc)) from None
    node_image.register(settings, built)
    return built


def _answers(client: CoveClient) -> bool:
    try:
        client.request("GET", "/", timeout=2)
        return True
    except Unreachable:
        return False


def ensure_service(client: CoveClient, settings: Settings, state: UpState) -> None:
    """Start ``cove serve`` in the background on --url's port unless something answers."""
    if _answers(client):
        return
    parts = urlsplit(client.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 9511
    log = settings.state_dir / "serve.log"
    log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = (click.get_current_context().find_root().obj or {}).get("config")
    argv = [sys.executable, "-m", "cove", *(["--config", str(config)] if config else [])]
    argv += ["serve", "--host", host, "--port", str(port)]
    with log.open("ab") as out:
        # The service inherits this whole environment on purpose: its settings (COVE_*, such
        # as COVE_DOCKER_HOST) reach it as they reached this command.
        process = subprocess.Popen(
            argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )
    state.data["service"] = {"pid": process.pid, "url": client.url}
    state.save()
    _say(f"started cove serve on {client.url} (pid {process.pid}, log {log})")
    # Waiting for a socket to open has no event to wait on: look every 50 ms, bounded.
    deadline = time.monotonic() + SERVICE_START_TIMEOUT
    while not _answers(client):
        if process.poll() is not None or time.monotonic() > deadline:
            raise CliError(f"cove serve did not start; see {log}")
        time.sleep(0.05)


def _get(client: CoveClient, path: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = client.get(path)
        return found
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def ensure_template(client: CoveClient, state: UpState, image_ref: str) -> None:
    image = _get(client, "images/swarm-mode-debian")
    if image is None:
        # A service on another database: register the node image through the API.
        client.post(
            "images",
            {"name": "swarm-mode-debian", "os_distro": "debian", "node_image": image_ref,
             "public": True},
        )  # fmt: skip
    if _get(client, f"clustertemplates/{TEMPLATE}") is not None:
        return
    client.post(
        "clustertemplates",
        {
            "name": TEMPLATE,
            "coe": "swarm-mode",
            "image_id": "swarm-mode-debian",
            "external_network_id": "public",
            "master_flavor_id": FLAVOR,
            "flavor_id": FLAVOR,
        },
    )
    state.data.setdefault("templates", []).append(TEMPLATE)
    state.save()
    _say(f"created template {TEMPLATE}")


def ensure_cluster(
    client: CoveClient, name: str, masters: int, workers: int, flavor: str | None = None
) -> None:
    current = _get(client, f"clusters/{name}")
    if current is None:
        body: dict[str, Any] = {
            "name": name,
            "cluster_template_id": TEMPLATE,
            "master_count": masters,
            "node_count": workers,
            "master_lb_enabled": masters > 1,
        }
        if flavor is not None:  # the cluster's own, over the template's (as Magnum has it)
            body |= {"flavor_id": flavor, "master_flavor_id": flavor}
        client.post("clusters", body)
        current = client.get(f"clusters/{name}")
        _say(f"creating cluster {name}: {masters} manager(s), {workers} worker(s)")
    status = str(current.get("status"))
    if status.endswith("_FAILED"):
        raise CliError(
            f"cluster {name} is {status}: {current.get('status_reason')}. "
            f"Remove it with `cove down --name {name}` and run `cove up` again."
        )
    if waiting.in_progress(status):
        waiting.wait_for_cluster(client, current, since=0, action="create")
    wait_healthy(client, name)


def wait_healthy(client: CoveClient, name: str) -> None:
    """Until the conductor's health check (run as an operation completes) says HEALTHY,
    following the cluster's events; bounded, and a cluster that stays unhealthy is named."""
    current = client.get(f"clusters/{name}")
    uuid, health = current["uuid"], current.get("health_status")
    since = waiting.last_event_id(client, uuid)
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while health != "HEALTHY":
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            reason = client.get(f"clusters/{uuid}").get("health_status_reason")
            raise CliError(f"cluster {name} is {health}: {reason}; see `cove cluster nodes {name}`")
        body = client.events(uuid, since, wait=min(remaining, waiting.LONG_POLL))
        for event in body.get("events", []):
            _say(str(event["message"]))
            since = int(event["id"])
        health = body.get("health_status")
    _say(f"cluster {name} is HEALTHY")


@click.command()
@click.option("--name", default="cove", show_default=True, help="the cluster's name")
@click.option("--masters", type=click.IntRange(1, 5), default=1, show_default=True)
@click.option("--workers", type=click.IntRange(0, 100), default=2, show_default=True)
@click.option(
    "--flavor",
    default=None,
    help=f"the nodes' flavor (`cove flavor list`), over the template's {FLAVOR}",
)
@click.pass_context
def up(ctx: click.Context, name: str, masters: int, workers: int, flavor: str | None) -> None:
    """From nothing to a working swarm cluster: checks the Docker engine, builds the node
    image if missing, starts `cove serve` if none answers at --url, creates template
    cove-swarm and the cluster, waits, writes the client configuration and prints its
    export line (only that, on stdout).

    \b
    eval "$(cove up)"
    docker node ls
    """
    from cove.cli.commands import clusters

    settings = _settings()
    _say(f"Docker engine {ensure_engine(settings)}")
    built = ensure_node_image(settings)
    _say(f"node image {built.ref}")
    client = get_client()
    state = UpState(settings)
    ensure_service(client, settings, state)
    ensure_template(client, state, built.ref)
    ensure_cluster(client, name, masters, workers, flavor)
    ctx.invoke(clusters.config, cluster=name, directory=None, force=True)
    _say(f'ready: run `eval "$(cove cluster config {name} --force)"` in other shells')


@click.command()
@click.option("--name", default="cove", show_default=True, help="the cluster's name")
@click.option("--keep-service", is_flag=True, help="leave the service `up` started running")
def down(name: str, keep_service: bool) -> None:
    """Remove what `cove up` made: the cluster (waiting until it is gone), the template
    if `up` created it and nothing else uses it, and the service if `up` started it."""
    settings = _settings()
    state = UpState(settings)
    client = get_client()
    reachable = _answers(client)
    if reachable and (current := _get(client, f"clusters/{name}")) is not None:
        if current.get("status") != "DELETE_IN_PROGRESS":
            client.delete(f"clusters/{current['uuid']}")
        waiting.wait_for_cluster(client, current, since=0, action="delete", deleting=True)
    for template in list(state.data.get("templates", [])):
        if not reachable:
            break
        try:
            if _get(client, f"clustertemplates/{template}") is not None:
                client.delete(f"clustertemplates/{template}")
            state.data["templates"].remove(template)
            click.echo(f"deleted template {template}", err=True)
        except ApiError as exc:  # still used by another cluster: keep it
            click.echo(f"kept template {template}: {exc.message}", err=True)
    shutil.rmtree(Path.home() / ".cove" / "clusters" / name, ignore_errors=True)
    service = state.data.get("service")
    if service and not keep_service:
        _stop(int(service["pid"]))
        state.data.pop("service")
        click.echo(f"stopped cove serve (pid {service['pid']})", err=True)
    state.save()


def _stop(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the service ``up`` started (if that pid is still a cove), then SIGKILL."""
    try:
        if b"cove" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return  # gone, and the pid reused by something else
    except OSError:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
