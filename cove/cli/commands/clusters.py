"""``cove cluster``: clusters (/v1/clusters), their events, nodes and client configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from cove.cli import completion, nodes, waiting
from cove.cli.client import ApiError, CliError, CoveClient, OperationFailed
from cove.cli.options import (
    compact,
    get_client,
    labels_option,
    no_wait_option,
    parse_labels,
)
from cove.cli.output import output_options, print_list, print_object

LIST_COLUMNS = ("uuid", "name", "status", "health_status", "master_count", "node_count")
EVENT_COLUMNS = ("id", "time", "level", "message")
DOCKER_COES = ("swarm", "swarm-mode")


@click.group("cluster")
def cluster() -> None:
    """Clusters: create, resize, upgrade, delete; events, nodes, client config.

    Name a cluster by name or uuid.

    Create, delete, resize and upgrade wait until the operation ends, showing its events and
    the nodes on stderr; --no-wait returns at once. Ctrl-C stops the waiting, not the
    operation.
    """


def run_operation(
    client: CoveClient,
    ident: str,
    action: str,
    send: Any,
    *,
    no_wait: bool,
    fmt: str | None = None,
    columns: tuple[str, ...] = (),
) -> None:
    """Send an action to a cluster (``send(uuid)``), wait for it unless ``no_wait``, then
    print the cluster in ``fmt`` (when given)."""
    current = client.get(f"clusters/{ident}")
    uuid = current["uuid"]
    since = 0 if no_wait else waiting.last_event_id(client, uuid)
    send(uuid)
    click.echo(f"cluster {current['name']}: {action} accepted", err=True)
    deleting = action == "delete"
    if no_wait:
        result = None if deleting else client.get(f"clusters/{uuid}")
    else:
        result = waiting.wait_for_cluster(
            client, current, since=since, action=action, deleting=deleting
        )
    if result is not None and fmt is not None:
        print_object(result, fmt, columns)


@cluster.command("create")
@click.argument("name")
@click.option(
    "--template", required=True, help="cluster template", shell_complete=completion.templates
)
@click.option("--master-count", type=click.IntRange(min=1), help="masters/managers")
@click.option("--node-count", type=click.IntRange(min=0), help="workers")
@click.option("--master-flavor", help="flavor of the masters (default: the template's)")
@click.option("--flavor", help="flavor of the workers (default: the template's)")
@click.option("--keypair", help="key pair (default: the template's)")
@labels_option
@click.option(
    "--merge-labels", is_flag=True, default=None, help="add --labels to the template's labels"
)
@click.option("--timeout", type=click.IntRange(min=0), metavar="MINUTES", help="create timeout")
@click.option("--fixed-network", help="network for the nodes")
@click.option("--fixed-subnet", help="subnet of the fixed network")
@click.option("--docker-volume-size", type=click.IntRange(min=1), help="GB per node's engine")
@click.option("--master-lb-enabled/--master-lb-disabled", default=None, help="load balancer")
@no_wait_option
@output_options
def create(
    name: str,
    labels: tuple[str, ...],
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
    **fields: Any,
) -> None:
    """Create cluster NAME from a template and wait until it is up."""
    client = get_client()
    body = compact(
        name=name,
        cluster_template_id=fields["template"],
        master_count=fields["master_count"],
        node_count=fields["node_count"],
        master_flavor_id=fields["master_flavor"],
        flavor_id=fields["flavor"],
        keypair=fields["keypair"],
        labels=parse_labels(labels),
        merge_labels=fields["merge_labels"],
        create_timeout=fields["timeout"],
        fixed_network=fields["fixed_network"],
        fixed_subnet=fields["fixed_subnet"],
        docker_volume_size=fields["docker_volume_size"],
        master_lb_enabled=fields["master_lb_enabled"],
    )
    uuid = client.post("clusters", body)["uuid"]
    click.echo(f"cluster {name} ({uuid}): create accepted", err=True)
    current = client.get(f"clusters/{uuid}")
    if not no_wait:
        current = waiting.wait_for_cluster(client, current, since=0, action="create") or current
    print_object(current, fmt, columns)


@cluster.command("list")
@output_options
def list_(fmt: str, columns: tuple[str, ...]) -> None:
    """List clusters."""
    print_list(get_client().collect("clusters", "clusters"), LIST_COLUMNS, fmt, columns)


@cluster.command("show")
@click.argument("cluster", shell_complete=completion.clusters)
@output_options
def show(cluster: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a cluster: status, health, addresses, labels."""
    print_object(get_client().get(f"clusters/{cluster}"), fmt, columns)


