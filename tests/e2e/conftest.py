"""End-to-end fixtures: the real Docker engine of this machine and cove's node image.

- ``docker_engine``: runs ``scripts/docker-engine.sh`` once (starts dockerd if needed);
- ``node_image``: ``ensure_node_image`` once per session (builds the image on first use, about
  a minute; afterwards a cached look-up), returning the ``BuiltImage``;
- ``dind_options``: the ``docker run`` options that give a node container a working inner
  engine here: ``--privileged`` where it works, else docs/host.md's capability set;
- ``e2e_labels``: labels to put on everything a test starts (``cove.test=1`` plus this
  session's id); at the end of the session every container, network and volume carrying this
  session's label is removed (parallel sessions leave each other alone);
- ``start_node``: starts a node container from the node image, optionally writing files
  (``/etc/docker/daemon.json``) into it before it starts; ``wait_inner_engine`` waits until
  the node's engine answers.

Every test under tests/e2e gets the ``e2e`` marker.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

from cove.drivers.swarm_mode.image import ensure_node_image
from cove.images import BuiltImage
from cove.images.apps import ensure_app_image
from cove.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
SESSION_ID = uuid.uuid4().hex[:8]
LABEL_TEST = "cove.test"
LABEL_SESSION = "cove.test.session"

# docs/host.md: a full inner engine where --privileged is refused (no CAP_SYS_RESOURCE).
CAPABILITY_OPTIONS = (
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--security-opt=systempaths=unconfined",
    "--device-cgroup-rule=a *:* rwm",
    "--volume=/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--cgroupns=host",
)
# Both ways: /run fresh at each start, the inner engine's storage not overlay-on-overlay.
STORAGE_OPTIONS = ("--tmpfs=/run", "--tmpfs=/var/lib/docker:exec")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def docker(*args: str, check: bool = True, timeout: float = 120, **kw: object) -> str:
    """Run the docker CLI; return its stdout (stripped). Fails the test with the output."""
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, **kw
    )
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result.stdout.strip()


T = TypeVar("T")


def until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """``check()`` until it returns something truthy; fails the test after ``timeout``
    naming ``what`` it waited for (polling from 0.2 s up to 1 s apart)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def node_run(node: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """A command in a node container (its own engine answers ``docker …`` there)."""
    return subprocess.run(
        ["docker", "exec", node, *argv], capture_output=True, text=True, timeout=60, check=False
    )


def http_get(address: str, port: int, timeout: float = 15.0) -> str:
    """What answers HTTP on ``address:port`` (a container's ``nc`` loop may be between two
    runs: try again until ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((address, port), timeout=3) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                conn.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
                if data:
                    return data.decode(errors="replace")
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"nothing answered on {address}:{port}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/docker-engine.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/docker-engine.sh failed:\n{result.stdout}{result.stderr}")


@pytest.fixture(scope="session")
def node_image(docker_engine: None) -> BuiltImage:
    """The node image, built once (shared state_dir, so parallel workers build it once)."""
    settings = Settings()
    return ensure_node_image(settings.state_dir, docker_host=settings.docker_host, log=print)


# The app images the catalog's keystone package needs (etcd: every deployment's store).
KEYSTONE_APPS = ("etcd", "mariadb", "memcached", "keystone")


@pytest.fixture(scope="session")
def app_images(docker_engine: None) -> None:
    """The keystone package's app images, built once before any test times a deployment or
    a page that uses them (a cold build takes minutes; a built one is a lookup by content
    hash, and the build lock makes parallel workers build each once)."""
    settings = Settings()
    with ThreadPoolExecutor(len(KEYSTONE_APPS)) as pool:
        list(
            pool.map(
                lambda app: ensure_app_image(
                    app, settings.state_dir, docker_host=settings.docker_host
                ),
                KEYSTONE_APPS,
            )
        )


@pytest.fixture(scope="session")
def e2e_labels(docker_engine: None) -> Iterator[dict[str, str]]:
    labels = {LABEL_TEST: "1", LABEL_SESSION: SESSION_ID}
    yield labels
    sweep_label(f"{LABEL_SESSION}={SESSION_ID}")


def sweep_label(label: str) -> None:
    """Remove every container, network and volume carrying ``label`` (key=value)."""
    selector = f"label={label}"
    containers = docker("ps", "-aq", "--filter", selector, check=False).split()
    if containers:
        docker("rm", "-f", "-v", *containers, check=False)
    networks = docker("network", "ls", "-q", "--filter", selector, check=False).split()
    if networks:
        docker("network", "rm", *networks, check=False)
    volumes = docker("volume", "ls", "-q", "--filter", selector, check=False).split()
    if volumes:
        docker("volume", "rm", "-f", *volumes, check=False)


def label_args(labels: Mapping[str, str]) -> list[str]:
    return [f"--label={key}={value}" for key, value in labels.items()]


@pytest.fixture(scope="session")
def dind_options(node_image: BuiltImage, e2e_labels: dict[str, str]) -> tuple[str, ...]:
    """``--privileged`` if the engine can run a privileged container here, else the
    capability set of docs/host.md."""
    argv = ["docker", "run", "--rm", "--privileged", "--entrypoint=true", node_image.ref]
    argv[3:3] = label_args(e2e_labels)
    probe = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if probe.returncode == 0:
        return ("--privileged", *STORAGE_OPTIONS)
    return (*CAPABILITY_OPTIONS, *STORAGE_OPTIONS)


def wait_inner_engine(node: str, timeout: float = 30.0) -> float:
    """Wait until ``docker info`` answers inside the node; return the seconds waited."""
    started = time.monotonic()
    delay = 0.05
    last = ""
    while True:
        result = subprocess.run(
            ["docker", "exec", node, "docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip():
            return time.monotonic() - started
        last = result.stderr.strip()
        if time.monotonic() - started > timeout:
            logs = docker("logs", "--tail", "30", node, check=False, stderr=subprocess.STDOUT)
            pytest.fail(f"the engine in {node} did not answer within {timeout}s: {last}\n{logs}")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


StartNode = Callable[..., str]


@pytest.fixture
def start_node(
    node_image: BuiltImage, dind_options: tuple[str, ...], e2e_labels: dict[str, str]
) -> Iterator[StartNode]:
    """``start_node(files={"/etc/docker/daemon.json": b"..."})`` creates a node container,
    copies the files in, starts it and returns its name (also its hostname). Removed after
    the test."""
    names: list[str] = []

    def start(files: Mapping[str, bytes] | None = None, extra: tuple[str, ...] = ()) -> str:
        name = f"cove-e2e-{SESSION_ID}-{uuid.uuid4().hex[:6]}"
        docker(
            "create",
            f"--name={name}",
            f"--hostname={name}",
            *label_args(e2e_labels),
            *dind_options,
            *extra,
            node_image.ref,
        )
        names.append(name)
        for path, content in (files or {}).items():
            with tempfile.NamedTemporaryFile() as handle:
                handle.write(content)
                handle.flush()
                os.chmod(handle.name, 0o644)
                docker("cp", handle.name, f"{name}:{path}")
        docker("start", name)
        return name

    yield start
    if names:
        docker("rm", "-f", "-v", *names, check=False)


def _busybox_static() -> Path:
    """Debian's busybox-static binary, installed with apt-get when missing."""
    installed = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", "busybox-static"],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.stdout.strip() != "install ok installed":
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=120"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [*apt, "install", "-y", "-qq", "busybox-static"]
        if subprocess.run(install, env=env, check=False).returncode != 0:
            subprocess.run([*apt, "update", "-qq"], env=env, check=True)
            subprocess.run(install, env=env, check=True)
    return Path("/bin/busybox")


@pytest.fixture(scope="session")
def busybox_image(docker_engine: None) -> str:
    """A tiny image made locally (docs/host.md): static busybox with its applets linked, /tmp,
    PATH=/bin. Content-addressed tag, kept between sessions."""
    binary = _busybox_static()
    content = binary.read_bytes()
    ref = f"cove-e2e/busybox:{hashlib.sha256(content).hexdigest()[:12]}"
    if subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0:
        return ref
    applets = subprocess.run(
        [str(binary), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bin").mkdir()
        (root / "bin/busybox").write_bytes(content)
        (root / "bin/busybox").chmod(0o755)
        for applet in applets:
            if applet != "busybox":
                (root / "bin" / applet).symlink_to("busybox")
        (root / "tmp").mkdir(mode=0o1777)
        (root / "tmp").chmod(0o1777)
        tar = subprocess.Popen(["tar", "-c", "-C", tmp, "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        docker("import", "--change", "ENV PATH=/bin", "-", ref, stdin=tar.stdout)
        tar.stdout.close()
        assert tar.wait() == 0
    return ref


# The swarm modules' server (``cove serve`` with the node image and templates registered, one
# per module that uses it), shared with the fault suite. Imported last: that module imports
# the helpers above.
from tests.e2e.test_swarm_cluster import cove, osc_binary  # noqa: E402, F401
