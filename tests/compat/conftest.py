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

Set ``COVE_COMPAT_URL=http://host:port`` to aim the suite at an already running server instead.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import socket
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

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / ".venv-clients"
COVE = Path(sys.executable).with_name("cove")
CALL_TIMEOUT = 90.0
READY_TIMEOUT = 20.0
STATUS_TIMEOUT = 15.0
# The microversion the OSC plugin and the magnum shell send; used by the suite's own API calls.
LATEST = {"OpenStack-API-Version": "container-infra latest", "X-Auth-Token": "compat"}

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

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.base}{path}", headers=LATEST, timeout=10)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", json=body, headers=LATEST, timeout=10)

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], stderr: Path) -> None:
    """Retry ``GET url`` with a short backoff until it answers, bounded by READY_TIMEOUT."""
    deadline = time.monotonic() + READY_TIMEOUT
    delay = 0.05
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"cove serve exited with {proc.returncode} before answering:\n"
                f"{stderr.read_text(errors='replace')}"
            )
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    proc.terminate()
    pytest.fail(
        f"cove serve did not answer {url} within {READY_TIMEOUT} s ({last}):\n"
        f"{stderr.read_text(errors='replace')}"
    )


@pytest.fixture(scope="session")
def cove_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (no ``/v1``) of a cove server started for this session."""
    external = os.environ.get("COVE_COMPAT_URL")
    if external:
        yield external.rstrip("/")
        return
    tmp = tmp_path_factory.mktemp("cove-server")
    port = _free_port()
    env = dict(os.environ)
    env["COVE_EXTRA_DRIVERS"] = "tests.support.drivers:InstantDriver"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    stdout, stderr = tmp / "stdout.log", tmp / "stderr.log"
    argv = [
        str(COVE),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        f"sqlite:///{tmp / 'cove.db'}",
    ]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/", proc, stderr)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def endpoint(cove_url: str) -> str:
    return f"{cove_url}/v1"


@pytest.fixture(scope="session")
def api(cove_url: str) -> Api:
    return Api(cove_url)


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
def osc(clients: Path, endpoint: str, client_home: Path) -> Cli:
    """``openstack`` (python-openstackclient + python-magnumclient 5.0.0), no Keystone."""
    binary = clients / "osc" / "bin" / "openstack"
    prefix = [str(binary), "--os-auth-type", "none", "--os-endpoint", endpoint]
    return Cli(prefix, _client_env(client_home), client_home)


@pytest.fixture(scope="session")
def magnum(clients: Path, endpoint: str, client_home: Path) -> Cli:
    """The legacy ``magnum`` shell of python-magnumclient 4.11.0, no Keystone."""
    binary = clients / "magnum411" / "bin" / "magnum"
    prefix = [str(binary), "--os-token", "x", "--os-endpoint-override", endpoint]
    return Cli(prefix, _client_env(client_home), client_home)


@pytest.fixture(scope="session")
def magnum37(clients: Path, endpoint: str, client_home: Path) -> Cli:
    """The ``magnum`` shell of python-magnumclient 3.7.0 (the last with bay commands)."""
    binary = clients / "magnum37" / "bin" / "magnum"
    prefix = [str(binary), "--os-token", "x", "--os-endpoint-override", endpoint]
    return Cli(prefix, _client_env(client_home), client_home)


@pytest.fixture(scope="session")
def sdk(clients: Path, endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Sdk:
    """openstacksdk with a clouds.yaml: ``auth_type: none`` and ``auth: {endpoint: .../v1}``."""
    home = tmp_path_factory.mktemp("sdk-home")
    clouds = home / "clouds.yaml"
    clouds.write_text(
        f"clouds:\n  cove:\n    auth_type: none\n    auth:\n      endpoint: {endpoint}\n"
    )
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