@cluster.command("delete")
@click.argument("clusters", nargs=-1, required=True, shell_complete=completion.clusters)
@no_wait_option
def delete(clusters: tuple[str, ...], no_wait: bool) -> None:
    """Delete clusters, waiting until they are gone.

    Everything made for them goes too. Deleting works in every status.
    """
    client = get_client()
    refused = 0
    for ident in clusters:
        try:
            run_operation(
                client, ident, "delete", lambda u: client.delete(f"clusters/{u}"), no_wait=no_wait
            )
        except (ApiError, OperationFailed) as exc:
            exc.show()
            refused += 1
    if refused:
        raise click.exceptions.Exit(1)


@cluster.command("resize")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("node_count", type=click.IntRange(min=0))
@click.option(
    "--nodes-to-remove",
    multiple=True,
    metavar="NODE",
    help="node to remove first when scaling in: name, swarm node id or address (repeatable)",
)
@click.option("--nodegroup", metavar="NG", help="node group to resize (default: the workers)")
@no_wait_option
@output_options
def resize(
    cluster: str,
    node_count: int,
    nodes_to_remove: tuple[str, ...],
    nodegroup: str | None,
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Set a cluster's workers (or a node group's nodes) to NODE_COUNT."""
    client = get_client()
    body = compact(
        node_count=node_count, nodes_to_remove=list(nodes_to_remove) or None, nodegroup=nodegroup
    )
    run_operation(
        client,
        cluster,
        "resize",
        lambda u: client.post(f"clusters/{u}/actions/resize", body),
        no_wait=no_wait,
        fmt=fmt,
        columns=columns,
    )


@cluster.command("upgrade")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("template", shell_complete=completion.templates)
@click.option("--max-batch-size", type=click.IntRange(min=1), help="nodes replaced at once")
@click.option("--nodegroup", metavar="NG", help="upgrade only this node group")
@no_wait_option
@output_options
def upgrade(
    cluster: str,
    template: str,
    max_batch_size: int | None,
    nodegroup: str | None,
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Move a cluster to TEMPLATE (a newer image).

    Nodes are replaced a batch at a time (managers one by one, a new one first).
    """
    client = get_client()
    body = compact(cluster_template=template, max_batch_size=max_batch_size, nodegroup=nodegroup)
    run_operation(
        client,
        cluster,
        "upgrade",
        lambda u: client.post(f"clusters/{u}/actions/upgrade", body),
        no_wait=no_wait,
        fmt=fmt,
        columns=columns,
    )


