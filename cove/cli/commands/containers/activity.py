"""``cove containers actions`` and ``cove containers events``: what the clustering service
did, of every container cluster or of one."""

from __future__ import annotations

import json
import time
from typing import Any

import click
import yaml

from cove.cli import completion
from cove.cli.client import ApiError, CoveClient
from cove.cli.commands.containers import api
from cove.cli.output import output_options, print_list

ACTION_COLUMNS = ("id", "action", "status", "status_reason", "created_at")
EVENT_COLUMNS = ("timestamp", "otype", "oname", "action", "status", "status_reason")
# --follow reads the event list again after this pause, growing while nothing comes: the
# clustering API has no long poll.
FIRST_PAUSE, LONGEST_PAUSE = 0.2, 2.0


def _cluster_id(client: CoveClient, cluster: str | None) -> str | None:
    return client.get(f"clusters/{cluster}")["cluster"]["id"] if cluster else None


@click.command("actions")
@click.argument("cluster", required=False, shell_complete=completion.container_clusters)
@output_options
def actions(cluster: str | None, fmt: str, columns: tuple[str, ...]) -> None:
    """List actions, oldest first: of CLUSTER, or of every container cluster and node."""
    client = api.client()
    found = api.collect(client, "actions", "actions", cluster_id=_cluster_id(client, cluster))
    print_list(found, ACTION_COLUMNS, fmt, columns)


def _print_event(event: dict[str, Any], fmt: str, columns: tuple[str, ...]) -> None:
    selected = {c: event.get(c) for c in columns} if columns else event
    if fmt == "json":
        click.echo(json.dumps(selected))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump([selected], sort_keys=False), nl=False)
    else:
        click.echo(" ".join(str(event.get(c) or "") for c in columns or EVENT_COLUMNS).rstrip())


@click.command("events")
@click.argument("cluster", required=False, shell_complete=completion.container_clusters)
@click.option("--follow", is_flag=True, help="keep printing new events (Ctrl-C stops)")
@output_options
def events(cluster: str | None, follow: bool, fmt: str, columns: tuple[str, ...]) -> None:
    """List events, oldest first: of CLUSTER and its members, or of everything.

    With --follow each event is printed as it comes: a line each, JSON Lines with -f json,
    items of one YAML list with -f yaml. Following a cluster ends when it is deleted.
    """
    client = api.client()
    uuid = _cluster_id(client, cluster)
    found = api.collect(client, "events", "events", cluster_id=uuid)
    if not follow:
        print_list(found, EVENT_COLUMNS, fmt, columns)
        return
    pause = FIRST_PAUSE
    marker = found[-1]["id"] if found else None
    try:
        while True:
            for event in found:
                _print_event(event, fmt, columns)
            if found:
                marker, pause = found[-1]["id"], FIRST_PAUSE
            else:
                pause = min(pause * 2, LONGEST_PAUSE)
            gone = uuid is not None and _gone(client, uuid)
            found = api.collect(client, "events", "events", cluster_id=uuid, marker=marker)
            if gone and not found:
                click.echo(f"cluster {cluster} no longer exists", err=True)
                return
            if not found:
                time.sleep(pause)
    except KeyboardInterrupt:
        raise click.exceptions.Exit(130) from None


def _gone(client: CoveClient, uuid: str) -> bool:
    try:
        client.get(f"clusters/{uuid}")
    except ApiError as exc:
        if exc.status == 404:
            return True
        raise
    return False
