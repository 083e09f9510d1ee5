"""A test driver for API and client-compatibility tests: serves os_distro ``instant`` for
every COE and finishes each operation at once, reporting plausible addresses. It stands in
for a live driver where the test is about the API, not about nodes."""

from __future__ import annotations

import threading

from cove.drivers import nodeplan
from cove.drivers.base import (
    ClusterReport,
    ClusterSpec,
    DriverKey,
    HealthReport,
    NodeGroupReport,
    OperationInput,
)
from cove.drivers.memoryapps import MemoryAppHost
from cove.drivers.memoryhost import MemoryContainerHost
from cove.images.apps import APPS
from cove.images.recipe import image_tag

COES = ("kubernetes", "swarm", "swarm-mode", "mesos", "dcos")


class InstantDriver:
    name = "instant"
    provides = tuple(DriverKey(st, "instant", coe) for st in ("vm", "bm") for coe in COES)

    def _report(self, op: OperationInput) -> ClusterReport:
        groups = {}
        for n, ng in enumerate(op.cluster.nodegroups):
            addresses = [f"10.{n}.0.{i + 2}" for i in range(ng.node_count)]
            groups[ng.uuid] = NodeGroupReport(node_addresses=addresses)
        return ClusterReport(
            api_address="tcp://10.0.0.2:2376",
            coe_version="instant-1.0",
            container_version="1.0",
            nodegroups=groups,
        )

    def create_cluster(self, op: OperationInput) -> ClusterReport:
        op.event("instant: all nodes up")
        return self._report(op)

    def update_cluster(self, op: OperationInput) -> ClusterReport:
        """Nodes named in ``nodes_to_remove`` are evacuated, then gone from the cluster's
        container host and app host (the rest of a resize is instant)."""
        removed = [str(n) for n in op.params.get("nodes_to_remove") or []]
        if removed:
            op.evacuate(removed)
            host = InstantDriver.hosts.get(op.cluster.uuid)
            apps = InstantDriver.apps.get(op.cluster.uuid)
            for name in removed:
                if host is not None and name in {n.name for n in host.nodes()}:
                    host.lose_node(name)
                if apps is not None:
                    apps.lose_node(name)
        return self._report(op)

    def upgrade_cluster(self, op: OperationInput) -> ClusterReport:
        return self._report(op)

    def delete_cluster(self, op: OperationInput) -> None:
        return None

    def rotate_ca(self, op: OperationInput) -> None:
        return None

    # Health: tests set ``failed`` to the node names the next check reports as failed;
    # healing replaces them (clears the set) and records what it was asked to heal.
    failed: tuple[str, ...] = ()
    healed: list[tuple[str, ...]] = []

    def check_health(self, cluster: ClusterSpec) -> HealthReport:
        reason = {"api": "ok", **{f"{n}.Ready": "False" for n in self.failed}}
        return HealthReport("UNHEALTHY" if self.failed else "HEALTHY", reason, self.failed)

    def heal(self, op: OperationInput) -> ClusterReport:
        self.healed = [*self.healed, tuple(op.params["nodes"])]
        self.failed = ()
        return self._report(op)

    # Containers on the nodes (HostsContainers): one in-memory host per cluster uuid, shared
    # by every instance, so a test reaches the host the service used (``hosts[uuid]``).
    hosts: dict[str, MemoryContainerHost] = {}

    def container_host(self, cluster: ClusterSpec) -> MemoryContainerHost:
        """Nodes named as the swarm-mode driver names them (``cove.drivers.nodeplan``)."""
        with _HOSTS_LOCK:
            host = InstantDriver.hosts.get(cluster.uuid)
            if host is None:
                host = InstantDriver.hosts[cluster.uuid] = MemoryContainerHost(
                    nodes=(), host_images=IMAGES
                )
                for n, group in enumerate(cluster.nodegroups):
                    role = "manager" if group.role == "master" else "worker"
                    for i in range(group.node_count):
                        slug = nodeplan.group_slug(group.name, group.role, group.is_default)
                        name = nodeplan.node_name(cluster.uuid, slug, i)
                        host.add_node(name, role, group.name, address=f"10.{n}.0.{i + 2}")
            return host

    # Applications on the cluster (AppHost): one in-memory orchestrator per cluster uuid,
    # shared by every instance (``apps[uuid]``), its nodes those of ``container_host``.
    apps: dict[str, MemoryAppHost] = {}

    def app_host(self, cluster: ClusterSpec) -> MemoryAppHost:
        with _HOSTS_LOCK:
            apps = InstantDriver.apps.get(cluster.uuid)
            if apps is None:
                apps = InstantDriver.apps[cluster.uuid] = MemoryAppHost(
                    nodes=(), host_images=(*IMAGES, *APP_IMAGES)
                )
                for group in cluster.nodegroups:
                    role = "manager" if group.role == "master" else "worker"
                    slug = nodeplan.group_slug(group.name, group.role, group.is_default)
                    for i in range(group.node_count):
                        apps.add_node(nodeplan.node_name(cluster.uuid, slug, i), role)
            return apps


_HOSTS_LOCK = threading.Lock()
# What the in-memory hosts' "host engine" holds: images the clustering tests use.
IMAGES = ("nginx:alpine", "busybox", "web:2")
# cove's app images (deployments), as built now.
APP_IMAGES = tuple(image_tag(app.recipe) for app in APPS.values())
