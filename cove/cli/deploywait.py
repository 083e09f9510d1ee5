"""Following a deployment's operation (deploy, update, undeploy) with live progress on stderr.

As for clusters (``waiting``), the loop is a long poll on the deployment's event log
(``GET …/deployments/{d}/events?since=N&wait=S``): the conductor records each change of
progress as an event, and the answer carries the status and the progress, so no request is
made on a timer. On a terminal: the elements' table (state and what each waits on, or why
it fails) under a spinner, events scrolling above; piped: one line per event. It ends when
the status leaves *_IN_PROGRESS, or with 404 after an undeploy. Ctrl-C stops the waiting
only; the operation goes on in the conductor.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

import click
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from cove.cli.client import ApiError, CoveClient
from cove.cli.waiting import (
    LONG_POLL,
    Interrupted,
    LiveProgress,
    event_time,
    in_progress,
    settled,
)

# The states the conductor gives: services waiting (at their gate), starting, ready, failing,
# updating (rolling out a change); tasks waiting, running, done, failed.
STATE_STYLES = {
    "waiting": "cyan",
    "starting": "yellow",
    "running": "yellow",
    "updating": "yellow",
    "ready": "green",
    "done": "green",
    "failing": "red",
    "failed": "red",
}
FINISHED = frozenset({"ready", "done"})


def elements(progress: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(name, state, detail) of each element, in the order the conductor gives them."""
    return [
        (name, str(p.get("state", "")), str(p.get("detail", "")))
        for name, p in progress.items()
        if isinstance(p, Mapping)
    ]


def ready_count(progress: Mapping[str, Any]) -> tuple[int, int]:
    rows = elements(progress)
    return sum(1 for _, state, _ in rows if state in FINISHED), len(rows)


class Display(Protocol):
    def __enter__(self) -> Display: ...
    def __exit__(self, *exc: object) -> None: ...
    def event(self, event: Mapping[str, Any]) -> None: ...
    def state(self, body: Mapping[str, Any]) -> None: ...


class PlainDisplay:
    """Lines on stderr for logs and pipes: each event (a change of progress is one), and the
    status when it changes."""

    def __init__(self, name: str) -> None:
        self.name, self.last = name, ""

    def __enter__(self) -> PlainDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def event(self, event: Mapping[str, Any]) -> None:
        level = event.get("level", "info")
        prefix = "" if level == "info" else f"{level}: "
        click.echo(f"{event_time(event)} {prefix}{event.get('message', '')}", err=True)

    def state(self, body: Mapping[str, Any]) -> None:
        ready, total = ready_count(body.get("progress") or {})
        line = f"{self.name}: {body.get('status')}"
        if total:
            line += f", {ready}/{total} ready"
        if line != self.last:
            click.echo(line, err=True)
            self.last = line


def progress_table(progress: Mapping[str, Any], *, only_unready: bool = False) -> Table:
    table = Table(box=None, pad_edge=False, show_header=False)
    for name, state, detail in elements(progress):
        if only_unready and state in FINISHED:
            continue
        table.add_row(f"  {name}", Text(state, STATE_STYLES.get(state, "")), detail)
    return table


class LiveDisplay(LiveProgress):
    """A deployment's operation: its status, a bar of elements ready and their table."""

    def state(self, body: Mapping[str, Any]) -> None:
        progress = body.get("progress") or {}
        ready, total = ready_count(progress)
        self.progress.update(
            self.task,
            description=f"{self.name} {body.get('status')}",
            total=total or None,
            completed=ready,
            count=f"{ready}/{total} ready" if total else "",
        )
        self.progress.table = progress_table(progress)


def _print_err(renderable: RenderableType) -> None:
    """To stderr: as rich lays it out, without trailing blanks when piped."""
    console = Console(stderr=True, highlight=False, markup=False, emoji=False)
    if console.is_terminal:
        console.print(renderable)
        return
    console = Console(highlight=False, markup=False, emoji=False, width=4096)
    with console.capture() as captured:
        console.print(renderable)
    for line in captured.get().splitlines():
        click.echo(line.rstrip(), err=True)


def _display(name: str) -> Display:
    if Console(stderr=True).is_terminal:
        return LiveDisplay(name)
    return PlainDisplay(name)


def last_event_id(client: CoveClient, cluster: str, deployment: str) -> int:
    """The id of the deployment's newest event, read before an update so that only the
    update's own events are shown."""
    since = 0
    while True:
        events = client.deployment_events(cluster, deployment, since)["events"]
        if not events:
            return since
        since = int(events[-1]["id"])


def follow(
    client: CoveClient,
    cluster: str,
    deployment: Mapping[str, Any],
    *,
    since: int,
    action: str,
    deleting: bool = False,
) -> dict[str, Any] | None:
    """Show the operation's progress until the deployment leaves *_IN_PROGRESS; return the
    deployment as it ends (None once undeployed).

    Raises:
        OperationFailed: it ended *_FAILED: the reason, the elements not ready shown first.
        Interrupted: Ctrl-C; the operation goes on.
    """
    uuid, name = str(deployment["uuid"]), str(deployment.get("name") or deployment["uuid"])
    body: dict[str, Any] = dict(deployment)
    started = time.monotonic()
    try:
        with _display(name) as display:
            while True:
                body = client.deployment_events(cluster, uuid, since, wait=LONG_POLL)
                for event in body.get("events", []):
                    display.event(event)
                    since = int(event["id"])
                display.state(body)
                if not in_progress(body.get("status")):
                    # Events recorded between the answer's events and its status.
                    for event in client.deployment_events(cluster, uuid, since)["events"]:
                        display.event(event)
                    break
        current: dict[str, Any] | None = client.get(f"clusters/{cluster}/deployments/{uuid}")
    except ApiError as exc:
        if exc.status != 404:
            raise
        current = None
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped waiting; the {action} of deployment {name} continues. Follow it with "
            f"`cove deployment events {cluster} {name} --follow`."
        ) from None
    return settled(
        f"deployment {name}", current, deleting=deleting, started=started, on_failure=_unready
    )


def _unready(deployment: Mapping[str, Any]) -> None:
    """The elements a failed deployment left short of ready."""
    unready = progress_table(deployment.get("progress") or {}, only_unready=True)
    if unready.row_count:
        _print_err(unready)
