"""``cove doctor``: what cove needs on this machine, each check with the fix when it fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from cove.cli.client import CliError
from cove.cli.options import get_client

if TYPE_CHECKING:
    from cove.settings import Settings  # imported lazily: see cove.cli.main


class CheckFailed(Exception):
    """The check's message says what is wrong and how to fix it."""


def check_engine(settings: Settings) -> str:
    from cove.cli import node_image
    from cove.images import ImageBuildError

    try:
        return f"Docker engine {node_image.engine_version(settings)}"
    except ImageBuildError as exc:
        raise CheckFailed(f"{exc.args[0] if exc.args else exc}") from None


def check_node_image(settings: Settings) -> str:
    from cove.cli import node_image

    ref = node_image.node_image_tag()
    if node_image.find_node_image(settings) is None:
        raise CheckFailed(f"node image {ref} is missing: run `cove image build` (about 80 s)")
    return f"node image {ref}"


def check_database(settings: Settings) -> str:
    from sqlalchemy import inspect

    from cove.db.session import make_engine

    where = settings.database_url.split("@")[-1]
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
    except Exception as exc:
        raise CheckFailed(f"database {where} cannot be reached: {exc}") from None
    finally:
        engine.dispose()
    if "clusters" not in tables:
        raise CheckFailed(f"database {where} has no schema: run `cove db upgrade`")
    return f"database {where}"


def check_service() -> str:
    client = get_client()
    try:
        client.request("GET", "/", timeout=3)
    except CliError as exc:
        raise CheckFailed(exc.message) from None
    return f"service answers at {client.url}"


def check_conductor() -> str:
    try:
        services = get_client().get("mservices").get("mservices", [])
    except CliError as exc:
        raise CheckFailed(f"no conductor list: {exc.message}") from None
    up = [s for s in services if s.get("state") == "up"]
    if not up:
        raise CheckFailed(
            "no conductor is up: nothing will act on clusters. Run `cove serve`, or "
            "`cove conductor` against the API's database"
        )
    return f"{len(up)} conductor(s) up ({', '.join(str(s.get('host')) for s in up)})"


@click.command()
def doctor() -> None:
    """Check the Docker engine, the node image, the database, the service and its
    conductors; print the fix for each failure. Exits 1 if any check fails."""
    from cove.settings import load_settings

    root = click.get_current_context().find_root()
    settings = load_settings((root.obj or {}).get("config"))
    checks: list[tuple[str, Callable[[], str]]] = [
        ("engine", lambda: check_engine(settings)),
        ("node image", lambda: check_node_image(settings)),
        ("database", lambda: check_database(settings)),
        ("service", check_service),
        ("conductor", check_conductor),
    ]
    failed: set[str] = set()
    for name, check in checks:
        if name == "conductor" and "service" in failed:
            click.echo("skip  conductor: asked through the service, which does not answer")
            continue
        try:
            click.echo(f"ok    {check()}")
        except CheckFailed as exc:
            failed.add(name)
            click.echo(f"FAIL  {name}: {exc}")
    if failed:
        raise click.exceptions.Exit(1)
