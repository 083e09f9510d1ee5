"""The ``cove`` command: service commands (``serve``: API and conductor in one process,
``api``, ``conductor``, ``db upgrade``, ``image build``, ``keys``) and client commands for every
resource of the API, which talk HTTP to a running cove (``cove/cli/commands/``)."""

from __future__ import annotations

import functools
import gc
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cove import __version__
from cove.cli import completion, doctor, output, quickstart
from cove.cli import keys as keys_commands
from cove.cli import keystone as keystone_commands
from cove.cli.client import DEFAULT_URL, token_option
from cove.cli.commands import (
    apps,
    catalog,
    certificates,
    clusters,
    deployments,
    nodegroups,
    quotas,
    templates,
)
from cove.cli.commands.containers import containers
from cove.cli.waiting import Interrupted

if TYPE_CHECKING:
    from cove.settings import Settings

# cove.settings.AuthMode's values. Settings are imported by the service commands only:
# pydantic would add half a second to every client command and every shell completion.
AUTH_MODES = ("noauth", "keystone", "trusted-headers")

SERVICE_COMMANDS = (
    "serve", "up", "down", "doctor", "api", "conductor", "db", "keys", "keystone",
)  # fmt: skip

EPILOG = """\b
Exit codes:
  0    success
  1    the API refused the request, or the operation ended *_FAILED
  2    usage error
  3    cove cannot be reached at --url
  130  interrupted by Ctrl-C while waiting (the operation goes on)
"""


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    from cove import filemodes
    from cove.settings import AuthMode, is_loopback, load_settings

    config: Path | None = ctx.obj.get("config") if ctx.obj else None
    settings = load_settings(config, **overrides)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    filemodes.private_dir(settings.state_dir)  # the SQLite database, the secret key, logs
    mode, remote = settings.effective_auth_mode, not is_loopback(settings.host)
    if mode is AuthMode.NOAUTH and remote and not settings.allow_noauth_remote:
        raise click.UsageError(
            f"refusing to serve without authentication on {settings.host}: bind to 127.0.0.1, "
            "use --auth-mode keystone (tokens validated with Keystone), or set "
            "COVE_ALLOW_NOAUTH_REMOTE=true if you really mean it"
        )
    if mode is AuthMode.TRUSTED_HEADERS and remote and not settings.allow_trusted_headers_remote:
        raise click.UsageError(
            f"refusing to trust identity headers on {settings.host}: whoever reaches it can "
            "claim any project. Bind to 127.0.0.1 behind the proxy that validates tokens, use "
            "--auth-mode keystone, or set COVE_ALLOW_TRUSTED_HEADERS_REMOTE=true if only that "
            "proxy can reach this address"
        )
    if mode is AuthMode.KEYSTONE:
        from cove.api.keystone import KeystoneConfigError, authtoken_options

        try:
            authtoken_options(settings.keystone_authtoken)
        except KeystoneConfigError as exc:
            raise click.UsageError(
                f"{exc}: set them in the config file's [keystone_authtoken] table (--config), "
                "or use --auth-mode trusted-headers behind a proxy that validates tokens"
            ) from None
    return settings


def _serve_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--host", default=None, help="address to bind (default 127.0.0.1)"),
            click.option("--port", type=int, default=None, help="port (default 9511)"),
            click.option(
                "--db", default=None, help="database URL (default: SQLite in the state dir)"
            ),
            click.option(
                "--auth-mode",
                type=click.Choice(AUTH_MODES),
                default=None,
                help="noauth (default on loopback), keystone (tokens validated with Keystone; "
                "the default elsewhere) or trusted-headers (behind a validating proxy)",
            ),
        ]
    ):
        func = option(func)
    return func


