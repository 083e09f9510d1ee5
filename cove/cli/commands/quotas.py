"""``cove quota`` (admin), ``cove stats`` and ``cove service``: /v1/quotas, /v1/stats and
/v1/mservices."""

from __future__ import annotations

import click

from cove.cli.options import for_each, get_client
from cove.cli.output import output_options, print_list, print_object

QUOTA_COLUMNS = ("project_id", "resource", "hard_limit")
SERVICE_COLUMNS = ("id", "host", "binary", "state", "disabled", "updated_at")
RESOURCE = click.option(
    "--resource", default="Cluster", show_default=True, help="the resource limited"
)


@click.group("quota")
def quota() -> None:
    """Per-project limits on clusters (admin).

    A project without a quota of its own gets the operator's default
    (max_clusters_per_project).
    """


@quota.command("create")
@click.option("--project", required=True, help="project id")
@RESOURCE
@click.option("--hard-limit", type=click.IntRange(min=0), required=True, help="the limit")
@output_options
def create(
    project: str, resource: str, hard_limit: int, fmt: str, columns: tuple[str, ...]
) -> None:
    """Set a project's quota."""
    body = {"project_id": project, "resource": resource, "hard_limit": hard_limit}
    print_object(get_client().post("quotas", body), fmt, columns)


@quota.command("list")
@click.option("--all-projects", is_flag=True, help="every project's, not only your own")
@output_options
def list_(all_projects: bool, fmt: str, columns: tuple[str, ...]) -> None:
    """List quotas."""
    items = get_client().collect("quotas", "quotas", all_tenants=all_projects or None)
    print_list(items, QUOTA_COLUMNS, fmt, columns)


@quota.command("show")
@click.argument("project")
@RESOURCE
@output_options
def show(project: str, resource: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show PROJECT's quota (its own, or the default that applies)."""
    print_object(get_client().get(f"quotas/{project}/{resource}"), fmt, columns)


@quota.command("update")
@click.argument("project")
@RESOURCE
@click.option("--hard-limit", type=click.IntRange(min=0), required=True, help="the new limit")
@output_options
def update(
    project: str, resource: str, hard_limit: int, fmt: str, columns: tuple[str, ...]
) -> None:
    """Change PROJECT's quota."""
    body = {"project_id": project, "resource": resource, "hard_limit": hard_limit}
    print_object(get_client().patch(f"quotas/{project}/{resource}", body), fmt, columns)


@quota.command("delete")
@click.argument("projects", nargs=-1, required=True)
@RESOURCE
def delete(projects: tuple[str, ...], resource: str) -> None:
    """Delete quotas: the projects fall back to the default."""
    client = get_client()

    def delete_one(project: str) -> None:
        client.delete(f"quotas/{project}/{resource}")
        click.echo(f"quota of {project} for {resource} deleted", err=True)

    for_each(projects, delete_one)


@click.command("stats")
@click.option("--project", help="project id (admin; default: every project)")
@output_options
def stats(project: str | None, fmt: str, columns: tuple[str, ...]) -> None:
    """Count clusters and nodes (yours, or a project's)."""
    print_object(get_client().get("stats", project_id=project), fmt, columns)


@click.group("service")
def service() -> None:
    """cove's conductors, as Magnum's `service list` shows them."""


@service.command("list")
@output_options
def service_list(fmt: str, columns: tuple[str, ...]) -> None:
    """List conductors and whether they are up."""
    items = get_client().get("mservices").get("mservices", [])
    print_list(items, SERVICE_COLUMNS, fmt, columns)
