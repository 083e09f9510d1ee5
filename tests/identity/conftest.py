"""A real Keystone and ``cove serve`` in keystone mode validating its tokens, registered in
Keystone's catalog by ``cove keystone register``; projects A and B with a member, a reader
and an administrator each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import pg_database
from tests.support import keystone as ks
from tests.support.server import serve

# Short, so revocation is seen within a test; cove's default is auth_token's (300 s).
TOKEN_CACHE_SECONDS = 2
LATEST = {"OpenStack-API-Version": "container-infra latest"}


@pytest.fixture(scope="session")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ks.Keystone]:
    ks.install()
    server = ks.Keystone.start(tmp_path_factory.mktemp("keystone"))
    yield server
    server.stop()


@dataclass
class People:
    a_member: ks.User
    a_reader: ks.User
    a_admin: ks.User
    b_member: ks.User
    b_reader: ks.User
    b_admin: ks.User


@pytest.fixture(scope="session")
def people(keystone: ks.Keystone) -> People:
    return People(
        keystone.user("a-member", "project-a", "member", "reader"),
        keystone.user("a-reader", "project-a", "reader"),
        keystone.user("a-admin", "project-a", "admin", "member", "reader"),
        keystone.user("b-member", "project-b", "member", "reader"),
        keystone.user("b-reader", "project-b", "reader"),
        keystone.user("b-admin", "project-b", "admin", "member", "reader"),
    )


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def cove_url(
    request: pytest.FixtureRequest, keystone: ks.Keystone, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """cove serve in keystone mode, on SQLite and on PostgreSQL."""
    options = keystone.authtoken_options(
        keystone.service_user(), token_cache_time=str(TOKEN_CACHE_SECONDS)
    )
    config = {"auth_mode": "keystone", "keystone_authtoken": options}
    with ExitStack() as stack:
        db = stack.enter_context(pg_database()) if request.param == "postgresql" else ""
        url = stack.enter_context(serve(tmp_path_factory.mktemp("cove"), config, db))
        register(keystone, url)
        yield url


def register(keystone: ks.Keystone, url: str) -> None:
    """The catalog points at this cove (the previous one's endpoints are updated)."""
    printed = ks.register_cove(keystone, url, "--cloud-apis")
    assert f"endpoint container-infra public {url}/v1:" in printed
    assert f"endpoint clustering public {url}/clustering:" in printed
    assert f"endpoint compute public {url}/cloud/compute/v2.1:" in printed
    # again: nothing to change
    again = ks.register_cove(keystone, url, "--cloud-apis")
    assert "created" not in again and "updated" not in again


@pytest.fixture(scope="session")
def as_user(keystone: ks.Keystone, cove_url: str) -> Iterator[Callable[[ks.User], httpx.Client]]:
    """``as_user(user)``: an HTTP client to cove carrying a fresh real token of ``user``."""
    made: list[httpx.Client] = []

    def make(user: ks.User) -> httpx.Client:
        token = keystone.user_token(user)
        client = httpx.Client(
            base_url=cove_url, headers={**LATEST, "X-Auth-Token": token}, timeout=30
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
