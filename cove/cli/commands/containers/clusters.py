"""The container cluster commands of ``cove containers`` (Senlin's clusters): create, list,
show, delete, scale-out, scale-in, resize, check, recover and nodes. Every command that
starts an action waits for it (``progress.wait``) unless --no-wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from cove.cli import completion
from cove.cli.client import ApiError, CoveClient, OperationFailed
from cove.cli.commands.containers import api, progress
from cove.cli.options import compact, get_client, no_wait_option
from cove.cli.output import output_options, print_list, print_object

LIST_COLUMNS = ("id", "name", "status", "desired_capacity", "min_size", "max_size", "profile_name")
MEMBER_COLUMNS = ("name", "status", "host_node", "container")
NODE_COLUMNS = ("name", "status", "host_node", "address", "physical_id")

cluster_argument = click.argument("cluster", shell_complete=completion.container_clusters)


def members(client: CoveClient, cluster_id: str) -> list[dict[str, Any]]:
    """The cluster's nodes as rows: where each runs, and its container."""
    rows = []
    for node in api.collect(client, "nodes", "nodes", cluster_id=cluster_id):
        placed = progress.placement(node)
        rows.append(
            {
                "id": node["id"],
                "name": node["name"],
                "status": node["status"],
                "host_node": placed.get("host_node"),
                "container": placed.get("container"),
                "host_cluster": placed.get("host_cluster"),
                "physical_id": node.get("physical_id"),
                "status_reason": node.get("status_reason"),
            }
        )
    return rows


def print_cluster(client: CoveClient, ident: str, fmt: str, columns: tuple[str, ...] = ()) -> None:
    """The cluster with its members: a ``members`` list in JSON and YAML, a table of them
    under the cluster's fields in a table."""
    cluster = client.get(f"clusters/{ident}")["cluster"]
    rows = members(client, cluster["id"])
    shown = [{k: row[k] for k in ("id", *MEMBER_COLUMNS)} for row in rows]
    if fmt != "table" or columns:
        print_object({**cluster, "members": shown}, fmt, columns)
        return
    print_object({k: v for k, v in cluster.items() if k != "nodes"}, fmt)
    click.echo()
    print_list(shown, MEMBER_COLUMNS, fmt)


def follow_hint(name: str) -> str:
    return f"cove containers actions {name}"


