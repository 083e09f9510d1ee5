"""``cove containers policy``: Senlin's policies (scaling, deletion, health, affinity, load
balancing …) from spec files, and attaching them to container clusters."""

from __future__ import annotations

from pathlib import Path

import click

from cove.cli import completion
from cove.cli.commands.containers import api
from cove.cli.commands.containers.clusters import act, cluster_action
from cove.cli.commands.containers.profiles import read_spec
from cove.cli.options import for_each, no_wait_option
from cove.cli.output import output_options, print_list, print_object

LIST_COLUMNS = ("id", "name", "type", "created_at")


@click.group("policy")
def policy() -> None:
    """Policies: how a container cluster scales, picks victims, heals, spreads and balances.

    Write Senlin's spec (type, version, properties) in a YAML file; `cove containers policy
    attach` binds a policy to a cluster.
    """


@policy.command("create")
@click.argument("name")
@click.option(
    "--spec-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Senlin's YAML spec: type, version, properties",
)
@output_options
def create(name: str, spec_file: Path, fmt: str, columns: tuple[str, ...]) -> None:
    """Create policy NAME from a spec file."""
    body = {"policy": {"name": name, "spec": read_spec(spec_file)}}
    print_object(api.client().post("policies", body)["policy"], fmt, columns)


@policy.command("list")
@output_options
def list_(fmt: str, columns: tuple[str, ...]) -> None:
    """List policies."""
    print_list(api.collect(api.client(), "policies", "policies"), LIST_COLUMNS, fmt, columns)


@policy.command("show")
@click.argument("policy", shell_complete=completion.container_policies)
@output_options
def show(policy: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a policy and its spec."""
    print_object(api.client().get(f"policies/{policy}")["policy"], fmt, columns)


@policy.command("delete")
@click.argument("policies", nargs=-1, required=True, shell_complete=completion.container_policies)
def delete(policies: tuple[str, ...]) -> None:
    """Delete policies (refused while attached to a cluster)."""
    client = api.client()

    def one(ident: str) -> None:
        client.delete(f"policies/{ident}")
        click.echo(f"policy {ident} deleted", err=True)

    for_each(policies, one)


@policy.command("attach")
@click.argument("cluster", shell_complete=completion.container_clusters)
@click.argument("policy", shell_complete=completion.container_policies)
@click.option("--disabled", is_flag=True, help="attach it disabled")
@no_wait_option
@output_options
def attach(
    cluster: str, policy: str, disabled: bool, no_wait: bool, fmt: str, columns: tuple[str, ...]
) -> None:
    """Attach POLICY to container cluster CLUSTER."""
    data = {"policy_id": policy, **({"enabled": False} if disabled else {})}
    act(cluster, cluster_action("policy_attach", data), no_wait=no_wait, fmt=fmt, columns=columns)


@policy.command("detach")
@click.argument("cluster", shell_complete=completion.container_clusters)
@click.argument("policy", shell_complete=completion.container_policies)
@no_wait_option
@output_options
def detach(cluster: str, policy: str, no_wait: bool, fmt: str, columns: tuple[str, ...]) -> None:
    """Detach POLICY from container cluster CLUSTER."""
    send = cluster_action("policy_detach", {"policy_id": policy})
    act(cluster, send, no_wait=no_wait, fmt=fmt, columns=columns)
