"""The swarm-mode node image's recipe: Debian bookworm with Docker Engine from Debian's own
packages, and ``cove-node-init`` as its entrypoint. ``cove.images`` builds it (the builder
knows nothing of swarm); the docker provider starts node and service containers from it.

``cove-node-init`` prepares what dockerd needs inside a docker-in-docker container and runs
dockerd (restarted in place when it exits, so a CA rotation can reload certificates) with
``/etc/docker/daemon.json``, which the docker provider writes into the node before it starts
(hosts, TLS, cgroup-parent, storage driver, DNS). Without that file dockerd starts with its
defaults plus ``--cgroup-parent=/cove-<hostname>``: nodes sharing a cgroup parent collide.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cove.images import BuiltImage, ImageRecipe, RecipeFile, ensure_image, image_tag

REPOSITORY = "cove/node"
SUITE = "bookworm"
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
# The public catalog image templates name as image_id.
CATALOG_NAME = "swarm-mode-debian"

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

NODE_RECIPE = ImageRecipe(
    repository=REPOSITORY,
    name="node",
    suite=SUITE,
    packages=PACKAGES,
    os_distro=OS_DISTRO,
    version_package="docker.io",
    directories=("/etc/docker",),  # where cove writes daemon.json before a node starts
    files=(RecipeFile(INIT_PATH, INIT_SCRIPT, mode=0o755),),
    env=(("PATH", PATH_ENV),),
    entrypoint=(INIT_PATH,),
)


def node_image_tag() -> str:
    return image_tag(NODE_RECIPE)


def ensure_node_image(
    state_dir: Path,
    *,
    docker_host: str,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> BuiltImage:
    """Find the node image on the engine at ``docker_host`` (``Settings.docker_host``), or
    build it; ``force`` rebuilds it."""
    return ensure_image(NODE_RECIPE, state_dir, docker_host=docker_host, force=force, log=log)
