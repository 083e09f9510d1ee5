"""Fixtures for the compatibility suite: the real OpenStack clients against a real cove.

The clients live in their own virtualenvs (``scripts/install-clients.sh``, run once per session,
idempotent). A cove server is started once per session on a free loopback port with a fresh
SQLite database and the ``InstantDriver`` test driver (os_distro ``instant``), which completes
every cluster operation at once.

Each client is run exactly as magnum-api.md §4 says a user without Keystone runs it:

- ``openstack --os-auth-type none --os-endpoint http://127.0.0.1:PORT/v1 coe ...`` (``osc``)
- ``magnum --os-token x --os-endpoint-override http://127.0.0.1:PORT/v1 ...`` (4.11, ``magnum``)
- the same with python-magnumclient 3.7.0 for ``bay-*`` / ``baymodel-*`` (``magnum37``)
- openstacksdk with a clouds.yaml (``auth_type: none``, ``auth.endpoint``), as a script run by
  the SDK venv's python (``sdk``)

Every test runs a second time in keystone mode (``[keystone]`` in its id): a real Keystone
(tests/support/keystone.py) validates the tokens, cove is registered in its catalog by
``cove keystone register``, and each client logs in by password (``--os-auth-url``,
``--os-username`` …, a ``password`` clouds.yaml) with no endpoint given.

Set ``COVE_COMPAT_URL=http://host:port`` to aim the suite at an already running server instead.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import keystone as ks
from tests.support.server import serve

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / ".venv-clients"
COVE = Path(sys.executable).with_name("cove")
CALL_TIMEOUT = 90.0
READY_TIMEOUT = 20.0
STATUS_TIMEOUT = 15.0
# The microversion the OSC plugin and the magnum shell send; used by the suite's own API calls.
LATEST = {"OpenStack-API-Version": "container-infra latest"}

INSTANT_IMAGE = "instant-image"
PUBLIC_NETWORK = "public"
KEYPAIR = "compat-key"
FLAVOR = "m1.small"


# --------------------------------------------------------------------------------------------
# small helpers shared by the test modules
# --------------------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    """A name no other test uses; starts with a letter and matches Magnum's name pattern."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Result:
    """What a user sees after running one command."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return (
            f"$ {shlex.join(self.argv)}\n[exit {self.returncode}]\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )

    def json(self) -> Any:
        """The JSON document a ``-f json`` command printed, skipping lines printed before it
        (``coe cluster template create`` prints "Request to create ... accepted" first)."""
        match = re.search(r"^[\[{]", self.stdout, re.MULTILINE)
        assert match, f"no JSON in the output\n{self.describe()}"
        return json.loads(self.stdout[match.start() :])

    def table(self) -> list[dict[str, str]]:
        """Rows of the (last) PrettyTable printed, as dicts keyed by the header cells."""
        return parse_tables(self.stdout)[-1] if parse_tables(self.stdout) else []

    def props(self) -> dict[str, str]:
        """A ``Property | Value`` table (``print_dict``) as a dict. Continuation rows (an empty
        property) are joined to the previous value with a newline."""
        props: dict[str, str] = {}
        last = ""
        for row in self.table():
            key, value = row.get("Property", row.get("Field", "")), row.get("Value", "")
            if key:
                props[key] = value
                last = key
            elif last:
                props[last] += "\n" + value
        assert props, f"no Property/Value table in the output\n{self.describe()}"
        return props


def parse_tables(text: str) -> list[list[dict[str, str]]]:
    """Every PrettyTable in ``text`` (left-aligned, ``|``-separated), as lists of row dicts."""
    tables: list[list[dict[str, str]]] = []
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for line in text.splitlines():
        if line.startswith("+") and line.rstrip().endswith("+"):
            continue
        if line.startswith("|") and line.rstrip().endswith("|"):
            cells = [c.strip() for c in line.strip()[1:-1].split(" | ")]
            if header is None:
                header = cells
                rows = []
                tables.append(rows)
            elif len(cells) == len(header):
                rows.append(dict(zip(header, cells, strict=True)))
            continue
        header = None
    return tables


def literal(value: str) -> Any:
    """A value the magnum shells print with ``str()``: a dict, list, bool, int or ``-`` (None)."""
    if value == "-":
        return None
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


# --------------------------------------------------------------------------------------------
# client runners
# --------------------------------------------------------------------------------------------


def _client_env(home: Path) -> dict[str, str]:
    """The caller's environment without anything that would steer an OpenStack client."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OS_", "MAGNUM_", "BYPASS_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["HOME"] = str(home)
    env["PYTHONWARNINGS"] = "ignore"
    # `coe cluster config` reads $SHELL to pick the script's syntax; a login shell always
    # sets it, CI's runner does not.
    env["SHELL"] = "/bin/bash"
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    return env