@cluster.command("config")
@click.argument("cluster", shell_complete=completion.clusters)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="where to write ca.pem, cert.pem and key.pem (default: ~/.cove/clusters/NAME)",
)
@click.option("--force", is_flag=True, help="overwrite files already there")
def config(cluster: str, directory: Path | None, force: bool) -> None:
    """Write a client certificate for a cluster; print its environment.

    The key is made here and the certificate signed by the cluster's CA. Without TLS
    (a template with tls_disabled) only DOCKER_HOST is printed.

    \b
    eval $(cove cluster config c1)
    docker node ls
    """
    from cove.cli import tlsconfig  # cryptography: only this command needs it

    client = get_client()
    current = client.get(f"clusters/{cluster}")
    name, address = current["name"], current.get("api_address")
    if not address:
        raise CliError(
            f"cluster {name} has no API address yet (status {current.get('status')}); "
            f"see `cove cluster show {name}`"
        )
    template = client.get(f"clustertemplates/{current['cluster_template_id']}")
    coe = template.get("coe")
    if coe not in (*DOCKER_COES, "kubernetes"):
        raise CliError(f"cluster config is not available for {coe} clusters")
    directory = (directory or Path.home() / ".cove" / "clusters" / name).expanduser().absolute()
    tls = not template.get("tls_disabled")
    names = (tlsconfig.FILES if tls else ()) + (
        (tlsconfig.KUBECONFIG,) if coe == "kubernetes" else ()
    )
    if (present := tlsconfig.existing(directory, names)) and not force:
        raise CliError(f"{', '.join(present)} already in {directory}; use --force to overwrite")
    files: dict[str, str] = {}
    if tls:
        key_pem, csr_pem = tlsconfig.key_and_csr()
        signed = client.post("certificates", {"cluster_uuid": current["uuid"], "csr": csr_pem})
        ca = client.get(f"certificates/{current['uuid']}")
        files = {"ca.pem": ca["pem"], "cert.pem": signed["pem"], "key.pem": key_pem}
    if coe == "kubernetes":
        files[tlsconfig.KUBECONFIG] = tlsconfig.kubeconfig(
            name, address, directory if tls else None
        )
    if files:
        tlsconfig.write(directory, files)
        click.echo(f"wrote {', '.join(files)} to {directory}", err=True)
    if coe == "kubernetes":
        click.echo(f"export KUBECONFIG={directory / tlsconfig.KUBECONFIG}")
    else:
        click.echo(tlsconfig.docker_env(address, directory if tls else None))


@cluster.command("events")
@click.argument("cluster", shell_complete=completion.clusters)
@click.option("--follow", is_flag=True, help="keep printing new events (Ctrl-C stops)")
@output_options
def events(cluster: str, follow: bool, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a cluster's event log, oldest first.

    With --follow each event is printed as it happens: a line each, JSON Lines with -f json,
    items of one YAML list with -f yaml. It ends when the cluster is deleted.
    """
    client = get_client()
    uuid = client.get(f"clusters/{cluster}")["uuid"]
    if not follow:
        items: list[dict[str, Any]] = []
        while page := client.events(uuid, items[-1]["id"] if items else 0, limit=1000)["events"]:
            items.extend(page)
        print_list(items, EVENT_COLUMNS, fmt, columns)
        return
    try:
        for body in waiting.follow_events(client, uuid, 0):
            for event in body.get("events", []):
                print_event(event, fmt, columns)
    except ApiError as exc:
        if exc.status != 404:
            raise
        click.echo(f"cluster {cluster} no longer exists", err=True)
    except KeyboardInterrupt:
        raise click.exceptions.Exit(130) from None


def print_event(event: dict[str, Any], fmt: str, columns: tuple[str, ...]) -> None:
    selected = {c: event.get(c) for c in columns} if columns else event
    if fmt == "json":
        click.echo(json.dumps(selected))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump([selected], sort_keys=False), nl=False)
    else:
        shown = columns or ("time", "level", "message")
        values = [waiting.event_time(event) if c == "time" else str(event.get(c)) for c in shown]
        click.echo(" ".join(values))


@cluster.command("nodes")
@click.argument("cluster", shell_complete=completion.clusters)
@output_options
def nodes_(cluster: str, fmt: str, columns: tuple[str, ...]) -> None:
    """List a cluster's nodes: role and readiness.

    Read from the cluster's health check, or, before the first check, the addresses its
    driver reported.
    """
    client = get_client()
    current = client.get(f"clusters/{cluster}")
    groups = client.collect(f"clusters/{current['uuid']}/nodegroups", "nodegroups")
    roles = {g["name"]: g["role"] for g in groups}
    print_list(nodes.node_rows(current, roles), nodes.COLUMNS, fmt, columns)
