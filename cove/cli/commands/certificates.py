"""``cove ca``: a cluster's certificate authority (/v1/certificates)."""

from __future__ import annotations

from typing import IO

import click

from cove.cli import completion
from cove.cli.commands.clusters import run_operation
from cove.cli.options import get_client, no_wait_option
from cove.cli.output import output_options, print_object


@click.group("ca")
def ca() -> None:
    """A cluster's certificate authority: show it, sign a CSR, rotate it.

    `cove cluster config` signs a client certificate for you.
    """


def _print_pem(body: dict[str, object], fmt: str, columns: tuple[str, ...]) -> None:
    if fmt == "table" and not columns:
        click.echo(str(body["pem"]).rstrip("\n"))  # PEM as is, ready for a file
    else:
        print_object(body, fmt, columns)


@ca.command("show")
@click.argument("cluster", shell_complete=completion.clusters)
@output_options
def show(cluster: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Print the cluster's CA certificate (PEM)."""
    _print_pem(get_client().get(f"certificates/{cluster}"), fmt, columns)


@ca.command("sign")
@click.argument("cluster", shell_complete=completion.clusters)
@click.option(
    "--csr",
    "csr",
    type=click.File("r"),
    required=True,
    help="PEM certificate signing request ('-' for stdin)",
)
@output_options
def sign(cluster: str, csr: IO[str], fmt: str, columns: tuple[str, ...]) -> None:
    """Sign a CSR with the cluster's CA and print the certificate (PEM)."""
    body = {"cluster_uuid": cluster, "csr": csr.read()}
    _print_pem(get_client().post("certificates", body), fmt, columns)


@ca.command("rotate")
@click.argument("cluster", shell_complete=completion.clusters)
@no_wait_option
def rotate(cluster: str, no_wait: bool) -> None:
    """Replace the cluster's CA, waiting until every node has its new certificates.

    Old client certificates stop working: run `cove cluster config --force` again.
    """
    client = get_client()
    run_operation(
        client,
        cluster,
        "CA rotation",
        lambda u: client.patch(f"certificates/{u}", None),
        no_wait=no_wait,
    )
