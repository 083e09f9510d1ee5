"""``cove keystone register``: cove's services and endpoints in Keystone's catalog, so the
OpenStack clients find it from a password login alone (no endpoint override), as they find
Magnum and Senlin: ``container-infra`` at ``<url>/v1`` and ``clustering`` at
``<url>/clustering``. Idempotent: what exists is kept, a URL that changed is updated."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click

INTERFACES = ("public", "internal", "admin")


@dataclass(frozen=True)
class Service:
    type: str
    name: str
    description: str
    path: str  # appended to cove's base URL


SERVICES = (
    Service("container-infra", "magnum", "Container Infrastructure Management (cove)", "/v1"),
    Service("clustering", "senlin", "Clustering (cove)", "/clustering"),
)
# cove's catalog of images, flavors, key pairs and networks, read through Glance's, Nova's
# and Neutron's APIs: for a cove standing alone, where no cloud provides them.
CLOUD_SERVICES = (
    Service("image", "glance", "Images of cove's catalog (read-only)", "/cloud/image"),
    Service("compute", "nova", "Flavors and key pairs of cove's catalog (read-only)",
            "/cloud/compute/v2.1"),
    Service("network", "neutron", "Networks of cove's catalog (read-only)", "/cloud/network"),
)  # fmt: skip


@dataclass(frozen=True)
class Credentials:
    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain_name: str
    project_domain_name: str


def register(
    credentials: Credentials,
    base_url: str,
    region: str,
    interfaces: Iterable[str],
    services: Iterable[Service] = SERVICES,
) -> list[str]:
    """Make the catalog hold cove's services at ``base_url``; one line per change or check."""
    from keystoneauth1 import session as ka_session
    from keystoneauth1.identity import v3
    from keystoneclient.v3 import client as ks_client

    auth = v3.Password(
        auth_url=credentials.auth_url,
        username=credentials.username,
        password=credentials.password,
        project_name=credentials.project_name,
        user_domain_name=credentials.user_domain_name,
        project_domain_name=credentials.project_domain_name,
    )
    keystone = ks_client.Client(session=ka_session.Session(auth=auth), interface="public")
    lines = []
    interfaces = list(interfaces)
    base_url = base_url.rstrip("/")
    for wanted in services:
        found = keystone.services.list(type=wanted.type)
        if found:
            service: Any = found[0]
            lines.append(f"service {wanted.type} ({service.name}): exists")
        else:
            service = keystone.services.create(
                name=wanted.name, type=wanted.type, description=wanted.description
            )
            lines.append(f"service {wanted.type} ({wanted.name}): created")
        url = base_url + wanted.path
        for interface in interfaces:
            existing = keystone.endpoints.list(service=service, interface=interface, region=region)
            label = f"endpoint {wanted.type} {interface} {url}"
            if not existing:
                keystone.endpoints.create(
                    service=service, url=url, interface=interface, region=region
                )
                lines.append(f"{label}: created")
            elif existing[0].url != url:
                keystone.endpoints.update(existing[0], url=url)
                lines.append(f"{label}: updated (was {existing[0].url})")
            else:
                lines.append(f"{label}: exists")
    return lines


@click.group()
def keystone() -> None:
    """cove in Keystone: its services and endpoints in the catalog (docs/identity.md)."""


@keystone.command("register")
@click.option(
    "--url",
    "base_url",
    required=True,
    help="cove's base URL as clients reach it, e.g. http://cove.example:9511",
)
@click.option("--region", default="RegionOne", envvar="OS_REGION_NAME", show_default=True)
@click.option(
    "--interface",
    "interfaces",
    multiple=True,
    type=click.Choice(INTERFACES),
    help="endpoint interfaces to register (repeatable; default all three)",
)
@click.option(
    "--cloud-apis",
    is_flag=True,
    help="also register cove's image, compute and network read APIs (for Horizon's forms "
    "where no Glance, Nova and Neutron exist)",
)
@click.option("--os-auth-url", envvar="OS_AUTH_URL", required=True, help="Keystone (…/v3)")
@click.option("--os-username", envvar="OS_USERNAME", required=True)
@click.option("--os-password", envvar="OS_PASSWORD", required=True)
@click.option("--os-project-name", envvar="OS_PROJECT_NAME", required=True)
@click.option("--os-user-domain-name", envvar="OS_USER_DOMAIN_NAME", default="Default")
@click.option("--os-project-domain-name", envvar="OS_PROJECT_DOMAIN_NAME", default="Default")
def keystone_register(
    base_url: str,
    region: str,
    interfaces: tuple[str, ...],
    cloud_apis: bool,
    os_auth_url: str,
    os_username: str,
    os_password: str,
    os_project_name: str,
    os_user_domain_name: str,
    os_project_domain_name: str,
) -> None:
    """Register cove's container-infra (Magnum's API, at URL/v1) and clustering (Senlin's,
    at URL/clustering) services and their endpoints in Keystone's catalog.

    Credentials are an administrator's, from the usual OS_* variables (an openrc) or the
    options. Run it again after cove moves: changed endpoint URLs are updated."""
    from keystoneauth1 import exceptions as ka_exceptions

    credentials = Credentials(
        os_auth_url,
        os_username,
        os_password,
        os_project_name,
        os_user_domain_name,
        os_project_domain_name,
    )
    try:
        services = SERVICES + CLOUD_SERVICES if cloud_apis else SERVICES
        lines = register(credentials, base_url, region, interfaces or INTERFACES, services)
    except ka_exceptions.ClientException as exc:
        raise click.ClickException(f"Keystone refused or did not answer: {exc}") from None
    for line in lines:
        click.echo(line)
