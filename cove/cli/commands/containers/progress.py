"""Following a clustering action until it ends, with its progress on stderr: the action's
status as it changes and each member of the cluster as its status changes (ACTIVE, ERROR …)
with the host node it was placed on.

The clustering API has no long poll (Senlin's has none either, and cove's events long poll
covers its own clusters, not container clusters), so the action is read again after a short
pause, growing from 0.1 s to 1 s while nothing changes and back to 0.1 s when something does.
Ctrl-C stops the waiting only: nothing is sent, the action goes on in the conductor.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import click
from rich.console import Console
from rich.status import Status

from cove.cli.client import ApiError, CoveClient, OperationFailed
from cove.cli.commands.containers import api
from cove.cli.waiting import Interrupted

DONE = ("SUCCEEDED", "FAILED", "CANCELLED")
FIRST_PAUSE, LONGEST_PAUSE = 0.1, 1.0


class Lines:
    """Progress lines on stderr; on a terminal, under them a spinner with the last status."""

    def __init__(self) -> None:
        console = Console(stderr=True, highlight=False, markup=False, emoji=False)
        self.live: Status | None = Status("", console=console) if console.is_terminal else None

    def __enter__(self) -> Lines:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def line(self, text: str) -> None:
        if self.live is not None:
            self.live.console.print(text)
        else:
            click.echo(text, err=True)

    def status(self, text: str) -> None:
        if self.live is not None:
            self.live.update(text)


def placement(node: Mapping[str, Any]) -> Mapping[str, Any]:
    data = node.get("data") or {}
    found = data.get("placement") if isinstance(data, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _members(client: CoveClient, cluster: str) -> list[dict[str, Any]]:
    try:
        return api.collect(client, "nodes", "nodes", cluster_id=cluster)
    except ApiError as exc:
        if exc.status != 404:  # a deleted cluster has no members to show
            raise
        return []


def _shown(node: Mapping[str, Any]) -> str:
    return f"{node['status']} {placement(node).get('host_node') or ''}".rstrip()


def members_now(client: CoveClient, cluster: str) -> dict[str, tuple[str, str]]:
    """Each member's name and shown state, read before an action starts: the wait then
    prints only what the action changes."""
    return {n["id"]: (n["name"], _shown(n)) for n in _members(client, cluster)}


def wait(
    client: CoveClient,
    action_id: str,
    *,
    cluster: str | None,
    follow: str,
    before: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Show the action's progress until it ends; return it.

    ``cluster``: the container cluster whose members to show (its id), or None.
    ``follow``: the command that shows the action later, named when Ctrl-C stops the wait.
    ``before``: the members as ``members_now`` read them before the action.

    Raises:
        OperationFailed: the action ended FAILED or CANCELLED (its status_reason says why).
        Interrupted: Ctrl-C; the action goes on.
    """
    started, pause = time.monotonic(), FIRST_PAUSE
    seen: dict[str, tuple[str, str]] = dict(before or {})
    status = ""
    try:
        with Lines() as out:
            while True:
                action = client.get(f"actions/{action_id}")["action"]
                changed = action["status"] != status
                if changed:
                    status = action["status"]
                    if status not in DONE:  # the end is said once, below
                        out.line(f"{action['action']} {status}")
                if cluster is not None:
                    now = {n["id"]: (n["name"], _shown(n)) for n in _members(client, cluster)}
                    for ident, (name, shown) in now.items():
                        if seen.get(ident) != (name, shown):
                            out.line(f"  {name} {shown}")
                    for ident in seen.keys() - now.keys():
                        out.line(f"  {seen[ident][0]} removed")
                    changed = changed or now != seen
                    seen = now
                    active = sum(shown.startswith("ACTIVE") for _, shown in seen.values())
                    out.status(f"{action['action']} {status}: {active} member(s) ACTIVE")
                else:
                    out.status(f"{action['action']} {status}")
                if status in DONE:
                    break
                pause = FIRST_PAUSE if changed else min(pause * 2, LONGEST_PAUSE)
                time.sleep(pause)
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped waiting; action {api.short(action_id)} continues. Follow it with `{follow}`."
        ) from None
    elapsed = time.monotonic() - started
    if status != "SUCCEEDED":
        reason = action.get("status_reason") or "no reason given"
        raise OperationFailed(f"{action['action']} {status}: {reason}")
    click.echo(f"{action['action']} {status} ({elapsed:.0f}s)", err=True)
    return dict(action)
