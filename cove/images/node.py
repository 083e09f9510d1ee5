"""The swarm-mode node image: Debian bookworm with Docker Engine from Debian's own packages,
built with ``debootstrap`` and ``docker import``: no image registry is involved.

The tag is content-addressed, ``cove/node:<hash of (suite, package list, init script, builder
version)>``, so asking again with the same inputs finds the image and returns at once. The
debootstrap root file system lives under ``<state_dir>/images/rootfs-<hash>`` only while a build
runs (a build that died after debootstrap resumes from it) and is deleted after the import.
Builds of one hash are serialised with a file lock, so parallel callers (test workers, two
``cove image build``) build once.

The image's entrypoint, ``cove-node-init``, prepares what dockerd needs inside a
docker-in-docker container and runs dockerd (restarted in place when it exits, so a CA
rotation can reload certificates) with ``/etc/docker/daemon.json``, which the
docker provider writes into the node before it starts (hosts, TLS, cgroup-parent, storage
driver, DNS). Without that file dockerd starts with its defaults plus
``--cgroup-parent=/cove-<hostname>``: nodes sharing a cgroup parent collide.

Only the ``docker`` CLI is used here (the Docker SDK belongs to ``cove.providers.docker``),
aimed at cove's own engine (``COVE_DOCKER_HOST``), never at the caller's ``DOCKER_HOST``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.db import models
from cove.providers.engine_address import cli_env

log_ = logging.getLogger(__name__)

# Bump when the build steps change in a way that changes the image.
BUILDER_VERSION = "1"
REPOSITORY = "cove/node"
SUITE = "bookworm"
VARIANT = "minbase"
# haproxy and docker-registry run a cluster's load balancer and registry (as service
# containers of this same image) and a node's local forwarder to that registry.
PACKAGES = (
    "docker.io",
    "iproute2",
    "ca-certificates",
    "procps",
    "iptables",
    "haproxy",
    "docker-registry",
)
REGISTRY_PROXY_CONFIG = "/etc/cove/registry-proxy.cfg"  # named literally in INIT_SCRIPT
OS_DISTRO = "debian"
INIT_PATH = "/usr/local/bin/cove-node-init"
PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CATALOG_NAME = "swarm-mode-debian"

LABEL_OS_DISTRO = "os_distro"
LABEL_IMAGE = "cove.image"
LABEL_VERSION = "cove.image.version"
LABEL_HASH = "cove.image.hash"

APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))

# Documentation and translations nobody reads inside a node.
TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale")

DEBOOTSTRAP_TIMEOUT = 1800.0
IMPORT_TIMEOUT = 900.0
DOCKER_TIMEOUT = 60.0

INIT_SCRIPT = r"""#!/bin/sh
# cove-node-init: the entrypoint of a cove node container (docker-in-docker). Prepares what
# dockerd needs, then execs it. dockerd's configuration (hosts, TLS, cgroup-parent, storage
# driver, DNS ...) is /etc/docker/daemon.json, written by cove before the node starts;
# arguments given to this script are passed on to dockerd.
set -eu

say() { echo "cove-node-init: $*" >&2; }

mkdir -p /run /var/lib/docker /etc/docker /tmp
# /run is a tmpfs in a node; when it is not, a restarted node finds a stale pid file.
rm -f /run/docker.pid /run/docker/containerd/containerd.pid

# securityfs, for AppArmor-aware runtimes (as Docker's own dind script does).
if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
    mount -t securityfs none /sys/kernel/security 2>/dev/null || true
fi

# cgroups. A node normally gets them from the host (bind mount of /sys/fs/cgroup, host
# cgroup namespace) or from --privileged; mount them only when nothing is there.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    # cgroup v2 in a private cgroup namespace: leave the namespace's root cgroup so that
    # controllers can be delegated to dockerd's containers.
    if [ "$(cat /proc/self/cgroup)" = "0::/" ]; then
        mkdir -p /sys/fs/cgroup/init
        xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
        sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers \
            >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :
    fi
