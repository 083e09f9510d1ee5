"""cove's own Docker engine is a setting (COVE_DOCKER_HOST), handed to the image builder's
docker CLI and to the docker provider; the caller's DOCKER_* variables never steer it. The
CLI's client options come from click's envvars (COVE_URL, OS_TOKEN)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from cove.cli.client import CoveClient
from cove.cli.main import cli
from cove.cli.options import get_client
from cove.providers import engine_address
from cove.providers.docker import DockerProvider
from cove.providers.registry import ProviderSet
from cove.settings import Settings, load_settings


def test_docker_host_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COVE_DOCKER_HOST", raising=False)
    assert Settings().docker_host == engine_address.DEFAULT_DOCKER_HOST
    monkeypatch.setenv("COVE_DOCKER_HOST", "tcp://engine:2375")
    assert load_settings().docker_host == "tcp://engine:2375"
    monkeypatch.setenv("COVE_DOCKER_HOST", "")
    assert load_settings().docker_host == engine_address.DEFAULT_DOCKER_HOST
    assert load_settings(docker_host="unix:///x.sock").docker_host == "unix:///x.sock"


def test_cli_env_aims_the_docker_cli_at_coves_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://a-cluster:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", "/somewhere")
    env = engine_address.cli_env("unix:///cove.sock")
    assert env["DOCKER_HOST"] == "unix:///cove.sock"
    assert "DOCKER_TLS_VERIFY" not in env and "DOCKER_CERT_PATH" not in env
    assert "PATH" in env


def test_provider_gets_the_address_when_constructed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DockerProvider(base_url="tcp://given:2375")._base_url == "tcp://given:2375"
    assert DockerProvider()._base_url == engine_address.DEFAULT_DOCKER_HOST
    providers = ProviderSet("tcp://from-settings:2375")
    assert providers("docker")._base_url == "tcp://from-settings:2375"  # type: ignore[attr-defined]


@click.command()
def _show_client() -> None:
    client = get_client()
    click.echo(f"{client.url} {client._http.headers.get('X-Auth-Token')}")


def test_client_options_come_from_click_envvars() -> None:
    cli.add_command(_show_client, "show-client-for-test")
    try:
        runner = CliRunner()
        env = {"COVE_URL": "http://cove.example:1/v1", "OS_TOKEN": "secret"}
        result = runner.invoke(cli, ["show-client-for-test"], env=env)
        assert result.output.strip() == "http://cove.example:1 secret"
        result = runner.invoke(
            cli,
            ["--os-token", "flag", "show-client-for-test"],
            env={"OS_TOKEN": None, "COVE_URL": None},
        )
        assert result.output.strip() == "http://127.0.0.1:9511 flag"
        result = runner.invoke(
            cli, ["show-client-for-test"], env={"OS_TOKEN": None, "COVE_URL": None}
        )
        assert result.output.strip() == "http://127.0.0.1:9511 None"
    finally:
        cli.commands.pop("show-client-for-test")


def test_from_env_outside_a_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_TOKEN", "t")
    client = CoveClient.from_env(None)
    assert client._http.headers["X-Auth-Token"] == "t"
    client.close()
