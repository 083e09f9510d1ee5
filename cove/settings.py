"""cove's configuration: one object, read once at process start and passed down.

Sources, later ones winning: defaults, a TOML config file (``--config`` or ``COVE_CONFIG``),
environment variables ``COVE_<FIELD>`` (``COVE_DB``, ``COVE_AUTH_MODE`` …), command-line flags.
No module reads ``os.environ`` after this.
"""

from __future__ import annotations

import ipaddress
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cove.providers.engine_address import DEFAULT_DOCKER_HOST


class AuthMode(StrEnum):
    # No authentication: identity headers are honoured when sent, else the caller is the
    # local administrator. Only allowed on a loopback address unless forced.
    NOAUTH = "noauth"
    # Validate each request's X-Auth-Token with Keystone (keystonemiddleware's auth_token
    # in-process, options from ``keystone_authtoken``); identity headers clients send are
    # ignored.
    KEYSTONE = "keystone"
    # Trust the identity headers (X-Project-Id, X-User-Id, X-Roles …) a proxy in front of
    # cove sets after validating the token; a request without them is refused with 401.
    # Whoever reaches cove directly can claim any identity: loopback only unless forced.
    TRUSTED_HEADERS = "trusted-headers"


def default_state_dir() -> Path:
    return Path.home() / ".local" / "share" / "cove"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COVE_", extra="forbid")

    db: str = Field(
        default="",
        description="SQLAlchemy URL; empty means SQLite in the state directory",
    )
    state_dir: Path = Field(default_factory=default_state_dir)
    host: str = "127.0.0.1"
    port: int = 9511
    auth_mode: AuthMode | None = Field(
        default=None, description="noauth or keystone; default noauth on loopback, else keystone"
    )
    allow_noauth_remote: bool = False
    allow_trusted_headers_remote: bool = False
    # keystone mode's keystonemiddleware options, named as in Magnum's [keystone_authtoken]
    # (auth_url, username, password, project_name, www_authenticate_uri, token_cache_time,
    # memcached_servers …). Kept out of repr: it holds the service user's password.
    keystone_authtoken: dict[str, str] = Field(default_factory=dict, repr=False)
    max_clusters_per_project: int = 20
    max_limit: int = 1000
    # The clustering API's cap on a container cluster's size (Senlin's max_nodes_per_cluster).
    max_nodes_per_cluster: int = Field(default=1000, ge=1)
    # Import paths ("module:Class") of drivers to load besides the built-in ones.
    extra_drivers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long a conductor's claim on an operation lasts without renewal.
    lease_seconds: float = 30.0
    # Fallback scan for work when no wake-up arrives (another process, missed signal).
    scan_interval: float = 5.0
    # How often the conductor checks the health of settled clusters.
    health_interval: float = 10.0
    log_level: str = "INFO"
    # Fault injection for crash tests: a conductor SIGKILLs itself right after recording an
    # operation step whose name matches this glob (e.g. "join:*"). Empty: never.
    fault_kill_after_step: str = ""
    # cove's own Docker engine, for nodes and for building the node image. Never the
    # caller's DOCKER_HOST: after `eval "$(cove up)"` that points at a cluster.
    docker_host: str = DEFAULT_DOCKER_HOST
    # The host address nodes' and services' ports are published on (the managers' engine
    # API, the balancer, service ports). Loopback by default: with tls_disabled a published
    # engine API is root on the node for whoever reaches it. "0.0.0.0" publishes on every
    # address (see docs/networking.md).
    publish_address: str = "127.0.0.1"
    # The largest request body accepted, in bytes; a larger one is refused with 413.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # The secret key sealing private keys stored in the database (cluster CAs): Fernet keys,
    # comma-separated, the first sealing and all opening. Every process sharing a database
    # needs the same. Empty: the key file below, made on first start.
    secret_key: SecretStr = Field(default=SecretStr(""))
    # Where the secret key lives when ``secret_key`` is empty; default <state_dir>/secret.key.
    secret_key_file: Path | None = None

    @field_validator("docker_host", mode="before")
    @classmethod
    def _default_docker_host(cls, value: Any) -> Any:
        return value or DEFAULT_DOCKER_HOST  # COVE_DOCKER_HOST="" meant the default before

    @field_validator("keystone_authtoken", mode="before")
    @classmethod
    def _option_strings(cls, value: Any) -> Any:
        """TOML gives numbers and booleans; auth_token's paste-style options are strings."""
        if isinstance(value, dict):
            return {
                str(key): (str(item).lower() if isinstance(item, bool) else str(item))
                for key, item in value.items()
            }
        return value

    @field_validator("publish_address")
    @classmethod
    def _check_publish_address(cls, value: str) -> str:
        ipaddress.ip_address(value)  # an IP address, as Docker's port bindings take
        return value

    @field_validator("extra_drivers", mode="before")
    @classmethod
    def _split_drivers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def database_url(self) -> str:
        if self.db:
            return normalise_db_url(self.db)
        return f"sqlite:///{self.state_dir / 'cove.db'}"

    @property
    def secret_key_path(self) -> Path:
        return self.secret_key_file or self.state_dir / "secret.key"

    @property
    def effective_auth_mode(self) -> AuthMode:
        if self.auth_mode is not None:
            return self.auth_mode
        return AuthMode.NOAUTH if is_loopback(self.host) else AuthMode.KEYSTONE


def normalise_db_url(url: str) -> str:
    """PostgreSQL URLs go through psycopg 3 whatever scheme the user wrote."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Defaults < config file < environment < explicit overrides (None values are ignored)."""
    file_values: dict[str, Any] = {}
    if config_file is not None:
        file_values = tomllib.loads(config_file.read_text())
    env_values = Settings().model_dump(exclude_unset=True)
    merged = {**file_values, **env_values}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**merged)
