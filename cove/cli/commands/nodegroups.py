"""``cove nodegroup``: a cluster's node groups (/v1/clusters/{cluster}/nodegroups)."""

from __future__ import annotations

from typing import Any

import click

from cove.cli import completion
from cove.cli.commands.clusters import run_operation
from cove.cli.options import (
    compact,
    get_client,
    labels_option,
    no_wait_option,
    parse_labels,
    patch_document,
    patch_options,
)
from cove.cli.output import output_options, print_list, print_object

LIST_COLUMNS = ("uuid", "name", "role", "node_count", "flavor_id", "status", "is_default")


@click.group("nodegroup")
def nodegroup() -> None:
    """A cluster's node groups: nodes of one role and flavor.

    default-master and default-worker exist in every cluster. Name node groups and
    clusters by name or uuid.

    Create and delete change the cluster and wait for it, as cluster commands do.
    """


def _path(cluster: str, group: str | None = None) -> str:
    return f"clusters/{cluster}/nodegroups" + (f"/{group}" if group else "")


@nodegroup.command("create")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("name")
@click.option("--node-count", type=click.IntRange(min=0), help="nodes (default 1)")
@click.option("--role", help="role of the nodes (default worker)")
@click.option("--flavor", help="flavor (default: the cluster's)")
@click.option("--image", help="image (default: the cluster template's)")
@click.option("--min-nodes", type=click.IntRange(min=0), help="smallest size")
@click.option("--max-nodes", type=click.IntRange(min=0), help="largest size")
@labels_option
@no_wait_option
@output_options
def create(
    cluster: str,
    name: str,
    labels: tuple[str, ...],
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
    **fields: Any,
) -> None:
    """Add node group NAME to CLUSTER."""
    client = get_client()
    body = compact(
        name=name,
        node_count=fields["node_count"],
        role=fields["role"],
        flavor_id=fields["flavor"],
        image_id=fields["image"],
        min_node_count=fields["min_nodes"],
        max_node_count=fields["max_nodes"],
        labels=parse_labels(labels),
    )
    run_operation(
        client,
        cluster,
        f"create of node group {name}",
        lambda u: client.post(_path(u), body),
        no_wait=no_wait,
    )
    print_object(client.get(_path(cluster, name)), fmt, columns)


@nodegroup.command("list")
@click.argument("cluster", shell_complete=completion.clusters)
@output_options
def list_(cluster: str, fmt: str, columns: tuple[str, ...]) -> None:
    """List a cluster's node groups."""
    print_list(get_client().collect(_path(cluster), "nodegroups"), LIST_COLUMNS, fmt, columns)


@nodegroup.command("show")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("nodegroup")
@output_options
def show(cluster: str, nodegroup: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a node group."""
    print_object(get_client().get(_path(cluster, nodegroup)), fmt, columns)


@nodegroup.command("update")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("nodegroup")
@patch_options
@output_options
def update(
    cluster: str,
    nodegroup: str,
    sets: tuple[str, ...],
    unsets: tuple[str, ...],
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Change a node group's limits, node labels or taints.

    min_node_count, max_node_count, node_labels and node_taints may change; resize it with
    `cove cluster resize CLUSTER N --nodegroup NG`.
    """
    ops = patch_document(sets, unsets)
    print_object(get_client().patch(_path(cluster, nodegroup), ops), fmt, columns)


@nodegroup.command("delete")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("nodegroup")
@no_wait_option
def delete(cluster: str, nodegroup: str, no_wait: bool) -> None:
    """Delete a node group and its nodes."""
    client = get_client()
    run_operation(
        client,
        cluster,
        f"delete of node group {nodegroup}",
        lambda u: client.delete(_path(u, nodegroup)),
        no_wait=no_wait,
    )
