"""A real Keystone for tests: keystone 30.0.0 from PyPI (``scripts/install-clients.sh
keystone``) on SQLite, bootstrapped with ``keystone-manage`` and served by uWSGI on a free
loopback port, plus what tests do with it through its v3 API: projects, users with roles,
tokens, revocation, cove's services in the catalog.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-clients" / "keystone"
ADMIN_PASSWORD = "keystone-admin-secret"
REGION = "RegionOne"
READY_TIMEOUT = 60.0


def install(*venvs: str) -> None:
    """The keystone venv (or the named client venvs), installed or confirmed: idempotent,
    serialised across workers by the script's lock."""
    script = ROOT / "scripts" / "install-clients.sh"
    names = list(venvs or ("keystone",))
    proc = subprocess.run(
        ["bash", str(script), *names], capture_output=True, text=True, timeout=1800
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{script} {names} failed:\n{proc.stdout}\n{proc.stderr}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class User:
    name: str
    password: str
    id: str
    project: str  # the project's name
    project_id: str


@dataclass
class Keystone(ServerProcess):
    """A running Keystone. ``url`` is its root; clients take ``auth_url`` (``…/v3``)."""

    workdir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    _admin_token: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/v3"

    # -- life cycle ---------------------------------------------------------------------------

    @classmethod
    def start(cls, workdir: Path) -> Keystone:
        workdir.mkdir(parents=True, exist_ok=True)
        keystone = cls(workdir, free_port())
        keystone._configure()
        keystone.serve()
        return keystone

    def short_lived(self, seconds: int) -> Keystone:
        """A second Keystone on the same database and keys whose tokens expire after
        ``seconds``: they are this one's users and tokens, only short-lived."""
        twin = Keystone(self.workdir / f"expiring-{seconds}", free_port())
        twin.workdir.mkdir(exist_ok=True)
        twin.config.write_text(self._config_text(self.workdir, expiration=seconds))
        twin.serve()
        return twin

    def _configure(self) -> None:
        for name in ("fernet-keys", "credential-keys"):
            (self.workdir / name).mkdir(mode=0o700, exist_ok=True)
        self.config.write_text(self._config_text(self.workdir))
        self._manage("db_sync")
        self._manage("fernet_setup", "--keystone-user", "root", "--keystone-group", "root")
        self._manage("credential_setup", "--keystone-user", "root", "--keystone-group", "root")
        self._manage(
            "bootstrap",
            "--bootstrap-password", ADMIN_PASSWORD,
            "--bootstrap-admin-url", self.auth_url,
            "--bootstrap-internal-url", self.auth_url,
            "--bootstrap-public-url", self.auth_url,
            "--bootstrap-region-id", REGION,
        )  # fmt: skip

    @staticmethod
    def _config_text(home: Path, expiration: int = 3600) -> str:
        return textwrap.dedent(
            f"""\
            [database]
            connection = sqlite:///{home / "keystone.db"}
            [token]
            provider = fernet
            expiration = {expiration}
            [fernet_tokens]
            key_repository = {home / "fernet-keys"}
            [credential]
            key_repository = {home / "credential-keys"}
            """
        )

    @property
    def config(self) -> Path:
        return self.workdir / "keystone.conf"

    def _manage(self, *args: str) -> None:
        argv = [str(VENV / "bin" / "keystone-manage"), "--config-file", str(self.config), *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"keystone-manage {args[0]} failed:\n{proc.stderr[-3000:]}")

    def serve(self) -> None:
        """Start (or restart) uWSGI on this Keystone's port; return once it answers.
        ``--http11-socket``: ``--http-socket`` resets kept-alive connections."""
        argv = [
            str(VENV / "bin" / "uwsgi"),
            "--http11-socket", f"127.0.0.1:{self.port}",
            "--module", "keystone.wsgi.api:application",
            "--master", "--processes", "1", "--threads", "4", "--lazy-apps",
            "--die-on-term", "--need-app", "--disable-logging",
        ]  # fmt: skip
        env = {**os.environ, "OS_KEYSTONE_CONFIG_DIR": str(self.workdir)}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, cwd=self.workdir, env=env)
        deadline = time.monotonic() + READY_TIMEOUT
        delay = 0.05
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"keystone exited:\n{self.tail()}")
            try:
                if httpx.get(f"{self.auth_url}/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                tail = self.tail()
                raise RuntimeError(f"keystone did not answer in {READY_TIMEOUT} s:\n{tail}")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    @property
    def log(self) -> Path:
        return self.workdir / "uwsgi.log"

    # -- the v3 API ------------------------------------------------------------------------

    def token(self, user: str, password: str, project: str | None = None) -> str:
        """A token for ``user`` (scoped to ``project`` by name, else unscoped)."""
        auth: dict[str, Any] = {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"id": "default"}, "password": password}
                },
            }
        }
        if project is not None:
            auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
        resp = httpx.post(f"{self.auth_url}/auth/tokens", json={"auth": auth}, timeout=30)
        resp.raise_for_status()
        return resp.headers["X-Subject-Token"]

    def admin_token(self) -> str:
        if not self._admin_token:
            self._admin_token = self.token("admin", ADMIN_PASSWORD, "admin")
        return self._admin_token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """An admin call to the v3 API; the decoded answer (None when empty)."""
        resp = httpx.request(
            method,
            f"{self.auth_url}{path}",
            json=body,
            headers={"X-Auth-Token": self.admin_token()},
            timeout=30,
        )
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def role_id(self, name: str) -> str:
        roles = self.call("GET", f"/roles?name={name}")["roles"]
        return str(roles[0]["id"])

    def project(self, name: str) -> str:
        """Project ``name`` (made if missing); its id."""
        found = self.call("GET", f"/projects?name={name}")["projects"]
        if found:
            return str(found[0]["id"])
        made = self.call("POST", "/projects", {"project": {"name": name, "domain_id": "default"}})
        return str(made["project"]["id"])

    def user(self, name: str, project: str, *roles: str, password: str = "") -> User:
        """User ``name`` with ``roles`` on ``project`` (both made if missing)."""
        password = password or f"{name}-password"
        project_id = self.project(project)
        found = self.call("GET", f"/users?name={name}")["users"]
        if found:
            user_id = str(found[0]["id"])
        else:
            body = {"user": {"name": name, "password": password, "domain_id": "default"}}
            user_id = str(self.call("POST", "/users", body)["user"]["id"])
        for role in roles:
            self.call("PUT", f"/projects/{project_id}/users/{user_id}/roles/{self.role_id(role)}")
        return User(name, password, user_id, project, project_id)

    def user_token(self, user: User) -> str:
        return self.token(user.name, user.password, user.project)

    def revoke(self, token: str) -> None:
        resp = httpx.delete(
            f"{self.auth_url}/auth/tokens",
            headers={"X-Auth-Token": self.admin_token(), "X-Subject-Token": token},
            timeout=30,
        )
        resp.raise_for_status()

    def service_user(self, name: str = "cove") -> User:
        """cove's own service user (admin and service roles on the ``service`` project), whose
        credentials go into cove's ``[keystone_authtoken]``."""
        if not self.call("GET", "/roles?name=service")["roles"]:
            self.call("POST", "/roles", {"role": {"name": "service"}})
        return self.user(name, "service", "admin", "service")

    def authtoken_options(self, user: User, **extra: str) -> dict[str, str]:
        """cove's ``[keystone_authtoken]`` for ``user``."""
        return {
            "auth_url": self.auth_url,
            "www_authenticate_uri": self.auth_url,
            "username": user.name,
            "password": user.password,
            "project_name": user.project,
            **extra,
        }


def register_cove(keystone: Keystone, url: str, *options: str) -> str:
    """``cove keystone register --url URL`` as an operator runs it, with an admin's openrc;
    what it printed."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(keystone.workdir),
        "OS_AUTH_URL": keystone.auth_url,
        "OS_USERNAME": "admin",
        "OS_PASSWORD": ADMIN_PASSWORD,
        "OS_PROJECT_NAME": "admin",
    }
    cove = Path(sys.executable).with_name("cove")
    proc = subprocess.run(
        [str(cove), "keystone", "register", "--url", url, *options],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"cove keystone register failed:\n{proc.stderr}")
    return proc.stdout
