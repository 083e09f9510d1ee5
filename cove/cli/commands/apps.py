"""``cove catalog`` (the app catalog's packages, /v1/catalog/packages) and ``cove app``
(packages installed on a cluster). An installed package is a deployment made from it, so
``app install`` and ``app upgrade`` go through the deployments API (``package``,
``options``, ``package_version``) and follow it as ``cove deployment`` does.

Not to be confused with ``commands/catalog.py``: Magnum's catalog objects (images, flavors,
key pairs, networks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from cove.cli import completion, deployargs
from cove.cli.commands.deployments import (
    LIST_COLUMNS,
    cluster_of,
    print_deployment,
    run,
    update_deployment,
)
from cove.cli.options import get_client, no_wait_option
from cove.cli.output import output_options, print_list, print_object

PACKAGE_COLUMNS = ("name", "version", "versions", "description", "images")
OPTION_COLUMNS = ("option", "type", "default", "required", "description")


@click.group("catalog")
def catalog() -> None:
    """The app catalog: versioned application packages with options (after DC/OS Universe).

    Install one on a cluster with `cove app install`. (Images, flavors, key pairs and
    networks, what templates name, have their own commands.)
    """


@catalog.command("list")
@output_options
def list_packages(fmt: str, columns: tuple[str, ...]) -> None:
    """List the catalog's packages."""
    rows = get_client().get("catalog/packages")["packages"]
    if fmt == "table":
        rows = [{**r, "description": _first_sentence(r.get("description"))} for r in rows]
    print_list(rows, PACKAGE_COLUMNS, fmt, columns)


def _first_sentence(text: Any) -> str:
    words = " ".join(str(text or "").split())
    head, sep, _ = words.partition(". ")
    return head + ("." if sep else "")


@catalog.command("show")
@click.argument("package")
@output_options
def show_package(package: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a package: version, images, and its options with their defaults.

    -f json or -f yaml print the package as the API has it (options_schema, template).
    """
    found = get_client().get(f"catalog/packages/{package}")
    if fmt != "table" or columns:
        print_object(found, fmt, columns)
        return
    click.echo(f"{found['name']} {found['version']}")
    click.echo(f"versions: {', '.join(found.get('versions') or [found['version']])}")
    click.echo(str(found.get("description") or "").strip())
    click.echo(f"images: {', '.join(found.get('images') or [])}")
    click.echo("options:")
    rows = deployargs.schema_rows(found.get("options_schema") or {})
    shown = [{**r, "required": "yes" if r["required"] else ""} for r in rows]
    print_list(shown, OPTION_COLUMNS, "table")


@click.group("app")
def app() -> None:
    """Catalog packages installed on a cluster: install, upgrade, list.

    An installed package is a deployment (`cove deployment show|events|endpoints|delete`
    work on it too). Install and upgrade wait until it is ready, showing each service and
    task; --no-wait returns at once.
    """


def _options(path: str | None, sets: tuple[str, ...], schema: Mapping[str, Any]) -> dict[str, Any]:
    return deployargs.set_options(deployargs.options_file(path), sets, schema)


def _schema(package: str) -> dict[str, Any]:
    schema: dict[str, Any] = get_client().get(f"catalog/packages/{package}")["options_schema"]
    return schema


@app.command("install")
@click.argument("package")
@click.option("--cluster", required=True, help="the cluster", shell_complete=completion.clusters)
@click.option("--name", help="the deployment's name (default: the package's)")
@click.option("--version", "version", metavar="V", help="the package version (default: newest)")
@click.option("--options", "options_path", metavar="FILE", help="options, JSON or YAML")
@click.option(
    "--set", "sets", multiple=True, metavar="OPTION=VALUE", help="an option (a.b=v nests)"
)
@no_wait_option
@output_options
def install(
    package: str,
    cluster: str,
    name: str | None,
    version: str | None,
    options_path: str | None,
    sets: tuple[str, ...],
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Install PACKAGE on a cluster with options (checked against its schema first)."""
    options = _options(options_path, sets, _schema(package) if sets else {})
    body: dict[str, Any] = {"name": name or package, "package": package, "options": options}
    if version is not None:
        body["package_version"] = version
    client = get_client()
    found = cluster_of(client, cluster)
    base = f"clusters/{found['uuid']}/deployments"
    done = run(client, found, lambda: client.post(base, body), action="deploy", no_wait=no_wait)
    print_deployment(done, fmt, columns)


@app.command("upgrade")
@click.argument("name")
@click.option("--cluster", required=True, help="the cluster", shell_complete=completion.clusters)
@click.option("--version", "version", metavar="V", help="the package version to move to")
@click.option("--options", "options_path", metavar="FILE", help="options to change (merged)")
@click.option("--set", "sets", multiple=True, metavar="OPTION=VALUE", help="an option to change")
@no_wait_option
@output_options
def upgrade(
    name: str,
    cluster: str,
    version: str | None,
    options_path: str | None,
    sets: tuple[str, ...],
    no_wait: bool,
    fmt: str,
    columns: tuple[str, ...],
) -> None:
    """Move an installed package to another version or options (a rolling update)."""
    client = get_client()
    schema: dict[str, Any] = {}
    if sets:
        current = client.get(f"clusters/{cluster}/deployments/{name}")
        if not current.get("package"):
            raise click.UsageError(f"{name} was not installed from a package: --set has no schema")
        schema = _schema(current["package"])
    body: dict[str, Any] = {}
    options = _options(options_path, sets, schema)
    if options:
        body["options"] = options
    if version is not None:
        body["package_version"] = version
    if not body:
        raise click.UsageError("nothing to change: give --version, --options or --set")
    done = update_deployment(client, cluster, name, body, no_wait=no_wait)
    print_deployment(done, fmt, columns)


@app.command("list")
@click.option("--cluster", required=True, help="the cluster", shell_complete=completion.clusters)
@output_options
def list_installed(cluster: str, fmt: str, columns: tuple[str, ...]) -> None:
    """List the packages installed on a cluster (deployments made from a package)."""
    rows = get_client().get(f"clusters/{cluster}/deployments")["deployments"]
    print_list([r for r in rows if r.get("package")], LIST_COLUMNS, fmt, columns)