elif [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]; then
    say "no cgroups under /sys/fs/cgroup: mounting them"
    if grep -q '^0::' /proc/self/cgroup && ! grep -q '^[1-9]' /proc/self/cgroup; then
        mount -t cgroup2 cgroup2 /sys/fs/cgroup
    else
        mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
        # One line per v1 hierarchy: "id:controllers:path"; mount each hierarchy once.
        grep -v '^0::' /proc/self/cgroup | cut -d: -f2 | while read -r controllers; do
            dir=${controllers#name=}
            mkdir -p "/sys/fs/cgroup/$dir"
            case $controllers in
            name=*) mount -t cgroup -o "none,$controllers" cgroup "/sys/fs/cgroup/$dir" ;;
            *) mount -t cgroup -o "$controllers" cgroup "/sys/fs/cgroup/$dir" ;;
            esac
            # "cpu,cpuacct" is also reachable as "cpu" and "cpuacct".
            for one in $(echo "$dir" | tr ',' ' '); do
                [ "$one" = "$dir" ] || ln -sfn "$dir" "/sys/fs/cgroup/$one"
            done
        done
    fi
fi
if grep -q ' /sys/fs/cgroup [^ ]* ro[, ]' /proc/mounts; then
    say "warning: /sys/fs/cgroup is read-only: start the node with --privileged or with" \
        "-v /sys/fs/cgroup:/sys/fs/cgroup:rw"
fi

# The engine's storage cannot be overlay on overlay.
if [ "$(stat -f -c %T /var/lib/docker 2>/dev/null)" = overlayfs ]; then
    say "warning: /var/lib/docker is on overlayfs: give the node a tmpfs or a volume there"
fi

# Debian's iptables uses the nf_tables backend; fall back to the legacy one where the
# kernel does not offer nf_tables.
if ! iptables -n -L >/dev/null 2>&1 && iptables-legacy -n -L >/dev/null 2>&1; then
    say "iptables: nf_tables unavailable, using the legacy backend"
    update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null
fi

# Every node needs its own cgroup parent: with a shared one, nodes' containers collide.
config=/etc/docker/daemon.json
if ! { [ -f "$config" ] && grep -q '"cgroup-parent"' "$config"; }; then
    case " $* " in
    *" --cgroup-parent"*) ;;
    *) set -- "--cgroup-parent=/cove-$(uname -n)" "$@" ;;
    esac
fi

# With the cluster's registry (template registry_enabled) cove writes a forwarder's
# configuration: localhost:5000 in every node reaches that registry, so images are named as
# in Magnum, localhost:5000/<name>, and the engine treats localhost as a trusted registry.
if [ -f /etc/cove/registry-proxy.cfg ]; then
    haproxy -D -p /run/cove-registry-proxy.pid -f /etc/cove/registry-proxy.cfg ||
        say "the registry forwarder did not start"
fi

# dockerd runs under a supervisor loop, so cove can restart the engine in place (to load
# new TLS certificates after a CA rotation: dockerd does not reload them on SIGHUP) without
# restarting the node, whose tmpfs holds the engine's state and the swarm's.
# PID 1 must reap orphans (containerd shims are re-parented to it): run it under tini.
supervise='while :; do
    rm -f /var/run/docker.pid
    dockerd "$@" || true
    [ -e /run/cove-node-stop ] && exit 0
    echo "cove-node-init: dockerd exited; restarting it" >&2
    sleep 0.1
done'
for init in /usr/sbin/docker-init /usr/bin/tini; do
    if [ -x "$init" ]; then
        exec "$init" -s -- /bin/sh -c "$supervise" cove-node-init "$@"
    fi
done
exec /bin/sh -c "$supervise" cove-node-init "$@"
"""


class ImageBuildError(Exception):
    """A step of the build failed; ``output`` holds the tail of the failing command's output."""

    def __init__(self, message: str, *, command: Sequence[str] = (), output: str = "") -> None:
        self.message = message
        self.command = list(command)
        self.output = output
        text = message
        if output:
            text += "\n" + output
        super().__init__(text)


class EngineUnavailable(ImageBuildError):
    """No Docker engine answers (run scripts/docker-engine.sh)."""


