"""Keystone mode's checks made before any token reaches Keystone: the [keystone_authtoken]
options cove starts with, and the headers that cannot hold a token. (Validation itself is
proven against a real Keystone in tests/identity.)"""

from __future__ import annotations

import re

import pytest

from cove.api import keystone

SERVICE = {
    "auth_url": "http://keystone.example/v3",
    "username": "cove",
    "password": "secret",
    "project_name": "service",
}


def test_options_get_coves_defaults_under_the_operators() -> None:
    options = keystone.authtoken_options({**SERVICE, "token_cache_time": "5"})
    assert options["delay_auth_decision"] == "false"
    assert options["include_service_catalog"] == "false"
    assert options["service_token_roles_required"] == "true"
    assert options["www_authenticate_uri"] == SERVICE["auth_url"]
    assert options["token_cache_time"] == "5"
    mine = keystone.authtoken_options({**SERVICE, "www_authenticate_uri": "https://public/v3"})
    assert mine["www_authenticate_uri"] == "https://public/v3"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs [keystone_authtoken] auth_url, username, password, project_name"),
        ({**SERVICE, "password": ""}, "needs [keystone_authtoken] password"),
        ({**SERVICE, "pasword": "x"}, "unknown [keystone_authtoken] option(s): pasword"),
        ({**SERVICE, "auth_type": "pasword"}, "auth_type 'pasword' is not an auth plugin"),
    ],
)
def test_options_that_cannot_work_are_named(options: dict[str, str], message: str) -> None:
    with pytest.raises(keystone.KeystoneConfigError, match=re.escape(message)):
        keystone.authtoken_options(options)


def test_another_auth_plugin_takes_its_own_options() -> None:
    options = {"auth_type": "v3applicationcredential", "auth_url": SERVICE["auth_url"],
               "application_credential_id": "id", "application_credential_secret": "s"}  # fmt: skip
    assert keystone.authtoken_options(options)["auth_type"] == "v3applicationcredential"
    with pytest.raises(keystone.KeystoneConfigError, match=re.escape("option(s): password")):
        keystone.authtoken_options({**options, "password": "secret"})


@pytest.mark.parametrize(
    "value",
    [b"", b"x" * (keystone.MAX_TOKEN_BYTES + 1), b"a b", b"a\tb", b"t\xe9", b"a\x00b", b"\x7f"],
)
def test_headers_that_cannot_hold_a_token(value: bytes) -> None:
    assert not keystone._may_be_token(value)


def test_fernet_and_jws_shaped_tokens_pass_to_keystone() -> None:
    assert keystone._may_be_token(b"gAAAAABn" + b"-_=" * 60)
    assert keystone._may_be_token(b"eyJhbGciOiJFUzI1NiJ9." + b"a" * 700 + b".sig")


def test_headers_go_through_an_environ_and_back() -> None:
    headers = [(b"x-auth-token", b"tok"), (b"content-type", b"application/json"),
               (b"x-roles", b"a"), (b"x-roles", b"b")]  # fmt: skip
    environ = keystone._environ("GET", "/v1/clusters", headers)
    assert environ["HTTP_X_AUTH_TOKEN"] == "tok" and environ["CONTENT_TYPE"] == "application/json"
    assert environ["HTTP_X_ROLES"] == "a,b"
    environ["HTTP_X_PROJECT_ID"] = "p1"
    environ["HTTP_X_USER_ID"] = None  # auth_token leaves unset headers as None
    back = dict(keystone._headers_of(environ))
    assert back[b"x-project-id"] == b"p1" and b"x-user-id" not in back
    assert back[b"content-type"] == b"application/json" and back[b"x-roles"] == b"a,b"
