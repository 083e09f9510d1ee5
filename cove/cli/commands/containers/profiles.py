"""``cove containers profile``: what each container of a cluster runs, and where (Senlin's
profiles of type ``container.dockerinc.docker-1.0``), from flags or a spec file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import yaml

from cove.cli import completion
from cove.cli.commands.containers import api
from cove.cli.options import for_each
from cove.cli.output import output_options, print_list, print_object

PROFILE_TYPE = "container.dockerinc.docker"
LIST_COLUMNS = ("id", "name", "type", "created_at")
RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")
# Docker's -p: [PUBLISHED:]CONTAINER[/PROTOCOL]
PORT = re.compile(r"^(?:(?P<published>\d+):)?(?P<container>\d+)(?:/(?P<protocol>tcp|udp))?$")


def _key_value(value: str, option: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
    return key.strip(), val


def parse_port(value: str) -> dict[str, Any]:
    match = PORT.match(value.strip())
    if match is None:
        raise click.BadParameter(
            f"{value!r} is not [PUBLISHED:]CONTAINER[/tcp|/udp] (e.g. 80, 8080:80, 53/udp)",
            param_hint="--port",
        )
    port: dict[str, Any] = {"container_port": int(match["container"])}
    if match["published"]:
        port["published_port"] = int(match["published"])
    port["protocol"] = match["protocol"] or "tcp"
    for key in ("container_port", "published_port"):
        if key in port and not 1 <= port[key] <= 65535:
            raise click.BadParameter(f"{value!r}: ports are 1 to 65535", param_hint="--port")
    return port


def parse_volume(value: str) -> dict[str, Any]:
    parts = value.split(":")
    if len(parts) == 3 and parts[2] in ("ro", "rw"):
        source, target, mode = parts
    elif len(parts) == 2:
        (source, target), mode = parts, "rw"
    else:
        raise click.BadParameter(f"{value!r} is not SOURCE:TARGET[:ro]", param_hint="--volume")
    if not source or not target:
        raise click.BadParameter(f"{value!r} is not SOURCE:TARGET[:ro]", param_hint="--volume")
    return {"source": source, "target": target, "read_only": mode == "ro"}


def spec_from_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """The Senlin spec the flags describe (only what was given)."""
    props: dict[str, Any] = {"image": flags["image"]}
    for key in ("host_cluster", "host_node", "command", "restart_policy"):
        if flags.get(key):
            props[key] = flags[key]
    if flags["env"]:
        props["env"] = dict(_key_value(v, "--env") for v in flags["env"])
    if flags["port"]:
        props["ports"] = [parse_port(v) for v in flags["port"]]
    if flags["volume"]:
        props["volumes"] = [parse_volume(v) for v in flags["volume"]]
    resources = {
        k: v for k, v in (("cpu", flags["cpu"]), ("memory", flags["memory"])) if v is not None
    }
    if resources:
        props["resources"] = resources
    if flags["health_cmd"]:
        props["health_check"] = {"test": flags["health_cmd"]}
    if flags["label"]:
        props["labels"] = dict(_key_value(v, "--label") for v in flags["label"])
    return {"type": PROFILE_TYPE, "version": 1.0, "properties": props}


def read_spec(path: Path) -> dict[str, Any]:
    """A spec file (YAML or JSON) as Senlin's clients read it."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise click.BadParameter(f"{path} is not YAML: {exc}", param_hint="--spec-file") from None
    if not isinstance(spec, dict):
        raise click.BadParameter(f"{path} is not a YAML mapping", param_hint="--spec-file")
    return spec


@click.group("profile")
def profile() -> None:
    """Profiles: the container each member runs (image, command, ports …) and the cove
    cluster (--host-cluster) or node it is placed on."""


@profile.command("create")
@click.argument("name")
@click.option(
    "--spec-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Senlin's YAML spec (type, version, properties) instead of the flags",
)
@click.option("--image", help="the container's image")
@click.option(
    "--host-cluster",
    metavar="CLUSTER",
    shell_complete=completion.clusters,
    help="the cove cluster whose nodes run the containers",
)
@click.option("--host-node", metavar="NODE", help="one node of it to run them all on")
@click.option("--command", help="the command the container runs")
@click.option("--env", multiple=True, metavar="K=V", help="environment variable (repeatable)")
@click.option(
    "--port",
    multiple=True,
    metavar="[PUBLISHED:]CONTAINER[/udp]",
    help="a port, as docker's -p: 80, 8080:80, 53/udp (repeatable)",
)
@click.option(
    "--volume",
    multiple=True,
    metavar="SRC:DST[:ro]",
    help="a named volume or host path mounted at DST (repeatable)",
)
@click.option("--cpu", type=click.FloatRange(min=0, min_open=True), help="CPU cores (limit)")
@click.option("--memory", type=click.IntRange(min=1), metavar="MIB", help="memory limit, MiB")
@click.option("--restart-policy", type=click.Choice(RESTART_POLICIES), help="restart policy")
@click.option("--health-cmd", metavar="CMD", help="health check: a shell command")
@click.option("--label", multiple=True, metavar="K=V", help="container label (repeatable)")
@output_options
def create(
    name: str, spec_file: Path | None, fmt: str, columns: tuple[str, ...], **flags: Any
) -> None:
    """Create profile NAME from the flags, or from --spec-file."""
    given = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v not in (None, ())]
    if spec_file is not None:
        if given:
            raise click.UsageError(f"--spec-file cannot be combined with {', '.join(given)}")
        spec = read_spec(spec_file)
    else:
        if not flags["image"]:
            raise click.UsageError(
                "give --image (and --host-cluster or --host-node), or --spec-file"
            )
        if not flags["host_cluster"] and not flags["host_node"]:
            raise click.UsageError("give --host-cluster (or --host-node): where to run them")
        spec = spec_from_flags(flags)
    body = {"profile": {"name": name, "spec": spec}}
    print_object(api.client().post("profiles", body)["profile"], fmt, columns)


@profile.command("list")
@output_options
def list_(fmt: str, columns: tuple[str, ...]) -> None:
    """List profiles."""
    print_list(api.collect(api.client(), "profiles", "profiles"), LIST_COLUMNS, fmt, columns)


@profile.command("show")
@click.argument("profile", shell_complete=completion.container_profiles)
@output_options
def show(profile: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a profile and its spec."""
    print_object(api.client().get(f"profiles/{profile}")["profile"], fmt, columns)


@profile.command("delete")
@click.argument("profiles", nargs=-1, required=True, shell_complete=completion.container_profiles)
def delete(profiles: tuple[str, ...]) -> None:
    """Delete profiles (refused while a cluster or node uses one)."""
    client = api.client()

    def one(ident: str) -> None:
        client.delete(f"profiles/{ident}")
        click.echo(f"profile {ident} deleted", err=True)

    for_each(profiles, one)
