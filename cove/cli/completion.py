"""Shell completion: ``cove completion bash|zsh|fish`` prints click's script (it calls
``cove`` back with ``_COVE_COMPLETE`` set), and the names of clusters, templates, and
container clusters, profiles and policies are completed from the API when it answers
quickly."""

from __future__ import annotations

from collections.abc import Callable

import click
from click.shell_completion import CompletionItem, get_completion_class

from cove.cli.client import DEFAULT_URL, CliError, CoveClient

COMPLETE_VAR = "_COVE_COMPLETE"
SHELLS = ("bash", "zsh", "fish")
NAME_TIMEOUT = 1.0  # a slow or absent server must not hang the shell


def _names(
    collection: str, **api: str
) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    """Names of ``collection``'s items; ``api``: another of cove's APIs (CoveClient's
    ``prefix`` and ``api_version``)."""

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        # During completion no callback ran, so the root's --url and --os-token (click has
        # read COVE_URL and OS_TOKEN for them) are only in its params.
        params = ctx.find_root().params
        try:
            client = CoveClient(
                params.get("url") or DEFAULT_URL,
                params.get("token") or None,
                NAME_TIMEOUT,
                **api,
            )
            try:
                items = client.get(collection).get(collection, [])
            finally:
                client.close()
        except (CliError, ValueError):
            return []
        names = sorted({str(i["name"]) for i in items if i.get("name")})
        return [CompletionItem(n) for n in names if n.startswith(incomplete)]

    return complete


clusters = _names("clusters")
templates = _names("clustertemplates")
# The clustering API's (``cove containers``).
_CLUSTERING = {"prefix": "/clustering/v1", "api_version": "clustering 1.14"}
container_clusters = _names("clusters", **_CLUSTERING)
container_profiles = _names("profiles", **_CLUSTERING)
container_policies = _names("policies", **_CLUSTERING)


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    bash:  echo 'eval "$(cove completion bash)"' >> ~/.bashrc
    zsh:   echo 'eval "$(cove completion zsh)"' >> ~/.zshrc
    fish:  cove completion fish > ~/.config/fish/completions/cove.fish
    """
    root = ctx.find_root()
    cls = get_completion_class(shell)
    assert cls is not None  # every name in SHELLS is one of click's
    script = cls(root.command, {}, root.info_name or "cove", COMPLETE_VAR).source()
    click.echo(script)
