"""``cove deployment``: applications on a cluster (/v1/clusters/{c}/deployments): create from a
definition file, list, show, update, delete, their events and endpoints. Create, update and
delete follow the operation live (``deploywait``) unless ``--no-wait``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from cove.cli import completion, deployargs, deploywait, endpoints
from cove.cli.client import ApiError, CoveClient
from cove.cli.commands.clusters import print_event
from cove.cli.options import for_each, get_client, no_wait_option
from cove.cli.output import output_options, print_list, print_object
from cove.cli.waiting import LONG_POLL

LIST_COLUMNS = ("name", "status", "package", "package_version", "uuid")
EVENT_COLUMNS = ("id", "time", "level", "message")


@click.group("deployment")
def deployment() -> None:
    """Applications on a cluster: services and one-time tasks from a definition file.

    Name a cluster and a deployment by name or uuid. Create, update and delete wait until
    the operation ends, showing each service and task (what it waits on, starting, ready,
    failed) and then the endpoints on stderr; --no-wait returns at once. Ctrl-C stops the
    waiting, not the operation. Catalog packages: `cove catalog`, `cove app`.
    """


def cluster_of(client: CoveClient, ident: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"clusters/{ident}")
    return found


def summary(deployment: Mapping[str, Any]) -> dict[str, Any]:
    """A deployment for a table: its services and tasks named instead of the definition
    (``-f yaml`` or ``-c definition`` show it whole), progress as one line per element."""
    shown = dict(deployment)
    definition = shown.pop("definition", None) or {}
    shown["services"] = sorted(definition.get("services") or {})
    shown["tasks"] = sorted(definition.get("tasks") or {})
    shown["progress"] = [
        f"{name}: {state}" + (f" ({detail})" if detail else "")
        for name, state, detail in deploywait.elements(shown.get("progress") or {})
    ]
    return shown


def print_deployment(deployment: Mapping[str, Any], fmt: str, columns: tuple[str, ...]) -> None:
    """JSON and YAML: the API's object; a table: its summary (``-c definition`` adds it)."""
    if fmt != "table":
        print_object(deployment, fmt, columns)
        return
    shown = summary(deployment)
    if "definition" in columns:
        shown["definition"] = deployment.get("definition")
    print_object(shown, fmt, columns)


def addresses_by_node(client: CoveClient, cluster: Mapping[str, Any]) -> dict[str, str] | None:
    """Each node's address on the cluster network; None when the nodes cannot be listed
    (the driver has no engines to ask, or they do not answer now)."""
    try:
        found = client.get(f"clusters/{cluster['uuid']}/nodes")["nodes"]
    except ApiError as exc:
        if exc.status not in (409, 503):
            raise
        return None
    return {str(n["name"]): str(n["address"]) for n in found if n.get("address")}


def rows_of_endpoints(
    client: CoveClient, deployment: Mapping[str, Any], cluster: Mapping[str, Any]
) -> list[dict[str, Any]]:
    return endpoints.endpoints(deployment, cluster, addresses_by_node(client, cluster))


def show_endpoints(
    client: CoveClient, deployment: Mapping[str, Any], cluster: Mapping[str, Any]
) -> None:
    rows = rows_of_endpoints(client, deployment, cluster)
    if rows:
        click.echo("endpoints:", err=True)
        for line in endpoints.lines(rows):
            click.echo(line, err=True)


def run(
    client: CoveClient,
    cluster: Mapping[str, Any],
    send: Any,
    *,
    action: str,
    no_wait: bool,
    since: int = 0,
) -> dict[str, Any]:
    """Send a create or update (``send()`` returns the deployment the API accepted), then
    follow it unless ``no_wait``; the deployment as it ends (or as accepted)."""
    accepted: dict[str, Any] = send()
    name = accepted["name"]
    click.echo(f"deployment {name} ({accepted['uuid']}): {action} accepted", err=True)
    if no_wait:
        return accepted
    done = deploywait.follow(client, cluster["uuid"], accepted, since=since, action=action)
    assert done is not None
    show_endpoints(client, done, cluster)
    return done


