"""Where client commands send requests, and with which token: ``--os-token``/``OS_TOKEN`` as
given; else, when an openrc is loaded (``OS_AUTH_URL`` …), a Keystone login as the OpenStack
clients do it, and cove's ``container-infra`` endpoint from the catalog unless ``--url`` /
``COVE_URL`` names one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click

from cove.cli.client import DEFAULT_URL, CliError, base_url

SERVICE_TYPE = "container-infra"


@dataclass(frozen=True)
class Login:
    url: str
    token: str | None


def resolve() -> Login:
    """The root command's URL and token, logging in to Keystone when that is how the user
    authenticates; made once per invocation."""
    root = click.get_current_context().find_root()
    obj = root.ensure_object(dict)
    if "login" not in obj:
        url, token = obj.get("url") or DEFAULT_URL, obj.get("token") or None
        if token is None and wants_keystone(os.environ):
            token, found = keystone_login(os.environ)
            if not obj.get("url_given") and found:
                url = found
        obj["login"] = Login(url, token)
    login: Login = obj["login"]
    return login


def wants_keystone(env: Mapping[str, str]) -> bool:
    return bool(env.get("OS_AUTH_URL")) and env.get("OS_AUTH_TYPE", "password") != "none"


def keystone_login(env: Mapping[str, str]) -> tuple[str, str | None]:
    """A token from Keystone with the auth plugin's options read from ``OS_*`` variables
    (``OS_AUTH_TYPE``, default password), and cove's base URL from the catalog, if there."""
    from keystoneauth1 import exceptions, loading, session

    auth_type = env.get("OS_AUTH_TYPE", "password")
    try:
        loader: Any = loading.get_plugin_loader(auth_type)
        options = {
            opt.dest: env[name]
            for opt in loader.get_options()
            if (name := "OS_" + opt.dest.upper()) in env
        }
        auth_session = session.Session(auth=loader.load_from_options(**options))
        token = auth_session.get_token()
    except exceptions.ClientException as exc:
        raise CliError(f"Keystone login at {env['OS_AUTH_URL']} failed: {exc}") from None
    if token is None:
        raise CliError(f"Keystone at {env['OS_AUTH_URL']} gave no token")
    try:
        endpoint = auth_session.get_endpoint(
            service_type=SERVICE_TYPE,
            interface=env.get("OS_INTERFACE", "public"),
            region_name=env.get("OS_REGION_NAME") or None,
        )
    except exceptions.EndpointNotFound:
        endpoint = None
    return token, base_url(endpoint) if endpoint else None