def act(
    ident: str,
    send: Callable[[CoveClient, str], str],
    *,
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Start an action on a cluster (``send(client, cluster_id)`` returns the action's id),
    wait for it unless ``no_wait``, then print the cluster."""
    client = api.client()
    cluster = client.get(f"clusters/{ident}")["cluster"]
    before = {} if no_wait else progress.members_now(client, cluster["id"])
    action_id = send(client, cluster["id"])
    click.echo(f"cluster {cluster['name']}: action {api.short(action_id)} accepted", err=True)
    if not no_wait:
        follow = follow_hint(cluster["name"])
        progress.wait(client, action_id, cluster=cluster["id"], follow=follow, before=before)
    print_cluster(client, cluster["id"], fmt, columns)


def cluster_action(name: str, data: dict[str, Any]) -> Callable[[CoveClient, str], str]:
    """A sender of ``POST clusters/<id>/actions {name: data}``."""

    def send(client: CoveClient, cluster_id: str) -> str:
        action_id, _ = api.write(client, "POST", f"clusters/{cluster_id}/actions", {name: data})
        return action_id

    return send


@click.command("create")
@click.argument("name")
@click.option(
    "--profile",
    required=True,
    shell_complete=completion.container_profiles,
    help="the profile of its members (name or id)",
)
@click.option("--size", type=click.IntRange(min=0), help="members to make (desired capacity)")
@click.option("--min", "min_size", type=click.IntRange(min=0), help="fewest members")
@click.option("--max", "max_size", type=click.IntRange(min=-1), help="most members (-1: no limit)")
@click.option("--timeout", type=click.IntRange(min=0), metavar="SECONDS", help="action timeout")
@no_wait_option
@output_options
def create(
    name: str,
    profile: str,
    size: int | None,
    min_size: int | None,
    max_size: int | None,
    timeout: int | None,
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Create container cluster NAME and wait until its members run."""
    client = api.client()
    body = compact(
        name=name,
        profile_id=profile,
        desired_capacity=size,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
    )
    action_id, answer = api.write(client, "POST", "clusters", {"cluster": body})
    cluster = answer["cluster"]
    click.echo(f"cluster {name} ({cluster['id']}): create accepted", err=True)
    if not no_wait:
        progress.wait(client, action_id, cluster=cluster["id"], follow=follow_hint(name))
    print_cluster(client, cluster["id"], fmt, columns)


@click.command("list")
@output_options
def list_(fmt: str, columns: tuple[str, ...]) -> None:
    """List container clusters."""
    print_list(api.collect(api.client(), "clusters", "clusters"), LIST_COLUMNS, fmt, columns)


@click.command("show")
@cluster_argument
@output_options
def show(cluster: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a container cluster and its members (name, status, host node, container)."""
    print_cluster(api.client(), cluster, fmt, columns)


@click.command("delete")
@click.argument("clusters", nargs=-1, required=True, shell_complete=completion.container_clusters)
@no_wait_option
def delete(clusters: tuple[str, ...], no_wait: bool) -> None:
    """Delete container clusters (their containers too), waiting until they are gone."""
    client = api.client()
    refused = 0
    for ident in clusters:
        try:
            action_id, _ = api.write(client, "DELETE", f"clusters/{ident}")
            click.echo(f"cluster {ident}: delete accepted", err=True)
            if not no_wait:
                progress.wait(client, action_id, cluster=None, follow=follow_hint(ident))
        except (ApiError, OperationFailed) as exc:
            exc.show()
            refused += 1
    if refused:
        raise click.exceptions.Exit(1)


def _count_command(name: str, action: str, doc: str) -> click.Command:
    @click.command(name, help=doc)
    @cluster_argument
    @click.option("--count", type=click.IntRange(min=1), help="how many (default: by policy, or 1)")
    @no_wait_option
    @output_options
    def command(
        cluster: str, count: int | None, no_wait: bool, fmt: str, columns: tuple[str, ...]
    ) -> None:
        send = cluster_action(action, compact(count=count))
        act(cluster, send, no_wait=no_wait, fmt=fmt, columns=columns)

    return command


scale_out = _count_command("scale-out", "scale_out", "Add members to a container cluster.")
scale_in = _count_command(
    "scale-in",
    "scale_in",
    "Remove members from a container cluster (as its deletion policy picks).",
)


@click.command("resize")
@cluster_argument
@click.option("--capacity", type=click.IntRange(min=0), help="to exactly this many members")
@click.option("--adjust", type=int, metavar="+N|-N", help="by this many members more or fewer")
@click.option("--percent", type=float, metavar="P", help="by this percentage (+ or -)")
@click.option("--min-step", type=click.IntRange(min=0), help="with --percent: at least this many")
@click.option(
    "--strict/--no-strict",
    default=None,
    help="refuse a size outside min and max (default) or clip it",
)
@click.option("--min", "min_size", type=click.IntRange(min=0), help="new fewest members")
@click.option("--max", "max_size", type=click.IntRange(min=-1), help="new most members (-1: none)")
@no_wait_option
@output_options
def resize(
    cluster: str,
    capacity: int | None,
    adjust: int | None,
    percent: float | None,
    min_step: int | None,
    strict: bool | None,
    min_size: int | None,
    max_size: int | None,
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Resize a container cluster: --capacity, --adjust or --percent, and/or --min, --max."""
    given = {
        "EXACT_CAPACITY": capacity,
        "CHANGE_IN_CAPACITY": adjust,
        "CHANGE_IN_PERCENTAGE": percent,
    }
    chosen = [(kind, number) for kind, number in given.items() if number is not None]
    if len(chosen) > 1:
        raise click.UsageError("give one of --capacity, --adjust and --percent")
    if min_step is not None and percent is None:
        raise click.UsageError("--min-step goes with --percent")
    if not chosen and min_size is None and max_size is None:
        raise click.UsageError("give --capacity, --adjust, --percent, --min or --max")
    kind, number = chosen[0] if chosen else (None, None)
    data = compact(
        adjustment_type=kind,
        number=number,
        min_step=min_step,
        strict=strict,
        min_size=min_size,
        max_size=max_size,
    )
    act(cluster, cluster_action("resize", data), no_wait=no_wait, fmt=fmt, columns=columns)


@click.command("check")
@cluster_argument
@no_wait_option
@output_options
def check(cluster: str, no_wait: bool, fmt: str, columns: tuple[str, ...]) -> None:
    """Check each member's container; members whose container is gone turn ERROR."""
    act(cluster, cluster_action("check", {}), no_wait=no_wait, fmt=fmt, columns=columns)


@click.command("recover")
@cluster_argument
@click.option(
    "--operation",
    type=click.Choice(("RECREATE", "REBOOT"), case_sensitive=False),
    help="how to recover (default: the health policy's, else RECREATE)",
)
@click.option("--check", "check_first", is_flag=True, default=None, help="check the members first")
@no_wait_option
@output_options
def recover(
    cluster: str,
    operation: str | None,
    check_first: bool | None,
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Recover the members in ERROR: recreate (or restart) their containers."""
    data = compact(operation=operation.upper() if operation else None, check=check_first)
    act(cluster, cluster_action("recover", data), no_wait=no_wait, fmt=fmt, columns=columns)


def _addresses(host_cluster: str) -> dict[str, str]:
    """The host nodes' addresses, from cove's node list of the host cluster (empty when it
    cannot be read: the rows are still worth printing)."""
    try:
        found = get_client().get(f"clusters/{host_cluster}/nodes")["nodes"]
    except ApiError:
        return {}
    return {n["name"]: n.get("address") or "" for n in found}


@click.command("nodes")
@cluster_argument
@output_options
def nodes(cluster: str, fmt: str, columns: tuple[str, ...]) -> None:
    """List a container cluster's members: status, host node and its address, container."""
    client = api.client()
    uuid = client.get(f"clusters/{cluster}")["cluster"]["id"]
    rows = members(client, uuid)
    addresses: dict[str, dict[str, str]] = {}
    for row in rows:
        host = row["host_cluster"]
        if host and host not in addresses:
            addresses[host] = _addresses(host)
        row["address"] = addresses.get(host or "", {}).get(row["host_node"] or "", "")
        if fmt == "table" and row["physical_id"]:
            row["physical_id"] = row["physical_id"][:12]  # as docker ps shows it
    print_list(rows, NODE_COLUMNS, fmt, columns)


COMMANDS = (create, list_, show, delete, scale_out, scale_in, resize, check, recover, nodes)
