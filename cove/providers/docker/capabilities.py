"""Decide how node containers get the powers docker-in-docker needs.

``--privileged`` is the normal choice, but some hosts refuse it: when the host's capability
bounding set lacks a capability (CAP_SYS_RESOURCE on this project's machines) runc fails with
"unable to apply caps". So the provider *detects* which works, once per provider instance: it
starts a throwaway container from the node image with ``privileged=True`` and the entrypoint
overridden to ``true``. If the engine refuses, nodes get an explicit option set instead
(all capabilities but SYS_RESOURCE, no seccomp/AppArmor confinement, writable /sys paths, every
device, the host's cgroup tree). Nothing here is hard-coded per machine.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import docker
import docker.errors

from cove.providers.base import LABEL_CLUSTER
from cove.providers.docker.errors import map_docker_errors

log = logging.getLogger(__name__)

LABEL_PROBE = "cove.probe"
PROBE_TIMEOUT = 60.0

# The options docs/host.md lists to run a full inner engine where --privileged fails, as
# arguments of the SDK's ``create_host_config``.
UNPRIVILEGED_OPTIONS: dict[str, Any] = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
    "device_cgroup_rules": ["a *:* rwm"],
    "binds": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
    "cgroupns": "host",
}
# ``--security-opt systempaths=unconfined`` is the docker CLI's spelling: the CLI turns it into
# empty MaskedPaths and ReadonlyPaths (the engine refuses it as a security option), and the
# SDK has no argument for these fields, so they are set in the HostConfig itself.
UNPRIVILEGED_HOST_CONFIG: dict[str, Any] = {"MaskedPaths": [], "ReadonlyPaths": []}
PRIVILEGED_OPTIONS: dict[str, Any] = {"privileged": True}


@dataclass(frozen=True)
class NodeMode:
    """How node containers run: ``privileged`` or the explicit ``capabilities`` option set."""

    privileged: bool
    reason: str  # why this mode was chosen (the engine's refusal, if any)

    @property
    def name(self) -> str:
        return "privileged" if self.privileged else "capabilities"

    def host_config_options(self, storage_gb: int | None = None) -> dict[str, Any]:
        """Arguments of ``create_host_config`` shared by every node container.

        The engine's storage is a tmpfs (the inner engine must not run overlay on overlay);
        ``storage_gb`` caps its size. ``init`` reaps the zombies dockerd leaves.
        """
        storage = "exec" if storage_gb is None else f"exec,size={storage_gb}g"
        options = dict(PRIVILEGED_OPTIONS if self.privileged else UNPRIVILEGED_OPTIONS)
        options["tmpfs"] = {"/run": "", "/var/lib/docker": storage}
        options["init"] = True
        return options

    def host_config_fields(self) -> dict[str, Any]:
        """HostConfig fields the SDK has no argument for (set after ``create_host_config``)."""
        return {} if self.privileged else dict(UNPRIVILEGED_HOST_CONFIG)


class ModeDetector:
    """Finds the node mode once and remembers it (thread-safe; a failed probe is not cached)."""

    def __init__(self) -> None:
        self._mode: NodeMode | None = None
        self._lock = threading.Lock()

    @property
    def mode(self) -> NodeMode | None:
        """The detected mode, or ``None`` before the first detection."""
        return self._mode

    def detect(self, client: docker.DockerClient, image: str, cluster_uuid: str | None) -> NodeMode:
        """The mode for node containers, probing the engine with ``image`` the first time.

        The probe container carries the cluster's label, so a probe left behind by a crash is
        swept by ``delete_cluster``; one made for no cluster (a conductor's warm-up) is removed
        by a later probe.

        Raises:
            ProviderUnavailable: the engine could not be reached.
            ProviderError: the probe could not be created (e.g. the image is missing).
        """
        with self._lock:
            if self._mode is None:
                started = time.monotonic()
                self._mode = probe_privileged(client, image, cluster_uuid)
                log.info(
                    "docker provider: node containers run %s (%s; detected in %.2fs)",
                    self._mode.name,
                    self._mode.reason,
                    time.monotonic() - started,
                )
            return self._mode


def probe_privileged(client: docker.DockerClient, image: str, cluster_uuid: str | None) -> NodeMode:
    """Start ``true`` from ``image`` with ``privileged=True``; the answer decides the mode.

    Raises:
        ProviderUnavailable: the engine could not be reached.
        ProviderError: the probe container could not be created.
    """
    labels = {LABEL_PROBE: "privileged"}
    if cluster_uuid is not None:
        labels[LABEL_CLUSTER] = cluster_uuid
    with map_docker_errors():
        remove_stale_probes(client)
        container = client.containers.create(
            image,
            entrypoint=["true"],
            name=f"cove-probe-{uuid.uuid4().hex[:12]}",
            labels=labels,
            network_mode="none",
            privileged=True,
        )
        try:
            try:
                container.start()
            except docker.errors.APIError as exc:
                # "OCI runtime create failed: ... unable to apply caps: operation not permitted"
                return NodeMode(privileged=False, reason=f"--privileged refused: {exc.explanation}")
            status = container.wait(timeout=PROBE_TIMEOUT).get("StatusCode")
            if status != 0:
                return NodeMode(privileged=False, reason=f"--privileged probe exited {status}")
            return NodeMode(privileged=True, reason="--privileged accepted")
        finally:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


def remove_stale_probes(client: docker.DockerClient) -> None:
    """Remove probes a killed process left (a probe lives well under a second; one created
    over ``PROBE_TIMEOUT`` ago is nobody's). Call inside ``map_docker_errors``."""
    cutoff = time.time() - PROBE_TIMEOUT
    for container in client.containers.list(all=True, filters={"label": LABEL_PROBE}):
        created = container.attrs.get("Created", "")
        try:
            made = datetime.fromisoformat(created[:26].rstrip("Z")).replace(tzinfo=UTC)
        except ValueError:
            continue
        if made.timestamp() < cutoff:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