@dataclass
class Cli:
    """One command-line client with its fixed global options."""

    prefix: list[str]
    env: dict[str, str] = field(repr=False)
    cwd: Path = field(repr=False)

    def __call__(self, command: str, ok: bool | None = True) -> Result:
        """Run the client with ``command`` split as a POSIX shell would split it (so quoting
        works as a user types it). ``ok=True`` asserts exit 0, ``ok=False`` a non-zero exit,
        ``None`` checks nothing."""
        argv = [*self.prefix, *shlex.split(command)]
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=CALL_TIMEOUT,
            check=False,
        )
        result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
        if ok is True:
            assert result.returncode == 0, f"command failed\n{result.describe()}"
        elif ok is False:
            assert result.returncode != 0, f"command should have failed\n{result.describe()}"
        return result

    def json(self, command: str) -> Any:
        """Run a command that supports ``-f json`` and return the parsed document."""
        return self(f"{command} -f json").json()


SDK_PRELUDE = textwrap.dedent(
    """\
    import json, sys
    import openstack
    conn = openstack.connect(cloud="cove")
    cim = conn.container_infrastructure_management

    def emit(value):
        if hasattr(value, "to_dict"):
            value = value.to_dict(computed=False)
        print("EMIT " + json.dumps(value, default=str), flush=True)
    """
)


@dataclass
class Sdk:
    """openstacksdk, driven by small scripts run with the SDK venv's python."""

    python: Path
    env: dict[str, str] = field(repr=False)
    cwd: Path = field(repr=False)

    def __call__(self, body: str, ok: bool | None = True) -> Result:
        script = SDK_PRELUDE + textwrap.dedent(body)
        argv = [str(self.python), "-c", script]
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=CALL_TIMEOUT,
            check=False,
        )
        result = Result([str(self.python), "-c", "<script>"], proc.returncode, proc.stdout, "")
        result.stderr = proc.stderr + "\n--- script ---\n" + script
        if ok is True:
            assert result.returncode == 0, f"SDK script failed\n{result.describe()}"
        elif ok is False:
            assert result.returncode != 0, f"SDK script should have failed\n{result.describe()}"
        return result

    def values(self, body: str) -> list[Any]:
        """Run a script and return every value it ``emit``-ted, in order."""
        out = self(body).stdout
        return [json.loads(line[5:]) for line in out.splitlines() if line.startswith("EMIT ")]


# --------------------------------------------------------------------------------------------
# the API, for set-up and for cheap status polling
# --------------------------------------------------------------------------------------------


