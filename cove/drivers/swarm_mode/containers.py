"""``SwarmContainerHost``: containers on the engines of a swarm-mode cluster's nodes, for the
clustering service (``cove.drivers.containerhost``).

Nodes and their addresses come from the provider; each node's engine is reached directly
(``nodeengines.NodeEngines``, shared with the cluster's app host). An image a node lacks is
streamed from the provider's engine, once per node and image; nothing is pulled. A node's
load comes from the provider's stats of the node container (its cgroup holds everything the
node runs) and the node engine's count of running containers; CPU is the delta since this
host's previous sample of that node.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import docker.errors

from cove.drivers.base import ClusterSpec
from cove.drivers.containerhost import (
    OWNER_LABEL,
    BalancerRecord,
    BalancerSpec,
    ContainerRecord,
    ContainerSpec,
    HostNode,
    NodeLoad,
)
from cove.drivers.fleet import parallel
from cove.drivers.swarm_mode import containerspecs as specs
from cove.drivers.swarm_mode import nodeengines
from cove.drivers.swarm_mode.balancers import Balancers
from cove.drivers.swarm_mode.nodeengines import EngineRefused, EngineUnavailable, engine_errors
from cove.providers.base import NodeRecord, Provider

log = logging.getLogger(__name__)
PING_TIMEOUT = 3.0


class SwarmContainerHost:
    def __init__(self, provider: Provider, cluster: ClusterSpec) -> None:
        self.provider = provider
        self.cluster = cluster
        self.engines = nodeengines.NodeEngines(provider, cluster)
        self._lock = threading.Lock()
        self._samples: dict[str, dict[str, specs.CpuSample]] = {}  # node -> container -> last
        self._balancers = Balancers(provider, cluster)

    # -- nodes -----------------------------------------------------------------------------

    def nodes(self) -> list[HostNode]:
        records = self.provider.find_nodes(self.cluster.uuid)
        ready = parallel(self._answers, records)
        return [self._host_node(r, ok) for r, ok in zip(records, ready, strict=True)]

    def loads(self) -> dict[str, NodeLoad]:
        records = [r for r in self.provider.find_nodes(self.cluster.uuid) if r.running]
        # One round: the host engine's stats of every node beside each node engine's stats
        # of the containers it runs.
        with ThreadPoolExecutor(max_workers=1) as pool:
            sampled = pool.submit(self.provider.node_stats, [r.name for r in records])
            inside = parallel(self._inside, records)
            stats = sampled.result()
        loads: dict[str, NodeLoad] = {}
        for record, usages in zip(records, inside, strict=True):
            sample = stats.get(record.name)
            if sample is None or usages is None:
                continue  # gone, stopped, or its engine does not answer: not ready
            with self._lock:
                load, kept = specs.node_load(self._samples.get(record.name, {}), sample, usages)
                self._samples[record.name] = kept
            loads[record.name] = load
        return loads

    # -- containers ------------------------------------------------------------------------

    def ensure_container(self, node: str, spec: ContainerSpec) -> ContainerRecord:
        api = self._client(node)
        attrs = self._inspect(api, node, spec.name)
        if attrs is None:
            self._ensure_image(api, node, spec.image)
            attrs = self._create(api, node, spec)
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        if not specs.owned_by(labels, spec.labels):
            raise EngineRefused(
                f"node {node}: container {spec.name} already exists and belongs to "
                f"{specs.whose(labels)}"
            )
        state = (attrs.get("State") or {}).get("Status")
        with engine_errors(node, f"starting container {spec.name}"):
            if state == "paused":
                api.unpause(spec.name)
            elif state != "running":
                api.start(spec.name)
        found = self._inspect(api, node, spec.name)
        if found is None:
            raise EngineUnavailable(f"node {node}: container {spec.name} vanished as it started")
        return specs.record_from_inspect(node, found)

    def find_containers(self, labels: Mapping[str, str]) -> list[ContainerRecord]:
        selector = [f"{k}={v}" for k, v in labels.items()]
        nodes = [r for r in self.provider.find_nodes(self.cluster.uuid) if r.running]

        def listed(record: NodeRecord) -> list[ContainerRecord]:
            api = self._client(record.name)
            with engine_errors(record.name, "listing containers"):
                found = api.containers(all=True, filters={"label": selector} if selector else None)
            return [specs.record_from_listing(record.name, c) for c in found]

        return [c for batch in parallel(listed, nodes) for c in batch]

    def inspect_container(self, node: str, name: str) -> ContainerRecord | None:
        if self._node(node, required=False) is None:
            return None  # the node is gone, and its containers with it
        attrs = self._inspect(self._client(node), node, name)
        return None if attrs is None else specs.record_from_inspect(node, attrs)

    def remove_container(self, node: str, name: str, *, grace: float = 10.0) -> None:
        record = self._node(node, required=False)
        if record is None or not record.running:
            # A node's engine keeps its containers on a tmpfs: they went with the node's
            # stop, so there is nothing to remove (a delete does not wait for a dead node).
            return
        api = self._client(node)
        attrs = self._inspect(api, node, name)
        if attrs is None:
            return
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        if OWNER_LABEL not in labels:
            raise EngineRefused(
                f"node {node}: container {name} is not cove's clustering's; not removing it"
            )
        with engine_errors(node, f"removing container {name}"):
            try:
                if (attrs.get("State") or {}).get("Status") in ("running", "restarting"):
                    api.stop(name, timeout=max(int(grace), 0))
                api.remove_container(name, v=True, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if exc.status_code != 409 or "in progress" not in str(exc.explanation):
                    raise

    def restart_container(self, node: str, name: str, *, grace: float = 10.0) -> None:
        self._act(node, name, "restarting", lambda api: api.restart(name, timeout=int(grace)))

    def pause_container(self, node: str, name: str) -> None:
        self._act(node, name, "pausing", lambda api: api.pause(name), done="already paused")

    def unpause_container(self, node: str, name: str) -> None:
        self._act(node, name, "unpausing", lambda api: api.unpause(name), done="is not paused")

    # -- balancers (run by the host engine, not on the nodes: see ``balancers``) -------------

    def ensure_balancer(self, spec: BalancerSpec) -> BalancerRecord:
        self._balancers.cluster = self.cluster
        return self._balancers.ensure(spec)

    def remove_balancer(self, name: str) -> None:
        self._balancers.cluster = self.cluster
        self._balancers.remove(name)

    def close(self) -> None:
        self.engines.close()

    # -- helpers ---------------------------------------------------------------------------

    def _host_node(self, record: NodeRecord, ready: bool) -> HostNode:
        group = next((g for g in self.cluster.nodegroups if g.uuid == record.nodegroup_uuid), None)
        return HostNode(
            name=record.name,
            role="manager" if record.role == "master" else "worker",
            nodegroup=group.name if group else record.nodegroup_uuid,
            address=record.address or "",
            ready=ready,
        )

    def _answers(self, record: NodeRecord) -> bool:
        if not (record.running and record.address):
            return False
        try:
            return bool(self._client(record.name, record).ping())
        except Exception:  # any failure means "not ready"; loads and calls say why
            return False

    def _inside(self, record: NodeRecord) -> list[specs.Usage] | None:
        """One-shot stats of each container running in the node (in parallel); ``None``
        when its engine does not answer."""
        if not record.address:
            return None
        try:
            api = self._client(record.name, record)
            running = api.containers()
        except Exception:  # not ready: left out of the loads
            return None

        def sample(summary: dict[str, Any]) -> specs.Usage | None:
            try:
                stats = api.stats(summary["Id"], stream=False, one_shot=True)
            except Exception:  # it stopped meanwhile
                return None
            return specs.usage_from_stats(summary["Id"], float(summary.get("Created") or 0), stats)

        return [u for u in parallel(sample, running) if u is not None]

    def _node(self, node: str, *, required: bool = True) -> NodeRecord | None:
        record = next(
            (n for n in self.provider.find_nodes(self.cluster.uuid) if n.name == node), None
        )
        if record is None and required:
            raise EngineRefused(f"{node} is not a node of cluster {self.cluster.name}")
        return record

    def _client(self, node: str, record: NodeRecord | None = None) -> docker.APIClient:
        record = record or self._node(node)
        assert record is not None
        return self.engines.client(record)

    def _inspect(self, api: docker.APIClient, node: str, name: str) -> dict[str, Any] | None:
        with engine_errors(node, f"inspecting container {name}"):
            try:
                return dict(api.inspect_container(name))
            except docker.errors.NotFound:
                return None

    def _create(self, api: docker.APIClient, node: str, spec: ContainerSpec) -> dict[str, Any]:
        create, host = specs.create_arguments(spec)
        with engine_errors(node, f"creating container {spec.name}"):
            try:
                api.create_container(
                    **create, host_config=api.create_host_config(**host), use_config_proxy=False
                )
                log.info("created container %s on %s", spec.name, node)
            except docker.errors.APIError as exc:
                if exc.status_code != 409:
                    raise  # 409: made meanwhile by a concurrent call; adopt or refuse it
        attrs = self._inspect(api, node, spec.name)
        if attrs is None:
            raise EngineUnavailable(f"node {node}: container {spec.name} vanished once made")
        return attrs

    def _ensure_image(self, api: docker.APIClient, node: str, image: str) -> None:
        self.engines.ensure_image(api, node, image)

    def _act(
        self,
        node: str,
        name: str,
        doing: str,
        call: Callable[[docker.APIClient], object],
        done: str = "",
    ) -> None:
        api = self._client(node)
        with engine_errors(node, f"{doing} container {name}"):
            try:
                call(api)
            except docker.errors.NotFound:
                raise EngineRefused(f"node {node}: there is no container {name}") from None
            except docker.errors.APIError as exc:
                if not (done and exc.status_code == 409 and done in str(exc.explanation)):
                    raise
