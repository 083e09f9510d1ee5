"""``cove template``: cluster templates (/v1/clustertemplates)."""

from __future__ import annotations

from typing import Any

import click

from cove.cli import completion
from cove.cli.options import (
    compact,
    for_each,
    get_client,
    labels_option,
    parse_labels,
    patch_document,
    patch_options,
)
from cove.cli.output import output_options, print_list, print_object

LIST_COLUMNS = ("uuid", "name", "coe", "image_id", "server_type", "public")


@click.group("template")
def template() -> None:
    """Cluster templates: the recipes clusters are made from.

    A template names the COE, image, flavors, networks and labels. Name a template by
    name or uuid.
    """


@template.command("create")
@click.argument("name")
@click.option("--coe", required=True, help="swarm-mode, kubernetes, swarm, mesos or dcos")
@click.option("--image", required=True, help="image (name or uuid); its os_distro picks the driver")
@click.option("--server-type", help="vm (default) or bm")
@click.option("--master-flavor", help="flavor of the masters/managers")
@click.option("--flavor", help="flavor of the workers")
@click.option("--keypair", help="key pair installed on the nodes")
@click.option("--external-network", help="external network (e.g. public)")
@click.option("--fixed-network", help="network for the nodes")
@click.option("--fixed-subnet", help="subnet of --fixed-network")
@click.option("--network-driver", help="container network driver")
@click.option("--volume-driver", help="container volume driver")
@click.option("--docker-storage-driver", help="storage driver of the nodes' engines")
@click.option("--docker-volume-size", type=click.IntRange(min=1), help="GB for each node's engine")
@click.option("--dns-nameserver", metavar="IP", help="DNS server for the nodes")
@click.option("--http-proxy", metavar="URL")
@click.option("--https-proxy", metavar="URL")
@click.option("--no-proxy", metavar="LIST", help="comma-separated hosts not to proxy")
@labels_option
@click.option("--master-lb-enabled", is_flag=True, default=None, help="load balancer on masters")
@click.option("--registry-enabled", is_flag=True, default=None, help="registry in the cluster")
@click.option("--insecure-registry", metavar="HOST:PORT", help="registry trusted without TLS")
@click.option("--tls-disabled", is_flag=True, default=None, help="no TLS on the COE's API")
@click.option("--public", is_flag=True, default=None, help="visible to every project (admin)")
@click.option("--hidden", is_flag=True, default=None, help="hidden from listings")
@click.option(
    "--floating-ip-enabled/--floating-ip-disabled",
    default=None,
    help="reach the cluster from outside (default enabled)",
)
@output_options
def create(
    name: str,
    labels: tuple[str, ...],
    fmt: str,
    columns: tuple[str, ...],
    **fields: Any,
) -> None:
    """Create a cluster template NAME."""
    body = compact(
        name=name,
        coe=fields["coe"],
        image_id=fields["image"],
        server_type=fields["server_type"],
        master_flavor_id=fields["master_flavor"],
        flavor_id=fields["flavor"],
        keypair_id=fields["keypair"],
        external_network_id=fields["external_network"],
        fixed_network=fields["fixed_network"],
        fixed_subnet=fields["fixed_subnet"],
        network_driver=fields["network_driver"],
        volume_driver=fields["volume_driver"],
        docker_storage_driver=fields["docker_storage_driver"],
        docker_volume_size=fields["docker_volume_size"],
        dns_nameserver=fields["dns_nameserver"],
        http_proxy=fields["http_proxy"],
        https_proxy=fields["https_proxy"],
        no_proxy=fields["no_proxy"],
        labels=parse_labels(labels),
        master_lb_enabled=fields["master_lb_enabled"],
        registry_enabled=fields["registry_enabled"],
        insecure_registry=fields["insecure_registry"],
        tls_disabled=fields["tls_disabled"],
        public=fields["public"],
        hidden=fields["hidden"],
        floating_ip_enabled=fields["floating_ip_enabled"],
    )
    print_object(get_client().post("clustertemplates", body), fmt, columns)


@template.command("list")
@output_options
def list_(fmt: str, columns: tuple[str, ...]) -> None:
    """List the cluster templates you can use."""
    items = get_client().collect("clustertemplates", "clustertemplates")
    print_list(items, LIST_COLUMNS, fmt, columns)


@template.command("show")
@click.argument("template", shell_complete=completion.templates)
@output_options
def show(template: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a cluster template."""
    print_object(get_client().get(f"clustertemplates/{template}"), fmt, columns)


@template.command("update")
@click.argument("template", shell_complete=completion.templates)
@patch_options
@output_options
def update(
    template: str,
    sets: tuple[str, ...],
    unsets: tuple[str, ...],
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Change a cluster template's attributes (not while clusters use it, except a few).

    \b
    Examples:
      cove template update swarm --set flavor_id=m1.medium --unset http_proxy
      cove template update swarm --set labels=auto_healing_enabled=true
      cove template update swarm --set labels.swarm_strategy=spread
    """
    ops = patch_document(sets, unsets)
    print_object(get_client().patch(f"clustertemplates/{template}", ops), fmt, columns)


@template.command("delete")
@click.argument("templates", nargs=-1, required=True, shell_complete=completion.templates)
def delete(templates: tuple[str, ...]) -> None:
    """Delete cluster templates no cluster uses."""
    client = get_client()

    def delete_one(name: str) -> None:
        client.delete(f"clustertemplates/{name}")
        click.echo(f"template {name} deleted", err=True)

    for_each(templates, delete_one)
