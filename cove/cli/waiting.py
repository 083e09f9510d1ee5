"""Waiting for a cluster operation, with live progress on stderr.

The wait is a loop on the events long poll (``GET /v1/clusters/{id}/events?since=N&wait=S``
answers at once when an event above ``since`` exists, else when one arrives or ``wait``
passes), so no request is made on a timer. It ends when the cluster leaves *_IN_PROGRESS,
or answers 404 after a delete. Ctrl-C stops the waiting only: nothing is sent to the API,
and the operation carries on in the conductor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import IO, Any, Protocol, Self

import click
from rich.console import Console, RenderableType
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cove.cli import nodes
from cove.cli.client import ApiError, CliError, CoveClient, OperationFailed

LONG_POLL = 30.0  # seconds the server may hold one events request
PAGE = 1000  # the API's largest events page
LEVEL_STYLES = {"warning": "yellow", "error": "red"}


class Interrupted(CliError):
    """Ctrl-C while waiting: exit 130, saying how to follow the operation still running."""

    exit_code = 130

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"interrupted: {self.format_message()}", err=True)


def in_progress(status: str | None) -> bool:
    return bool(status) and str(status).endswith("_IN_PROGRESS")


def event_time(event: Mapping[str, Any]) -> str:
    try:
        return datetime.fromisoformat(str(event["time"])).astimezone().strftime("%H:%M:%S")
    except (KeyError, ValueError):
        return "--:--:--"


def last_event_id(client: CoveClient, cluster: str) -> int:
    """The id of the cluster's newest event (0 for none), read before starting an operation
    so that only the operation's own events are shown."""
    since = 0
    while True:
        events = client.events(cluster, since, limit=PAGE)["events"]
        if events:
            since = int(events[-1]["id"])
        if len(events) < PAGE:
            return since


def follow_events(client: CoveClient, cluster: str, since: int) -> Iterator[dict[str, Any]]:
    """Yield each long-poll answer (events plus the cluster's status) for ever; the caller
    stops. A deleted cluster ends it with ApiError 404."""
    while True:
        body = client.events(cluster, since, wait=LONG_POLL)
        if body.get("events"):
            since = int(body["events"][-1]["id"])
        yield body


class Display(Protocol):
    def __enter__(self) -> Display: ...
    def __exit__(self, *exc: object) -> None: ...
    def event(self, event: Mapping[str, Any]) -> None: ...
    def cluster(self, cluster: Mapping[str, Any]) -> None: ...


class PlainDisplay:
    """Lines on stderr, for logs and pipes: each event, and the status when it changes."""

    def __init__(self, cluster: Mapping[str, Any], show_nodes: bool) -> None:
        self.name = cluster.get("name") or cluster.get("uuid")
        self.show_nodes = show_nodes
        self.last = ""

    def __enter__(self) -> PlainDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def event(self, event: Mapping[str, Any]) -> None:
        level = event.get("level", "info")
        prefix = "" if level == "info" else f"{level}: "
        click.echo(f"{event_time(event)} {prefix}{event.get('message', '')}", err=True)

    def cluster(self, cluster: Mapping[str, Any]) -> None:
        line = f"{self.name}: {cluster.get('status')}"
        if self.show_nodes:
            line += f", {nodes.up_count(cluster)}/{nodes.expected_count(cluster)} nodes up"
        if line != self.last:
            click.echo(line, err=True)
            self.last = line