@deployment.command("create")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("name")
@click.option(
    "--file",
    "path",
    required=True,
    metavar="FILE",
    help="the definition, YAML or JSON (- for stdin); its schema: GET /v1/deployments/schema",
)
@click.option("--set", "sets", multiple=True, metavar="VAR=VALUE", help="a variable's value")
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    metavar="VAR=@FILE|VAR=VALUE",
    help="a secret variable's value, best read from a file (never shown back)",
)
@no_wait_option
@output_options
def create(
    cluster: str,
    name: str,
    path: str,
    sets: tuple[str, ...],
    secrets: tuple[str, ...],
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Deploy the definition in FILE on CLUSTER as NAME and follow it until it is ready."""
    body = {
        "name": name,
        "definition": deployargs.read_text(path, "--file"),
        "values": deployargs.variable_values(sets, secrets),
    }
    client = get_client()
    found = cluster_of(client, cluster)
    base = f"clusters/{found['uuid']}/deployments"
    done = run(client, found, lambda: client.post(base, body), action="deploy", no_wait=no_wait)
    print_deployment(done, fmt, columns)


def update_deployment(
    client: CoveClient,
    cluster: str,
    name: str,
    body: dict[str, Any],
    *,
    no_wait: bool,
) -> dict[str, Any]:
    """PATCH the deployment (definition, values and options merged, package_version) and
    follow the update."""
    found = cluster_of(client, cluster)
    path = f"clusters/{found['uuid']}/deployments/{name}"
    current = client.get(path)
    since = 0 if no_wait else deploywait.last_event_id(client, found["uuid"], current["uuid"])
    return run(
        client,
        found,
        lambda: client.patch(f"clusters/{found['uuid']}/deployments/{current['uuid']}", body),
        action="update",
        no_wait=no_wait,
        since=since,
    )


@deployment.command("update")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("name")
@click.option("--file", "path", metavar="FILE", help="a new definition (- for stdin)")
@click.option("--set", "sets", multiple=True, metavar="VAR=VALUE", help="a variable's new value")
@click.option(
    "--secret", "secrets", multiple=True, metavar="VAR=@FILE|VAR=VALUE", help="a secret's value"
)
@click.option("--options", "options_path", metavar="FILE", help="package options (merged)")
@click.option("--version", "version", metavar="V", help="the package version to move to")
@no_wait_option
@output_options
def update(
    cluster: str,
    name: str,
    path: str | None,
    sets: tuple[str, ...],
    secrets: tuple[str, ...],
    options_path: str | None,
    version: str | None,
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Change a deployment (a rolling update of what changed) and follow it."""
    body: dict[str, Any] = {}
    if path is not None:
        body["definition"] = deployargs.read_text(path, "--file")
    values = deployargs.variable_values(sets, secrets)
    if values:
        body["values"] = values
    if options_path is not None:
        body["options"] = deployargs.options_file(options_path)
    if version is not None:
        body["package_version"] = version
    if not body:
        raise click.UsageError(
            "nothing to change: give --file, --set, --secret, --options or --version"
        )
    done = update_deployment(get_client(), cluster, name, body, no_wait=no_wait)
    print_deployment(done, fmt, columns)


@deployment.command("list")
@click.argument("cluster", shell_complete=completion.clusters)
@output_options
def list_(cluster: str, fmt: str, columns: tuple[str, ...]) -> None:
    """List the deployments on CLUSTER."""
    rows = get_client().get(f"clusters/{cluster}/deployments")["deployments"]
    print_list(rows, LIST_COLUMNS, fmt, columns)


@deployment.command("show")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("name")
@output_options
def show(cluster: str, name: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a deployment: status, progress per service and task, values (secrets by name)."""
    print_deployment(get_client().get(f"clusters/{cluster}/deployments/{name}"), fmt, columns)


@deployment.command("endpoints")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("name")
@output_options
def endpoints_(cluster: str, name: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Where the deployment's published ports answer: the addresses of the nodes running
    each service (host-mode ports)."""
    client = get_client()
    found = cluster_of(client, cluster)
    current = client.get(f"clusters/{found['uuid']}/deployments/{name}")
    print_list(rows_of_endpoints(client, current, found), endpoints.COLUMNS, fmt, columns)


@deployment.command("delete")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("names", nargs=-1, required=True)
@no_wait_option
def delete(cluster: str, names: tuple[str, ...], no_wait: bool) -> None:
    """Undeploy: remove exactly what each deployment made (its named volumes too), then it."""
    client = get_client()
    found = cluster_of(client, cluster)

    def undeploy(name: str) -> None:
        base = f"clusters/{found['uuid']}/deployments"
        current = client.get(f"{base}/{name}")
        since = 0 if no_wait else deploywait.last_event_id(client, found["uuid"], current["uuid"])
        client.delete(f"{base}/{current['uuid']}")
        click.echo(f"deployment {current['name']}: delete accepted", err=True)
        if not no_wait:
            deploywait.follow(
                client, found["uuid"], current, since=since, action="delete", deleting=True
            )

    for_each(names, undeploy)


@deployment.command("events")
@click.argument("cluster", shell_complete=completion.clusters)
@click.argument("name")
@click.option("--follow", is_flag=True, help="keep printing new events (Ctrl-C stops)")
@output_options
def events(cluster: str, name: str, follow: bool, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a deployment's event log, oldest first: what was accepted, each change of its
    services' and tasks' progress, pauses, how each operation ended.

    With --follow each event is printed as it happens (as `cove cluster events --follow`);
    it ends when the deployment is deleted.
    """
    client = get_client()
    found = cluster_of(client, cluster)
    uuid = client.get(f"clusters/{found['uuid']}/deployments/{name}")["uuid"]
    since = 0
    if not follow:
        items: list[dict[str, Any]] = []
        while page := client.deployment_events(found["uuid"], uuid, since)["events"]:
            items.extend(page)
            since = int(page[-1]["id"])
        print_list(items, EVENT_COLUMNS, fmt, columns)
        return
    try:
        while True:
            body = client.deployment_events(found["uuid"], uuid, since, wait=LONG_POLL)
            for event in body["events"]:
                print_event(event, fmt, columns)
                since = int(event["id"])
    except ApiError as exc:
        if exc.status != 404:
            raise
        click.echo(f"deployment {name} no longer exists", err=True)
    except KeyboardInterrupt:
        raise click.exceptions.Exit(130) from None