@dataclass(frozen=True)
class NodeImage:
    ref: str  # cove/node:<hash>
    os_distro: str
    version: str  # the docker.io package version inside the image
    created: bool  # False when the image already existed


def _default_log(message: str) -> None:
    log_.info("%s", message)


def build_inputs_hash() -> str:
    """Short hash of everything the image's content is made from."""
    inputs = {
        "builder": BUILDER_VERSION,
        "suite": SUITE,
        "variant": VARIANT,
        "packages": sorted(PACKAGES),
        "init": INIT_SCRIPT,
        "trim": list(TRIM),
        "path": PATH_ENV,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return digest[:12]


def node_image_tag() -> str:
    return f"{REPOSITORY}:{build_inputs_hash()}"


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""


def _run(
    argv: Sequence[str], *, timeout: float = DOCKER_TIMEOUT, what: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False,
            env=cli_env(),
        )  # fmt: skip
    except FileNotFoundError as exc:
        raise ImageBuildError(f"{argv[0]} is not installed", command=argv) from exc
    except subprocess.TimeoutExpired as exc:
        raise ImageBuildError(
            f"{what or argv[0]} did not finish within {timeout:.0f}s",
            command=argv,
            output=_tail(_text(exc.stdout) + _text(exc.stderr)),
        ) from exc
    if result.returncode != 0:
        raise ImageBuildError(
            f"{what or argv[0]} failed (exit {result.returncode}): {' '.join(argv)}",
            command=argv,
            output=_tail(result.stdout + result.stderr),
        )
    return result


def _engine_error(stderr: str) -> bool:
    return "Cannot connect to the Docker daemon" in stderr or "Is the docker daemon" in stderr


def check_engine() -> str:
    """The engine's version; raises EngineUnavailable if no engine answers."""
    argv = ["docker", "version", "--format", "{{.Server.Version}}"]
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=DOCKER_TIMEOUT, env=cli_env()
        )
    except FileNotFoundError as exc:
        raise EngineUnavailable(
            "the docker client is not installed: run scripts/docker-engine.sh", command=argv
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise EngineUnavailable("the Docker engine did not answer", command=argv) from exc
    if result.returncode != 0 or not result.stdout.strip():
        raise EngineUnavailable(
            "no Docker engine answers: run scripts/docker-engine.sh",
            command=argv,
            output=_tail(result.stderr),
        )
    return result.stdout.strip()


def inspect_image(ref: str) -> dict[str, Any] | None:
    """``docker image inspect`` of ``ref``, or None when there is no such image."""
    argv = ["docker", "image", "inspect", ref]
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=DOCKER_TIMEOUT, env=cli_env()
        )
    except FileNotFoundError as exc:
        raise EngineUnavailable(
            "the docker client is not installed: run scripts/docker-engine.sh", command=argv
        ) from exc
    if result.returncode == 0:
        data = json.loads(result.stdout)
        return data[0] if data else None
    if "No such image" in result.stderr or "No such object" in result.stderr:
        return None
    if _engine_error(result.stderr):
        raise EngineUnavailable(
            "no Docker engine answers: run scripts/docker-engine.sh",
            command=argv,
            output=_tail(result.stderr),
        )
    raise ImageBuildError(
        f"docker image inspect {ref} failed", command=argv, output=_tail(result.stderr)
    )


def _node_image_from(ref: str, info: dict[str, Any], *, created: bool) -> NodeImage:
    labels = (info.get("Config") or {}).get("Labels") or {}
    return NodeImage(
        ref=ref,
        os_distro=labels.get(LABEL_OS_DISTRO, OS_DISTRO),
        version=labels.get(LABEL_VERSION, ""),
        created=created,
    )


def apt_mirror(suite: str = SUITE, sources: Sequence[Path] = APT_SOURCES) -> str:
    """The Debian mirror apt uses on this machine (one-line ``.list`` and deb822 ``.sources``
    files): the URI of a ``deb`` entry for ``suite`` with component ``main``."""
    entries: list[tuple[str, list[str], list[str]]] = []  # (uri, suites, components)
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files.extend(sorted(p for p in source.iterdir() if p.suffix in (".list", ".sources")))
        elif source.is_file():
            files.append(source)
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            entries.extend(_deb822_entries(text))
        else:
            entries.extend(_one_line_entries(text))
    for uri, suites, components in entries:
        if suite in suites and "main" in components:
            return uri.rstrip("/")
    raise ImageBuildError(
        f"no Debian mirror for {suite} in apt's sources ({', '.join(str(p) for p in files)}): "
        "add a 'deb <mirror> " + suite + " main' entry"
    )


