"""``cove flavor``, ``cove keypair``, ``cove network`` and the catalog commands of ``cove
image``: the objects templates name, kept by cove itself (/v1/flavors, /v1/keypairs,
/v1/networks, /v1/images). They are shown and deleted by name or uuid, never changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cove.cli.options import compact, for_each, get_client, key_values
from cove.cli.output import output_options, print_list, print_object

COLUMNS = {
    "flavors": ("name", "vcpus", "ram", "disk", "uuid"),
    "keypairs": ("name", "fingerprint", "uuid"),
    "networks": ("name", "external", "shared", "subnets", "uuid"),
    "images": ("name", "os_distro", "node_image", "public", "uuid"),
}


def _add_common(group: click.Group, collection: str, noun: str) -> None:
    """list, show and delete, the same for every catalog resource."""

    @group.command("list")
    @output_options
    def list_(fmt: str, columns: tuple[str, ...]) -> None:
        items = get_client().get(collection).get(collection, [])
        if collection == "networks" and fmt == "table":
            items = [{**n, "subnets": [_subnet(s) for s in n.get("subnets", [])]} for n in items]
        print_list(items, COLUMNS[collection], fmt, columns)

    list_.help = f"List {noun}s."

    @group.command("show")
    @click.argument("ident", metavar=noun.upper().replace(" ", "_"))
    @output_options
    def show(ident: str, fmt: str, columns: tuple[str, ...]) -> None:
        print_object(get_client().get(f"{collection}/{ident}"), fmt, columns)

    article = "an" if noun[0] in "aeiou" else "a"
    show.help = f"Show {article} {noun} (by name or uuid)."

    @group.command("delete")
    @click.argument("idents", nargs=-1, required=True, metavar=f"{noun.upper()}...")
    def delete(idents: tuple[str, ...]) -> None:
        client = get_client()

        def delete_one(ident: str) -> None:
            client.delete(f"{collection}/{ident}")
            click.echo(f"{noun} {ident} deleted", err=True)

        for_each(idents, delete_one)

    delete.help = f"Delete {noun}s (by name or uuid)."


def _subnet(subnet: dict[str, Any]) -> str:
    return f"{subnet.get('name')}={subnet.get('cidr')}"


@click.group("flavor")
def flavor() -> None:
    """Node sizes: vCPUs, RAM and disk.

    They are enforced as limits on each node. Only the admin creates and deletes them.
    """


@flavor.command("create")
@click.argument("name")
@click.option("--vcpus", type=click.IntRange(1, 256), required=True, help="CPUs")
@click.option("--ram", type=click.IntRange(min=64), required=True, help="memory in MiB")
@click.option("--disk", type=click.IntRange(min=0), required=True, help="disk in GiB")
@output_options
def flavor_create(
    name: str, vcpus: int, ram: int, disk: int, fmt: str, columns: tuple[str, ...]
) -> None:
    """Create flavor NAME."""
    body = {"name": name, "vcpus": vcpus, "ram": ram, "disk": disk}
    print_object(get_client().post("flavors", body), fmt, columns)


_add_common(flavor, "flavors", "flavor")


@click.group("keypair")
def keypair() -> None:
    """Your SSH key pairs, installed on the nodes of clusters that name them."""


@keypair.command("create")
@click.argument("name")
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="OpenSSH public key file (e.g. ~/.ssh/id_ed25519.pub)",
)
@output_options
def keypair_create(name: str, public_key: Path | None, fmt: str, columns: tuple[str, ...]) -> None:
    """Register key pair NAME."""
    key = public_key.read_text().strip() if public_key else None
    print_object(get_client().post("keypairs", compact(name=name, public_key=key)), fmt, columns)


_add_common(keypair, "keypairs", "key pair")


@click.group("network")
def network() -> None:
    """Networks: for the nodes (fixed) and for reaching clusters (external)."""


@network.command("create")
@click.argument("name")
@click.option("--external", is_flag=True, default=None, help="external network (admin)")
@click.option("--shared", is_flag=True, default=None, help="visible to every project (admin)")
@click.option("--subnet", "subnets", multiple=True, metavar="NAME=CIDR", help="(repeatable)")
@output_options
def network_create(
    name: str,
    external: bool | None,
    shared: bool | None,
    subnets: tuple[str, ...],
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Create network NAME."""
    parsed = [
        {"name": k, "cidr": v} for item in subnets for k, v in key_values(item, "subnet").items()
    ]
    body = compact(name=name, external=external, shared=shared, subnets=parsed or None)
    print_object(get_client().post("networks", body), fmt, columns)


_add_common(network, "networks", "network")


def add_image_commands(image: click.Group) -> None:
    """The catalog commands of the ``image`` group (which also has ``image build``)."""

    @image.command("create")
    @click.argument("name")
    @click.option("--os-distro", required=True, help="distribution; picks the cluster driver")
    @click.option("--node-image", metavar="REF", help="the node image reference (Docker image)")
    @click.option("--property", "properties", multiple=True, metavar="K=V", help="(repeatable)")
    @click.option("--public", is_flag=True, default=None, help="visible to every project (admin)")
    @output_options
    def image_create(
        name: str,
        os_distro: str,
        node_image: str | None,
        properties: tuple[str, ...],
        public: bool | None,
        fmt: str,
        columns: tuple[str, ...],
    ) -> None:
        """Register image NAME in the catalog."""
        props: dict[str, str] = {}
        for item in properties:
            props.update(key_values(item, "property"))
        body = compact(
            name=name,
            os_distro=os_distro,
            node_image=node_image,
            properties=props or None,
            public=public,
        )
        print_object(get_client().post("images", body), fmt, columns)

    _add_common(image, "images", "image")
