"""``cove containers webhook``: Senlin's webhook receivers, URLs that start an action on a
container cluster when anything POSTs to them (an alarm, a CI job)."""

from __future__ import annotations

import click

from cove.cli import completion
from cove.cli.commands.containers import api
from cove.cli.options import for_each
from cove.cli.output import output_options, print_list, print_object

ACTIONS = (
    "CLUSTER_SCALE_OUT",
    "CLUSTER_SCALE_IN",
    "CLUSTER_RESIZE",
    "CLUSTER_CHECK",
    "CLUSTER_RECOVER",
)
LIST_COLUMNS = ("id", "name", "cluster_id", "action", "params")


def _with_url(receiver: dict[str, object]) -> dict[str, object]:
    channel = receiver.get("channel")
    url = channel.get("alarm_url") if isinstance(channel, dict) else None
    return {**receiver, "url": url}


@click.group("webhook")
def webhook() -> None:
    """Webhooks: a URL that starts an action on a container cluster when POSTed to.

    The URL needs no token: keep it secret.
    """


@webhook.command("create")
@click.argument("name")
@click.option(
    "--cluster",
    required=True,
    shell_complete=completion.container_clusters,
    help="the container cluster it acts on",
)
@click.option(
    "--action",
    required=True,
    type=click.Choice(ACTIONS, case_sensitive=False),
    help="the action it starts",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="K=V",
    help="an input of the action, e.g. count=2 (repeatable)",
)
@output_options
def create(
    name: str,
    cluster: str,
    action: str,
    params: tuple[str, ...],
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Create webhook NAME; print its URL (-f json or yaml: the whole receiver).

    The URL holds the webhook's secret: anyone who has it can run the action (`openstack
    cluster receiver show` gives it again; lists never do). To change it, delete the
    webhook and make it again."""
    inputs: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not K=V", param_hint="--param")
        inputs[key] = value
    body = {
        "receiver": {
            "name": name,
            "type": "webhook",
            "cluster_id": cluster,
            "action": action.upper(),
            "params": inputs,
        }
    }
    receiver = _with_url(api.client().post("receivers", body)["receiver"])
    if fmt == "table" and not columns:
        click.echo(receiver["url"])
    else:
        print_object(receiver, fmt, columns)


@webhook.command("list")
@output_options
def list_(fmt: str, columns: tuple[str, ...]) -> None:
    """List webhooks (without their URLs, which hold their secrets)."""
    found = api.collect(api.client(), "receivers", "receivers", type="webhook")
    print_list(found, LIST_COLUMNS, fmt, columns)


@webhook.command("delete")
@click.argument("webhooks", nargs=-1, required=True)
def delete(webhooks: tuple[str, ...]) -> None:
    """Delete webhooks (their URLs stop working)."""
    client = api.client()

    def one(ident: str) -> None:
        client.delete(f"receivers/{ident}")
        click.echo(f"webhook {ident} deleted", err=True)

    for_each(webhooks, one)