def _deb822_entries(text: str) -> Iterator[tuple[str, list[str], list[str]]]:
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split(), fields.get("components", "").split()


def _one_line_entries(text: str) -> Iterator[tuple[str, list[str], list[str]]]:
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # options: [arch=amd64 signed-by=...]
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 3:
            yield words[0], [words[1]], words[2:]


def package_version(rootfs: Path, package: str) -> str:
    """The installed version of ``package`` in the root file system's dpkg database."""
    status = rootfs / "var/lib/dpkg/status"
    for stanza in status.read_text(errors="replace").split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Package") == package and fields.get("Status", "").endswith(" installed"):
            return fields.get("Version", "")
    raise ImageBuildError(f"{package} is not installed in {rootfs}")


@contextmanager
def _build_lock(path: Path, log: Callable[[str], None]) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another build of this image is running; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_node_image(
    state_dir: Path, *, force: bool = False, log: Callable[[str], None] = _default_log
) -> NodeImage:
    """Find the node image for the current build inputs, or build it. ``force`` rebuilds it
    from a fresh debootstrap even when it exists."""
    digest = build_inputs_hash()
    ref = f"{REPOSITORY}:{digest}"
    if not force:
        info = inspect_image(ref)
        if info is not None:
            return _node_image_from(ref, info, created=False)
    check_engine()
    workdir = Path(state_dir) / "images"
    with _build_lock(workdir / f"build-{digest}.lock", log):
        old = inspect_image(ref)
        if old is not None and not force:  # built by whoever held the lock before us
            return _node_image_from(ref, old, created=False)
        rootfs = workdir / f"rootfs-{digest}"
        done = workdir / f"rootfs-{digest}.done"
        if force or not done.exists():
            _debootstrap(rootfs, done, log)
        else:
            log(f"resuming from the root file system in {rootfs}")
        version = package_version(rootfs, "docker.io")
        _import(rootfs, ref, digest, version, log)
        log(f"removing {rootfs}")
        done.unlink(missing_ok=True)
        shutil.rmtree(rootfs, ignore_errors=True)
        if old is not None:
            _remove_if_dangling(old["Id"])
        info = inspect_image(ref)
        if info is None:
            raise ImageBuildError(f"docker import reported success but {ref} does not exist")
        return _node_image_from(ref, info, created=True)


def _debootstrap(rootfs: Path, done: Path, log: Callable[[str], None]) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is not installed: run scripts/docker-engine.sh")
    done.unlink(missing_ok=True)
    if rootfs.exists():
        log(f"removing the incomplete root file system {rootfs}")
        shutil.rmtree(rootfs)
    mirror = apt_mirror()
    argv = [
        "debootstrap",
        f"--variant={VARIANT}",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(rootfs),
        mirror,
    ]
    log(f"debootstrap {SUITE} from {mirror} into {rootfs} (about a minute)")
    started = time.monotonic()
    try:
        _run(argv, timeout=DEBOOTSTRAP_TIMEOUT, what="debootstrap")
    except ImageBuildError as exc:
        debootstrap_log = rootfs / "debootstrap/debootstrap.log"
        if debootstrap_log.exists():
            exc.output = _tail(debootstrap_log.read_text(errors="replace"))
            exc.args = (f"{exc.message}\n{exc.output}",)
        raise
    log(f"debootstrap done in {time.monotonic() - started:.1f}s")
    _customise(rootfs)
    done.touch()