class _TableProgress(Progress):
    """A progress bar with a table under it."""

    table: Table | None = None

    def get_renderables(self) -> Iterator[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.table is not None:
            yield self.table


class LiveProgress:
    """For a terminal: events scroll above a spinner, a description, a bar with its count
    and a table under it (a cluster's nodes, a deployment's elements)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.console = Console(stderr=True, highlight=False, markup=False, emoji=False)
        self.progress = _TableProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.task = self.progress.add_task(name, total=None, count="")

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def event(self, event: Mapping[str, Any]) -> None:
        text = Text(f"{event_time(event)} ", style="dim")
        text.append(str(event.get("message", "")), style=LEVEL_STYLES.get(event.get("level", "")))
        self.progress.console.print(text)


class LiveDisplay(LiveProgress):
    """A cluster's operation: its status, a bar of nodes up and a table of each node's state
    (once the health monitor has looked)."""

    def __init__(self, cluster: Mapping[str, Any], show_nodes: bool) -> None:
        super().__init__(str(cluster.get("name") or cluster.get("uuid")))
        self.show_nodes = show_nodes

    def cluster(self, cluster: Mapping[str, Any]) -> None:
        description = f"{self.name} {cluster.get('status')}"
        if not self.show_nodes:
            self.progress.update(self.task, description=description)
            return
        total, up = nodes.expected_count(cluster), nodes.up_count(cluster)
        self.progress.update(
            self.task,
            description=description,
            total=total or None,
            completed=min(up, total),
            count=f"{up}/{total} nodes",
        )
        rows = [r for r in nodes.node_rows(cluster) if r["ready"]]
        if rows:
            table = Table(box=None, pad_edge=False, show_header=False)
            for row in rows:
                style = "green" if row["ready"] == "true" else "red"
                table.add_row(
                    f"  {row['name']}", row["role"], Text(row["ready"], style), row["reason"]
                )
            self.progress.table = table


def _display(cluster: Mapping[str, Any], show_nodes: bool) -> Display:
    if Console(stderr=True).is_terminal:
        return LiveDisplay(cluster, show_nodes)
    return PlainDisplay(cluster, show_nodes)


def wait_for_cluster(
    client: CoveClient,
    cluster: Mapping[str, Any],
    *,
    since: int,
    action: str,
    deleting: bool = False,
) -> dict[str, Any] | None:
    """Show the operation's progress until the cluster leaves *_IN_PROGRESS; return the
    cluster as it ends (None once deleted).

    Raises:
        OperationFailed: the cluster ended in a *_FAILED status (its status_reason says why).
        Interrupted: Ctrl-C; the operation goes on.
    """
    uuid, name = str(cluster["uuid"]), str(cluster.get("name") or cluster["uuid"])
    current: dict[str, Any] | None = dict(cluster)
    started = time.monotonic()
    try:
        with _display(cluster, show_nodes=not deleting) as display:
            status = ""  # the first answer always reads the cluster
            while True:
                body = client.events(uuid, since, wait=LONG_POLL)
                for event in body.get("events", []):
                    display.event(event)
                    since = int(event["id"])
                new_status = body.get("status")
                if body.get("events") or new_status != status or not new_status:
                    current = client.get(f"clusters/{uuid}")
                    display.cluster(current)
                    new_status = current.get("status")
                status = str(new_status)
                if not in_progress(status):
                    # Events recorded between the long poll's answer and the cluster's read.
                    for event in client.events(uuid, since).get("events", []):
                        display.event(event)
                    break
    except ApiError as exc:
        if exc.status != 404:
            raise
        current = None
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped waiting; the {action} of cluster {name} continues. Follow it with "
            f"`cove cluster show {name}` or `cove cluster events {name} --follow`."
        ) from None
    return settled(f"cluster {name}", current, deleting=deleting, started=started)


def settled(
    what: str,
    current: dict[str, Any] | None,
    *,
    deleting: bool,
    started: float,
    on_failure: Callable[[Mapping[str, Any]], None] | None = None,
) -> dict[str, Any] | None:
    """How a followed operation ended, said on stderr: ``current`` is the object as it
    ends (None: gone, which only a delete expects); a *_FAILED status raises with its
    reason, after ``on_failure`` shows what it can."""
    elapsed = time.monotonic() - started
    if current is None:
        if not deleting:
            raise OperationFailed(f"{what} no longer exists")
        click.echo(f"{what} deleted ({elapsed:.0f}s)", err=True)
        return None
    status = str(current.get("status"))
    if status.endswith("_FAILED"):
        if on_failure is not None:
            on_failure(current)
        reason = current.get("status_reason") or "no reason given"
        raise OperationFailed(f"{what} {status}: {reason}")
    click.echo(f"{what} {status} ({elapsed:.0f}s)", err=True)
    return current