@dataclass
class Api:
    """cove's HTTP API through httpx, for what the clients can't do (images, networks, keypairs)
    and for polling status without paying a client's start-up time on every poll."""

    base: str
    token: str = "compat"

    @property
    def headers(self) -> dict[str, str]:
        return {**LATEST, "X-Auth-Token": self.token}

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.base}{path}", headers=self.headers, timeout=10)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", json=body, headers=self.headers, timeout=10)

    def names(self, collection: str) -> set[str]:
        """Names in a cove collection (``images``, ``networks``, ``keypairs``...)."""
        resp = self.get(f"/v1/{collection}")
        assert resp.status_code == 200, f"GET /v1/{collection}: {resp.status_code} {resp.text}"
        doc = resp.json()
        items = doc.get(collection, []) if isinstance(doc, dict) else doc
        return {item.get("name") for item in items if isinstance(item, dict)}

    def ensure(self, collection: str, body: dict[str, Any]) -> None:
        """Register ``body`` in a cove collection unless an item of that name exists."""
        if body["name"] in self.names(collection):
            return
        resp = self.post(f"/v1/{collection}", body)
        assert resp.status_code in (200, 201), (
            f"POST /v1/{collection} {body}: {resp.status_code} {resp.text}"
        )

    def wait(
        self,
        path: str,
        done: Callable[[httpx.Response], bool],
        timeout: float = STATUS_TIMEOUT,
    ) -> httpx.Response:
        """GET ``path`` until ``done(response)``; bounded polling with a short backoff."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            resp = self.get(path)
            if done(resp):
                return resp
            if time.monotonic() > deadline:
                pytest.fail(f"GET {path} still {resp.status_code} {resp.text} after {timeout} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def settled(self, path: str, timeout: float = STATUS_TIMEOUT) -> dict[str, Any]:
        """GET an object until its status no longer ends in ``_IN_PROGRESS``; return it."""

        def done(resp: httpx.Response) -> bool:
            return resp.status_code == 200 and not str(resp.json().get("status", "")).endswith(
                "_IN_PROGRESS"
            )

        return self.wait(path, done, timeout).json()

    def gone(self, path: str, timeout: float = STATUS_TIMEOUT) -> None:
        """GET ``path`` until it answers 404 (a deleted cluster's row is removed)."""
        self.wait(path, lambda resp: resp.status_code == 404, timeout)


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def clients() -> Path:
    """Install (or confirm) the client virtualenvs; return their parent directory."""
    script = ROOT / "scripts" / "install-clients.sh"
    proc = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=1800, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return CLIENTS


# Every suite runs twice: without Keystone (the clients given cove's endpoint), and with a
# real Keystone validating the tokens, the clients logging in by password and finding cove
# in the catalog. An external server (COVE_COMPAT_URL) is taken as it is.
MODES = ["noauth"] if os.environ.get("COVE_COMPAT_URL") else ["noauth", "keystone"]


@dataclass
class Login:
    """How the clients authenticate: no Keystone, or a password login to ``keystone``."""

    keystone: ks.Keystone | None = None
    user: ks.User | None = None
    _token: str = field(default="compat", repr=False)

    def options(self, endpoint: str, *, shell: bool = False) -> list[str]:
        """The clients' global options: ``openstack``'s, or the ``magnum`` shell's."""
        if self.keystone is None or self.user is None:
            if shell:
                return ["--os-token", "x", "--os-endpoint-override", endpoint]
            return ["--os-auth-type", "none", "--os-endpoint", endpoint]
        return [
            "--os-auth-url", self.keystone.auth_url, "--os-username", self.user.name,
            "--os-password", self.user.password, "--os-project-name", self.user.project,
            "--os-user-domain-name", "Default", "--os-project-domain-name", "Default",
            "--os-region-name", ks.REGION,
        ]  # fmt: skip

    def clouds_yaml(self, endpoint: str) -> str:
        """openstacksdk's clouds.yaml defining cloud ``cove``."""
        if self.keystone is None or self.user is None:
            return f"clouds:\n  cove:\n    auth_type: none\n    auth:\n      endpoint: {endpoint}\n"
        return textwrap.dedent(
            f"""\
            clouds:
              cove:
                region_name: {ks.REGION}
                auth_type: password
                auth:
                  auth_url: {self.keystone.auth_url}
                  username: {self.user.name}
                  password: {self.user.password}
                  project_name: {self.user.project}
                  user_domain_name: Default
                  project_domain_name: Default
            """
        )

    @property
    def token(self) -> str:
        """A token for the suite's own API calls (any string without Keystone)."""
        if self.keystone is not None and self.user is not None and self._token == "compat":
            self._token = self.keystone.user_token(self.user)
        return self._token


@pytest.fixture(scope="session", params=MODES)
def login(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Login]:
    if request.param == "noauth":
        yield Login()
        return
    ks.install()
    keystone = ks.Keystone.start(tmp_path_factory.mktemp("keystone"))
    try:
        yield Login(keystone, keystone.user("compat", "compat", "admin", "member", "reader"))
    finally:
        keystone.stop()


@pytest.fixture(scope="session")
def cove_url(login: Login, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (no ``/v1``) of a cove server started for this session, in keystone mode
    (and registered in the catalog) when ``login`` has a Keystone."""
    external = os.environ.get("COVE_COMPAT_URL")
    if external:
        yield external.rstrip("/")
        return
    config: dict[str, Any] = {}
    if login.keystone is not None:
        options = login.keystone.authtoken_options(login.keystone.service_user())
        config = {"auth_mode": "keystone", "keystone_authtoken": options}
    with serve(tmp_path_factory.mktemp("cove-server"), config) as url:
        if login.keystone is not None:
            ks.register_cove(login.keystone, url)
        yield url


@pytest.fixture(scope="session")
def endpoint(cove_url: str) -> str:
    return f"{cove_url}/v1"


@pytest.fixture(scope="session")
def api(cove_url: str, login: Login) -> Api:
    return Api(cove_url, login.token)


@pytest.fixture(scope="session")
def world(api: Api) -> dict[str, str]:
    """The cove objects every test needs: an image with os_distro ``instant``, the external
    network ``public`` and a keypair (flavor m1.small exists by default)."""
    api.ensure("images", {"name": INSTANT_IMAGE, "os_distro": "instant"})
    api.ensure("networks", {"name": PUBLIC_NETWORK, "external": True})
    api.ensure("keypairs", {"name": KEYPAIR})
    return {
        "image": INSTANT_IMAGE,
        "network": PUBLIC_NETWORK,
        "keypair": KEYPAIR,
        "flavor": FLAVOR,
    }


@pytest.fixture(scope="session")
def client_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty HOME for the clients, so no clouds.yaml or cache of the user's is read."""
    return tmp_path_factory.mktemp("client-home")


@pytest.fixture(scope="session")
def osc(clients: Path, endpoint: str, client_home: Path, login: Login) -> Cli:
    """``openstack`` (python-openstackclient + python-magnumclient 5.0.0)."""
    binary = clients / "osc" / "bin" / "openstack"
    return Cli([str(binary), *login.options(endpoint)], _client_env(client_home), client_home)


@pytest.fixture(scope="session")
def magnum(clients: Path, endpoint: str, client_home: Path, login: Login) -> Cli:
    """The legacy ``magnum`` shell of python-magnumclient 4.11.0."""
    binary = clients / "magnum411" / "bin" / "magnum"
    prefix = [str(binary), *login.options(endpoint, shell=True)]
    return Cli(prefix, _client_env(client_home), client_home)


@pytest.fixture(scope="session")
def magnum37(clients: Path, endpoint: str, client_home: Path, login: Login) -> Cli:
    """The ``magnum`` shell of python-magnumclient 3.7.0 (the last with bay commands)."""
    binary = clients / "magnum37" / "bin" / "magnum"
    prefix = [str(binary), *login.options(endpoint, shell=True)]
    return Cli(prefix, _client_env(client_home), client_home)


@pytest.fixture(scope="session")
def sdk(
    clients: Path, endpoint: str, tmp_path_factory: pytest.TempPathFactory, login: Login
) -> Sdk:
    """openstacksdk with a clouds.yaml (``auth_type: none`` and the endpoint, or a password
    login)."""
    home = tmp_path_factory.mktemp("sdk-home")
    clouds = home / "clouds.yaml"
    clouds.write_text(login.clouds_yaml(endpoint))
    env = _client_env(home)
    env["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    return Sdk(clients / "sdk" / "bin" / "python", env, home)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def openssl() -> str:
    binary = shutil.which("openssl")
    if binary is None:
        pytest.fail("openssl is required by the certificate tests")
    return binary


def make_csr(openssl: str, directory: Path, cn: str = "admin") -> Path:
    """A CSR with a fresh RSA-2048 key, as a user makes one: ``openssl req -new -newkey ...``."""
    csr, key = directory / "client.csr", directory / "client.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={cn}",
            "-keyout",
            str(key),
            "-out",
            str(csr),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return csr


def pem_block(text: str, kind: str = "CERTIFICATE") -> str:
    """The first PEM block of ``kind`` in a client's output."""
    match = re.search(rf"-----BEGIN {kind}-----\n.+?\n-----END {kind}-----\n?", text, re.DOTALL)
    assert match, f"no {kind} PEM block in:\n{text}"
    return match.group(0)


def verify_issued_by(openssl: str, directory: Path, ca_pem: str, cert_pem: str) -> str:
    """``openssl verify -CAfile ca.pem cert.pem``; returns its output (exit status checked by
    the caller through the returned text)."""
    ca, cert = directory / "ca.pem", directory / "cert.pem"
    ca.write_text(ca_pem)
    cert.write_text(cert_pem)
    proc = subprocess.run(
        [openssl, "verify", "-CAfile", str(ca), str(cert)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return f"[exit {proc.returncode}] {proc.stdout}{proc.stderr}"