def _customise(rootfs: Path) -> None:
    for relative in TRIM:
        target = rootfs / relative
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    for leftover in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        leftover.unlink()
    lists = rootfs / "var/lib/apt/lists"
    if lists.is_dir():
        for child in lists.iterdir():
            if child.is_file():
                child.unlink()
    (rootfs / "etc/docker").mkdir(parents=True, exist_ok=True)
    init = rootfs / INIT_PATH.lstrip("/")
    init.parent.mkdir(parents=True, exist_ok=True)
    init.write_text(INIT_SCRIPT)
    init.chmod(0o755)


def _import(rootfs: Path, ref: str, digest: str, version: str, log: Callable[[str], None]) -> None:
    changes = [
        f"LABEL {LABEL_OS_DISTRO}={OS_DISTRO}",
        f"LABEL {LABEL_IMAGE}=node",
        f"LABEL {LABEL_VERSION}={version}",
        f"LABEL {LABEL_HASH}={digest}",
        f"ENV PATH={PATH_ENV}",
        f"ENTRYPOINT {json.dumps([INIT_PATH])}",
    ]
    import_argv = ["docker", "import"]
    for change in changes:
        import_argv += ["--change", change]
    import_argv += ["--message", f"cove node image ({SUITE}, docker.io {version})", "-", ref]
    tar_argv = ["tar", "--numeric-owner", "--xattrs", "-c", "-C", str(rootfs), "."]
    log(f"importing {rootfs} as {ref}")
    started = time.monotonic()
    with tempfile.TemporaryFile() as tar_stderr:
        tar = subprocess.Popen(tar_argv, stdout=subprocess.PIPE, stderr=tar_stderr)
        assert tar.stdout is not None
        try:
            result = subprocess.run(
                import_argv,
                env=cli_env(),
                stdin=tar.stdout,
                capture_output=True,
                text=True,
                timeout=IMPORT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            tar.kill()
            tar.wait()
            raise ImageBuildError(
                f"docker import did not finish within {IMPORT_TIMEOUT:.0f}s", command=import_argv
            ) from exc
        finally:
            tar.stdout.close()  # our copy: tar sees a broken pipe if docker import stopped
        try:
            tar_code = tar.wait(timeout=DOCKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            tar.kill()
            tar_code = tar.wait()
        tar_stderr.seek(0)
        tar_err = tar_stderr.read().decode(errors="replace")
    if result.returncode != 0:
        if _engine_error(result.stderr):
            raise EngineUnavailable(
                "no Docker engine answers: run scripts/docker-engine.sh",
                command=import_argv,
                output=_tail(result.stderr),
            )
        raise ImageBuildError(
            f"docker import failed (exit {result.returncode})",
            command=import_argv,
            output=_tail(result.stdout + result.stderr),
        )
    if tar_code != 0:
        # docker import may have accepted a truncated stream: do not leave the tag behind.
        subprocess.run(
            ["docker", "image", "rm", ref],
            capture_output=True,
            timeout=DOCKER_TIMEOUT,
            check=False,
            env=cli_env(),
        )
        raise ImageBuildError(
            f"tar of {rootfs} failed (exit {tar_code})", command=tar_argv, output=_tail(tar_err)
        )
    log(f"imported {ref} in {time.monotonic() - started:.1f}s")


def _remove_if_dangling(image_id: str) -> None:
    """After a forced rebuild, drop the image the tag used to name (unless still in use)."""
    info = inspect_image(image_id)
    if info is not None and not info.get("RepoTags"):
        subprocess.run(
            ["docker", "image", "rm", image_id],
            capture_output=True,
            env=cli_env(),
            timeout=DOCKER_TIMEOUT,
            check=False,
        )


def register_node_image(
    session: Session, image: NodeImage, name: str = CATALOG_NAME
) -> models.Image:
    """Upsert the public catalog image ``name`` pointing at ``image``, so templates can name
    it as image_id. The caller owns the transaction."""
    row = session.scalar(
        select(models.Image)
        .where(models.Image.name == name, models.Image.project_id == "")
        .order_by(models.Image.id)
        .limit(1)
    )
    if row is None:
        row = models.Image(name=name, project_id="")
        session.add(row)
    row.os_distro = image.os_distro
    row.node_image = image.ref
    row.properties = {**(row.properties or {}), "version": image.version}
    row.public = True
    session.flush()
    return row