class CoveGroup(click.Group):
    """Lists service and client commands apart; Ctrl-C anywhere exits 130."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"Service commands": [], "Commands": []}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            section = "Service commands" if name in SERVICE_COMMANDS else "Commands"
            sections[section].append((name, command.get_short_help_str(limit=120)))
        for title, rows in sections.items():
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted("stopped") from None
        except Exception as exc:
            # A missing or wrong secret key: a message naming the setting, not a traceback.
            keystore = sys.modules.get("cove.pki.keystore")
            if keystore is not None and isinstance(exc, keystore.SecretKeyError):
                raise click.ClickException(str(exc)) from None
            raise


@click.group(cls=CoveGroup, epilog=EPILOG)
@click.version_option(__version__, prog_name="cove")
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="COVE_CONFIG",
    help="TOML file with settings (env COVE_CONFIG)",
)
@click.option(
    "--url",
    envvar="COVE_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="cove's API for client commands, with or without /v1 (env COVE_URL)",
)
@token_option
@click.pass_context
def cli(ctx: click.Context, config: Path | None, url: str, token: str | None) -> None:
    """cove: container clusters behind OpenStack Magnum's v1 API.

    Run the service with `cove serve`; manage templates, clusters, container clusters on
    their nodes (`cove containers`), applications on them (`cove deployment`, `cove app`
    from `cove catalog`) and the rest with the client commands, which talk to it at --url.
    Every client command takes -f json or -f yaml for scripts; objects are named by name
    or uuid. Against a cove in keystone mode, load an openrc (OS_AUTH_URL, OS_USERNAME …):
    client commands log in to Keystone and find cove in its catalog, or pass a token with
    --os-token.
    """
    given = ctx.get_parameter_source("url") is not click.core.ParameterSource.DEFAULT
    ctx.obj = {"config": config, "url": url, "token": token, "url_given": given}


def _run_api(settings: Settings, wakeup: Any = None, migrate_db: bool = True) -> tuple[Any, Any]:
    import uvicorn

    from cove.api.app import create_app

    app = create_app(settings, wakeup=wakeup, migrate_db=migrate_db)
    # Objects made at start-up live for the whole process: keep them out of the collector's
    # scans (measured: the default 1,000-cluster page spent about a third of its time in GC).
    gc.freeze()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # h11, not httptools even where installed: httptools refuses a control character in
        # any header with uvicorn's plain-text 400, before cove can answer in Magnum's body
        # (or ignore a header it does not read, as Keystone mode does with X-Project-Id).
        http="h11",
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    return app, uvicorn.Server(config)


@cli.command()
@_serve_options
@click.pass_context
def serve(ctx: click.Context, **options: Any) -> None:
    """Run the API and a conductor in one process (SQLite by default)."""
    from cove.conductor.service import Conductor

    settings = _settings(ctx, **options)
    holder: dict[str, Any] = {}
    app, server = _run_api(settings, wakeup=lambda: holder["conductor"].wakeup())
    conductor = Conductor(settings, app.state.session_factory, app.state.registry)
    holder["conductor"] = conductor
    conductor.start()
    click.echo(
        f"cove {__version__} serving http://{settings.host}:{settings.port}/v1 "
        f"(database {settings.database_url.split('@')[-1]})",
        err=True,
    )
    try:
        server.run()
    finally:
        conductor.stop()


@cli.command()
@_serve_options
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="API processes sharing the port (one per core uses them all)",
)
@click.pass_context
def api(ctx: click.Context, workers: int, **options: Any) -> None:
    """Run the HTTP API only (run conductors separately, against the same database)."""
    settings = _settings(ctx, **options)
    if workers == 1:
        _run_api(settings)[1].run()
        return
    import uvicorn

    from cove.api.app import create_app
    from cove.cli.workers import supervise

    # Migrate and seal keys once, before any worker exists; each worker builds its own app.
    create_app(settings).state.engine.dispose()
    sock = uvicorn.Config("cove", host=settings.host, port=settings.port).bind_socket()
    click.echo(
        f"cove {__version__} API on http://{settings.host}:{settings.port}/v1 "
        f"with {workers} workers",
        err=True,
    )
    supervise(sock, workers, lambda s: _run_api(settings, migrate_db=False)[1].run(sockets=[s]))


@cli.command()
@click.option("--db", default=None, help="database URL")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="operations run at once  [default: two per core]",
)
@click.pass_context
def conductor(ctx: click.Context, db: str | None, workers: int | None) -> None:
    """Run a conductor: claims operations with leases, so several may run at once."""
    from cove.conductor.service import Conductor
    from cove.db import migrate
    from cove.db.session import make_engine, make_session_factory
    from cove.drivers.registry import build_registry
    from cove.pki import keystore
    from cove.providers.registry import ProviderSet
    from cove.services import keys

    settings = _settings(ctx, db=db)
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine, keystore.load(settings))
    keys.prepare(factory)
    instance = Conductor(
        settings,
        factory,
        build_registry(
            settings.extra_drivers,
            ProviderSet(settings.docker_host, publish_address=settings.publish_address),
        ),
        workers=workers,
    )
    instance.start()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    instance.stop()


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.option("--db", "url", default=None, help="database URL")
@click.pass_context
def db_upgrade(ctx: click.Context, url: str | None) -> None:
    """Bring the database schema to the newest version (idempotent)."""
    from cove.db import migrate
    from cove.db.session import make_engine

    settings = _settings(ctx.find_root(), db=url)
    migrate.upgrade(make_engine(settings.database_url))
    click.echo("database is up to date")


@cli.group()
def keys() -> None:
    """The secret key sealing the private keys in the database (docs/production.md)."""


@keys.command("rotate")
@click.option("--db", "url", default=None, help="database URL")
@click.pass_context
def keys_rotate(ctx: click.Context, url: str | None) -> None:
    """Add a new primary secret key to the key file; re-encrypt every stored private key."""
    keys_commands.rotate(_settings(ctx.find_root(), db=url))


@keys.command("reencrypt")
@click.option("--db", "url", default=None, help="database URL")
@click.option("--drop-old", is_flag=True, help="then remove the older keys from the key file")
@click.pass_context
def keys_reencrypt(ctx: click.Context, url: str | None, drop_old: bool) -> None:
    """Re-encrypt every stored private key with the primary secret key (one transaction)."""
    keys_commands.reencrypt(_settings(ctx.find_root(), db=url), drop_old)


@keys.command("status")
@click.option("--db", "url", default=None, help="database URL")
@click.pass_context
def keys_status(ctx: click.Context, url: str | None) -> None:
    """Where the secret keys come from, and which sealed the stored private keys."""
    keys_commands.status(_settings(ctx.find_root(), db=url))


@keys.command("generate")
def keys_generate() -> None:
    """Print a new secret key (for COVE_SECRET_KEY); it is not stored anywhere."""
    keys_commands.generate()


@cli.group()
def image() -> None:
    """Images: the catalog (create, list, show, delete), the node image (build) and the
    application images (build --app, apps).

    Templates name a catalog image; its os_distro picks the cluster driver. `build` makes
    the swarm-mode node image from distribution packages and registers it; `build --app`
    makes application images (Kolla's start contract, docs/host.md) instead.
    """


@image.command("build")
@click.option("--force", is_flag=True, help="rebuild even when the image exists")
@click.option("--db", "url", default=None, help="database URL")
@click.option(
    "--app",
    "apps",
    multiple=True,
    metavar="NAME",
    help="build this application image instead of the node image (repeatable; 'all': every "
    "one; see `cove image apps`)",
)
@click.pass_context
def image_build(ctx: click.Context, force: bool, url: str | None, apps: tuple[str, ...]) -> None:
    """Build (or find) the swarm-mode node image and register it in the image catalog, or,
    with --app, application images (not registered: deployments name them by tag)."""
    from cove.cli import node_image
    from cove.images import ImageBuildError

    settings = _settings(ctx.find_root(), db=url)
    if apps:
        _build_app_images(settings, apps, force=force)
        return
    try:
        node_image.engine_version(settings)
        built = node_image.ensure_node_image(
            settings, force=force, log=lambda line: click.echo(line, err=True)
        )
    except ImageBuildError as exc:  # EngineUnavailable names scripts/docker-engine.sh
        raise click.ClickException(str(exc)) from None
    name = node_image.register(settings, built)
    click.echo(f"{'built' if built.created else 'found'} {built.ref} (docker.io {built.version})")
    click.echo(f"registered as image {name!r} (os_distro {built.os_distro})")


def _echo_err(prefix: str, line: str) -> None:
    click.echo(f"{prefix}{line}", err=True)


def _build_app_images(settings: Settings, names: tuple[str, ...], *, force: bool) -> None:
    from cove.images import ImageBuildError
    from cove.images import apps as app_images

    wanted = sorted(app_images.APPS) if "all" in names else list(dict.fromkeys(names))
    try:
        for name in wanted:
            app_images.get_app(name)  # an unknown name fails before anything is built
        for name in wanted:
            built = app_images.ensure_app_image(
                name,
                settings.state_dir,
                docker_host=settings.docker_host,
                force=force,
                log=functools.partial(_echo_err, f"{name}: "),
            )
            package = app_images.get_app(name).recipe.version_package
            verb = "built" if built.created else "found"
            click.echo(f"{verb} {built.ref} ({package} {built.version})")
    except ImageBuildError as exc:  # UnknownApp; EngineUnavailable names the fix
        raise click.ClickException(str(exc)) from None


@image.command("apps")
@output.output_options
@click.pass_context
def image_apps(ctx: click.Context, fmt: str, columns: tuple[str, ...]) -> None:
    """The application images cove can build: name, tag, whether cove's engine has it
    (unknown when no engine answers), and the Debian packages it is made of."""
    from cove.images import ImageBuildError, image_tag
    from cove.images import apps as app_images

    settings = _settings(ctx.find_root())
    rows = []
    for name, app in sorted(app_images.APPS.items()):
        try:
            found = app_images.find_app_image(name, docker_host=settings.docker_host)
            built: bool | None = found is not None
        except ImageBuildError:  # no engine answers: say so rather than fail the listing
            built = None
        packages = [p for p in app.recipe.packages if p != "python3"]
        rows.append(
            {"name": name, "image": image_tag(app.recipe), "built": built, "packages": packages}
        )
    output.print_list(rows, ("name", "image", "built", "packages"), fmt, columns)


catalog.add_image_commands(image)
for group in (
    templates.template,
    clusters.cluster,
    containers,
    deployments.deployment,
    apps.catalog,
    apps.app,
    nodegroups.nodegroup,
    certificates.ca,
    quotas.quota,
    quotas.stats,
    quotas.service,
    catalog.flavor,
    catalog.keypair,
    catalog.network,
    completion.completion,
    quickstart.up,
    quickstart.down,
    doctor.doctor,
    keystone_commands.keystone,
):
    cli.add_command(group)


def main() -> None:
    cli(prog_name="cove")


if __name__ == "__main__":
    main()
