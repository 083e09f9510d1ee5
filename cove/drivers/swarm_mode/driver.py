"""The swarm-mode driver: Docker swarm clusters whose nodes come from a provider.

Every operation ends by converging: each node the node groups should have exists and runs
(adopted, started or made), its engine answers, it is a member of the swarm, stale member
entries are pruned, and every member is Ready. What an operation decides (which nodes a
resize removes, which manager replaces which in an upgrade, the new CA) is recorded as a
named step, so a conductor that died resumes the same plan; the rest observes before it
acts and is simply done again. Steps, in order:

- create: ``network``, ``nodes``, ``engines``, ``swarm``;
- resize and node groups: ``network``, ``plan``, ``nodes``, ``engines``, ``swarm``,
  ``evacuate`` (containers of container clusters moved off the nodes to remove),
  ``remove:<node>`` per node removed;
- upgrade: ``network``, ``nodes``, ``engines``, ``swarm``, ``surge-plan:<manager>`` and
  ``upgrade:<node>`` per node replaced;
- heal: ``network``, ``forget``, ``nodes``, ``engines``, ``swarm``;
- CA rotation: ``new-ca`` (the conductor's), ``tls:<node>`` per node, managers first.

Delete never waits on readiness: it removes everything labelled with the cluster.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from cove.drivers import nodeplan
from cove.drivers.base import (
    ClusterReport,
    ClusterSpec,
    DriverKey,
    HealthReport,
    NodeGroupReport,
    NodeGroupSpec,
    OperationInput,
    StepFailed,
)
from cove.drivers.fleet import Fleet, Slot, order, parallel, slug
from cove.drivers.swarm_mode import engine, health, services
from cove.drivers.swarm_mode.apps import SwarmAppHost
from cove.drivers.swarm_mode.commands import CommandFailed
from cove.drivers.swarm_mode.containers import SwarmContainerHost
from cove.drivers.swarm_mode.image import node_image_tag
from cove.drivers.swarm_mode.membership import Swarm
from cove.drivers.swarm_mode.nodeengines import NodeEngines, client_context
from cove.providers.base import NodeRecord, NodeSpec, Provider, ServiceRecord

log = logging.getLogger(__name__)
MAX_HOSTS = 64  # container hosts kept (the oldest is closed first)
V = TypeVar("V")
HEALTH_TIMEOUT = 10.0  # seconds a node engine has to answer a health check's read
MAX_CONTEXTS = 4096  # clusters' client TLS contexts kept for health checks (a few KB each)


class SwarmModeDriver:
    name = "swarm-mode-debian"
    provides = (DriverKey("vm", "debian", "swarm-mode"),)
    provider_kind = "docker"

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self._hosts: dict[tuple[str, str, bool], SwarmContainerHost] = {}
        self._apps: dict[tuple[str, str, bool], SwarmAppHost] = {}
        self._contexts: dict[tuple[str, str], ssl.SSLContext] = {}
        self._hosts_lock = threading.Lock()

    def check_template(self, template: Mapping[str, Any]) -> list[str]:
        return engine.check_template(template)

    def prepare(self) -> None:
        """At the conductor's start: the provider's one-time probes with the node image (the
        docker provider's node mode), so the first create does not wait for them."""
        prepare = getattr(self.provider, "prepare", None)
        if prepare is not None:
            prepare(node_image_tag())

    # -- operations ------------------------------------------------------------------------

    def create_cluster(self, op: OperationInput) -> ClusterReport:
        fleet = Fleet(self.provider, op.cluster)
        network = self._network(op, fleet)
        parallel_services = self._start_services(op, fleet, network)
        present = fleet.nodes()
        # With no node before this attempt, the swarm is formed anew: nothing stale to prune.
        primary, version, _ = self._converge(
            op, fleet, network, fleet.expected(present), present, fresh=True, stale=bool(present)
        )
        for service in parallel_services():
            op.event(_service_event(service))
        return self.report(op.cluster, fleet.nodes(), primary, version)

    def update_cluster(self, op: OperationInput) -> ClusterReport:
        """Resize (and node group create/delete): bring each group to its node_count,
        removing the nodes the plan chose (once, recorded) after adding new ones."""
        cluster = op.cluster
        fleet = Fleet(self.provider, cluster)
        network = self._network(op, fleet)
        existing = fleet.nodes()
        plan = op.steps.run("plan", lambda: self._plan_resize(op, existing))
        remove: list[str] = plan["remove"]
        slots = self._resize_slots(existing, op, plan)
        _, _, stale = self._converge(op, fleet, network, slots, existing, settle=False)
        if plan["add"]:
            op.event(f"Added {len(plan['add'])} node(s): {', '.join(plan['add'])}.")
        if remove:
            op.steps.run("evacuate", lambda: op.evacuate(remove))
            swarm = self._swarm(cluster)
            for name in remove:
                op.steps.run(f"remove:{name}", partial(self._remove, swarm, name))
            op.event(f"Removed {len(remove)} node(s): {', '.join(remove)}.")
        nodes = fleet.nodes()
        primary = self._swarm(cluster).primary(nodes)
        version = self._settle(cluster, nodes, primary, prune=stale)  # removals rm'd theirs
        return self.report(cluster, nodes, primary, version)

    def upgrade_cluster(self, op: OperationInput) -> ClusterReport:
        """Rolling: first converge (a node lost to an interrupted replacement comes back
        from the new image), then replace every node not on the new image, workers first,
        one at a time, each drained first; managers by surge (the new one joins before the
        old one leaves, so the swarm's Raft state moves across)."""
        cluster = op.cluster
        fleet = Fleet(self.provider, cluster)
        network = self._network(op, fleet)
        present = fleet.nodes()
        self._converge(op, fleet, network, fleet.expected(present), present)
        groups = {g.uuid: g for g in cluster.nodegroups}
        wanted = set(op.params.get("nodegroups") or groups)
        swarm = self._swarm(cluster)
        for node in sorted(fleet.nodes(), key=lambda n: (n.role == "master", order(n))):
            group = groups.get(node.nodegroup_uuid)
            if group is None or group.uuid not in wanted or node.image == group.node_image:
                continue
            if node.role == "master":
                plan = op.steps.run(
                    f"surge-plan:{node.name}", partial(self._surge_name, fleet, group, node.name)
                )
                surge = partial(self._surge_manager, op, fleet, swarm, network, group, node.name)
                op.steps.run(f"upgrade:{node.name}", partial(surge, plan["new"]))
            else:
                replace = partial(self._replace_worker, op, fleet, swarm, network, group, node)
                op.steps.run(f"upgrade:{node.name}", replace)
        nodes = fleet.nodes()
        primary = swarm.primary(nodes)
        version = self._settle(cluster, nodes, primary)
        return self.report(cluster, nodes, primary, version)

    def heal(self, op: OperationInput) -> ClusterReport:
        """Replace each failed node (params ``nodes``) and start the cluster's service
        containers again if any stopped. A swarm that lost quorum is first re-formed from a
        surviving manager (``--force-new-cluster`` keeps its state). Failed managers are
        replaced one at a time by surge, as an upgrade does: the new manager joins before
        the old one is removed, so the swarm never loses more than it can. Failed workers
        are made anew under their names."""
        cluster = op.cluster
        fleet = Fleet(self.provider, cluster)
        network = self._network(op, fleet)
        self._ensure_services(cluster, network)
        helpers = {name for name, _ in services.wanted(cluster)}
        groups = {slug(g): g for g in cluster.nodegroups}
        names = [str(n) for n in op.params.get("nodes") or []]
        failed = [n for n in names if n not in helpers and nodeplan.slug_of(n) in groups]
        managers = sorted(
            (n for n in failed if groups[nodeplan.slug_of(n)].role == "master"),
            key=nodeplan.index_of,
        )
        swarm = self._swarm(cluster)
        op.steps.run("quorum", partial(self._restore_quorum, op, fleet, swarm))
        for old in managers:
            group = groups[nodeplan.slug_of(old)]
            plan = op.steps.run(f"surge-plan:{old}", partial(self._surge_name, fleet, group, old))
            surge = partial(self._surge_manager, op, fleet, swarm, network, group, old)
            op.steps.run(f"replace:{old}", partial(surge, plan["new"]))
        workers = [n for n in failed if n not in managers]
        op.steps.run("forget", lambda: self._forget(fleet, workers))
        present = fleet.nodes()
        slots = fleet.expected(present, keep=workers)  # failed workers come back, same names
        primary, version, _ = self._converge(op, fleet, network, slots, present)
        if failed:
            op.event(f"Replaced {len(failed)} failed node(s): {', '.join(failed)}.")
        return self.report(cluster, fleet.nodes(), primary, version)

    def delete_cluster(self, op: OperationInput) -> None:
        self.provider.delete_cluster(op.cluster.uuid)

    def rotate_ca(self, op: OperationInput) -> None:
        """New server certificates from the new CA on every node, managers first (every
        node's engine answers on TCP, see ``engine``); the engine reloads them when
        restarted, so client certificates from the old CA stop working."""
        cluster = op.cluster
        swarm = self._swarm(cluster)
        nodes = Fleet(self.provider, cluster).nodes()
        if not cluster.template.get("tls_disabled"):
            for node in sorted(nodes, key=lambda n: (n.role != "master", order(n))):
                op.steps.run(f"tls:{node.name}", partial(self._new_tls, op, swarm, node))
        swarm.wait_ready(swarm.primary(nodes))

    # -- containers on the nodes (HostsContainers) -----------------------------------------

    def container_host(self, cluster: ClusterSpec) -> SwarmContainerHost:
        """The cluster's node engines; one host per cluster and CA, kept so that its CPU
        samples and connections serve the next call (a rotated CA gets a new one)."""
        key = (cluster.uuid, cluster.ca_cert_pem, bool(cluster.template.get("tls_disabled")))
        with self._hosts_lock:
            host = self._hosts.get(key)
            if host is None:
                for old in _make_room(self._hosts, cluster.uuid, MAX_HOSTS):
                    old.close()
                host = self._hosts[key] = SwarmContainerHost(self.provider, cluster)
            host.cluster = cluster  # node groups may have changed since
            return host

    # -- applications on the cluster (AppHost) ---------------------------------------------

    def app_host(self, cluster: ClusterSpec) -> SwarmAppHost:
        """The cluster's orchestrator for deployments; one per cluster and CA, sharing the
        container host's node engines (connections and image transfers)."""
        key = (cluster.uuid, cluster.ca_cert_pem, bool(cluster.template.get("tls_disabled")))
        engines = self.container_host(cluster).engines
        with self._hosts_lock:
            apps = self._apps.get(key)
            if apps is None or apps.engines is not engines:
                _make_room(self._apps, cluster.uuid, MAX_HOSTS)  # engines went with the host
                apps = self._apps[key] = SwarmAppHost(self.provider, cluster, engines)
            apps.cluster = cluster
            return apps

    # -- health ----------------------------------------------------------------------------

    def check_health(self, cluster: ClusterSpec) -> HealthReport:
        """Over the node engines' APIs where cove reaches the nodes (no exec: see
        ``health``), on connections of its own, so that checking every cluster in turn
        does not evict the container hosts' kept ones."""
        if not self.provider.reaches_nodes:
            return health.check(self.provider, cluster)
        context = self._client_context(cluster)
        engines = NodeEngines(self.provider, cluster, HEALTH_TIMEOUT, context)
        try:
            return health.check(self.provider, cluster, engines)
        finally:
            engines.close()

    def _swarm(self, cluster: ClusterSpec) -> Swarm:
        """The cluster's swarm, read over its node engines' APIs where cove reaches the nodes
        (the container host's kept connections), acted on by exec."""
        if not self.provider.reaches_nodes:
            return Swarm(self.provider, cluster)
        return Swarm(self.provider, cluster, self.container_host(cluster).engines)

    def _client_context(self, cluster: ClusterSpec) -> ssl.SSLContext | None:
        """The TLS context of cove's client certificate for the cluster's current CA, kept
        (a new key and certificate per check would cost more than the check's read)."""
        if cluster.template.get("tls_disabled"):
            return None
        key = (cluster.uuid, cluster.ca_cert_pem)
        with self._hosts_lock:
            context = self._contexts.get(key)
        if context is None:
            context = client_context(cluster)
            with self._hosts_lock:
                _make_room(self._contexts, cluster.uuid, MAX_CONTEXTS)  # a rotated CA's goes
                self._contexts[key] = context
        return context

    # -- reading back ----------------------------------------------------------------------

    def report(
        self,
        cluster: ClusterSpec,
        nodes: Sequence[NodeRecord],
        primary: NodeRecord,
        version: str = "",
    ) -> ClusterReport:
        """Addresses and versions read back from the nodes (counts are never reported: the
        desired node_count is the database's, not the driver's)."""
        groups: dict[str, NodeGroupReport] = {}
        for group in cluster.nodegroups:
            members = sorted((n for n in nodes if n.nodegroup_uuid == group.uuid), key=order)
            groups[group.uuid] = NodeGroupReport(
                node_addresses=[n.address for n in members if n.address]
            )
        version = version or self._swarm(cluster).version(primary)
        port = engine.api_port(cluster)
        host_port = primary.host_ports.get(port)
        if services.lb_wanted(cluster):
            found = {s.name: s for s in self.provider.find_services(cluster.uuid)}
            lb = found.get(services.lb_name(cluster))
            host_port = lb.host_ports.get(port) if lb else None
        return ClusterReport(
            api_address=f"tcp://127.0.0.1:{host_port}" if host_port else None,
            coe_version=version,
            container_version=version,
            nodegroups=groups,
        )

    # -- steps -----------------------------------------------------------------------------

    def _network(self, op: OperationInput, fleet: Fleet) -> str:
        network = fleet.network()
        if op.kind == "create" and not op.steps.done("network"):
            op.event(f"Network {network} ready.")
        op.steps.mark("network", {"network": network})
        return network

    def _converge(
        self,
        op: OperationInput,
        fleet: Fleet,
        network: str,
        slots: Sequence[Slot],
        present: Sequence[NodeRecord],
        *,
        fresh: bool = False,
        stale: bool = True,
        settle: bool = True,
    ) -> tuple[NodeRecord, str, bool]:
        """Every node of ``slots`` made or adopted and running, its engine answering, a member
        of the swarm (``fresh``: every node runs its join, which checks membership itself;
        else only those the swarm does not list Ready); with ``settle``, stale member entries
        pruned (when ``fresh``, only if ``stale``: the caller knows the swarm is new) and every
        member Ready. ``present`` is the cluster's nodes as this operation listed them: those
        it shows running are taken as listed. Returns the primary manager, the engine version
        ("" without ``settle``) and whether the swarm listed stale entries (pruning is then
        needed)."""
        cluster = op.cluster
        made = fleet.ensure(slots, partial(self._node_spec, cluster, network), present)
        op.steps.mark("nodes", {"nodes": sorted(n.name for n in made)})
        op.event(f"{len(made)} node(s) started; waiting for their engines.")
        swarm = self._swarm(cluster)
        primary, ready, tokens = None, None, None
        if not fresh:
            # What the swarm already has: members it lists Ready need no engine wait and no
            # join, and a listing with nothing stale in it needs no pruning.
            # The cluster's containers: the listing, and what ensure made since.
            names = {n.name for n in present} | {n.name for n in made}
            primary = swarm.primary(made)
            view = swarm.view(primary)
            if view is not None:
                listing, tokens = view
                hosts = [str(m.get("Hostname")) for m in listing]
                ready = {
                    h for h, m in zip(hosts, listing, strict=True) if m.get("Status") == "Ready"
                }
                stale = len(set(hosts)) < len(hosts) or any(
                    h not in names or h not in ready for h in hosts
                )
        waiting = [n for n in made if ready is None or n.name not in ready]
        parallel(lambda n: swarm.run(n.name, "wait-engine"), waiting)
        op.steps.mark("engines")
        primary = swarm.form(
            made, joining=made if fresh else (), primary=primary, ready=ready, tokens=tokens
        )
        op.steps.mark("swarm")
        version = ""
        if settle:
            nodes = fleet.nodes() if stale else []  # only pruning reads them
            version = self._settle(cluster, nodes, primary, prune=stale)
        op.event("Swarm formed: all nodes joined.")
        return primary, version, stale

    def _settle(
        self,
        cluster: ClusterSpec,
        nodes: Sequence[NodeRecord],
        primary: NodeRecord,
        *,
        prune: bool = True,
    ) -> str:
        """Prune stale member entries (unless the caller saw none), wait until every member
        is Ready; the engine version."""
        swarm = self._swarm(cluster)
        if prune:
            swarm.prune(primary, nodes)
        return swarm.wait_ready(primary)

    def _start_services(self, op: OperationInput, fleet: Fleet, network: str) -> Any:
        """Start the cluster's service containers beside the nodes; call the result to wait."""
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=1)
        future = pool.submit(self._ensure_services, op.cluster, network)
        pool.shutdown(wait=False)
        return future.result

    def _ensure_services(self, cluster: ClusterSpec, network: str) -> list[ServiceRecord]:
        """The load balancer and registry the template asks for, from the managers' image."""
        image = next(
            (g.node_image for g in cluster.nodegroups if g.role == "master" and g.node_image),
            None,
        )
        specs = []
        if image and services.lb_wanted(cluster):
            specs.append(services.lb_spec(cluster, image, network))
        if image and services.registry_wanted(cluster):
            specs.append(services.registry_spec(cluster, image, network))
        return parallel(self.provider.ensure_service, specs)

    def _node_spec(
        self, cluster: ClusterSpec, network: str, group: NodeGroupSpec, name: str
    ) -> NodeSpec:
        master = group.role == "master"
        files = engine.node_files(cluster, group, name)
        if services.registry_wanted(cluster):
            files[services.REGISTRY_PROXY_CONFIG] = services.registry_proxy_config(cluster).encode()
        assert group.node_image is not None  # Fleet.ensure checked
        return NodeSpec(
            name=name,
            hostname=name,
            cluster_uuid=cluster.uuid,
            nodegroup_uuid=group.uuid,
            role=group.role,
            image=group.node_image,
            network=network,
            cpus=group.cpus,
            memory_mb=group.memory_mb,
            storage_gb=group.docker_volume_size or group.disk_gb or None,
            dns=engine.dns_servers(cluster.template),
            env=engine.proxy_env(cluster.template),
            ports={engine.api_port(cluster): 0} if master else {},
            files=files,
            aliases=(services.managers_alias(cluster),) if master else (),
        )

    # resize

    def _plan_resize(self, op: OperationInput, existing: Sequence[NodeRecord]) -> dict[str, Any]:
        """Which nodes to add and which to remove (of the cluster's nodes, ``existing``),
        decided once per operation."""
        cluster = op.cluster
        targets = _targets(cluster, op.params)
        requested = [str(x) for x in (op.params.get("nodes_to_remove") or [])]
        remove: list[str] = []
        add: list[str] = []
        swarm = self._swarm(cluster)
        members: list[dict[str, Any]] | None = None
        for group in targets:
            group_nodes = [n for n in existing if n.nodegroup_uuid == group.uuid]
            want = 0 if _deleting(group, op) else group.node_count
            surplus = len(group_nodes) - want
            if surplus > 0:
                if members is None:
                    members = swarm.members_anywhere(existing)
                ids = {m.get("Hostname"): m.get("ID") for m in members}
                primary = swarm.primary(existing)
                running = [n.name for n in group_nodes if n.running]
                tasks = swarm.task_counts(primary, running) if running else {}
                candidates = [
                    nodeplan.Candidate(n.name, ids.get(n.name), n.address, tasks.get(n.name, 0))
                    for n in group_nodes
                ]
                try:
                    remove += nodeplan.choose_victims(candidates, surplus, requested)
                except LookupError as exc:
                    raise StepFailed(
                        f"nodes_to_remove names {exc.args[0]}, which is not a node of {group.name}."
                    ) from None
            remaining = [n.name for n in group_nodes if n.name not in remove]
            for index in nodeplan.slots_to_add(remaining, want):
                add.append(nodeplan.node_name(cluster.uuid, slug(group), index))
        return {"add": add, "remove": remove}

    def _resize_slots(
        self, existing: Sequence[NodeRecord], op: OperationInput, plan: Mapping[str, Any]
    ) -> list[Slot]:
        """Every node the cluster keeps or gains: each group's nodes (``existing``) less
        those the plan removes, plus those it adds."""
        remove = set(plan["remove"])
        slots: list[Slot] = []
        for group in op.cluster.nodegroups:
            if _deleting(group, op):
                continue
            keep = [n.name for n in existing if n.nodegroup_uuid == group.uuid]
            added = [n for n in plan["add"] if nodeplan.slug_of(n) == slug(group)]
            slots += [
                (group, name) for name in sorted(set(keep + added) - remove, key=nodeplan.index_of)
            ]
        return slots

    def _remove(self, swarm: Swarm, name: str) -> None:
        nodes = Fleet(self.provider, swarm.cluster).nodes()
        node = next((n for n in nodes if n.name == name), None)
        others = [n for n in nodes if n.name != name]
        primary = swarm.primary(others)
        swarm.remove(primary, node, name)
        self.provider.delete_node(name)

    # upgrade

    def _surge_name(self, fleet: Fleet, group: NodeGroupSpec, old: str) -> dict[str, str]:
        """The name of the manager that replaces ``old``: a free slot of its group (never
        ``old``'s own, which may be free already when its container is gone)."""
        members = [n.name for n in fleet.nodes() if n.nodegroup_uuid == group.uuid]
        taken = sorted({*members, old})
        index = nodeplan.slots_to_add(taken, len(taken) + 1)[0]
        return {"new": nodeplan.node_name(fleet.cluster.uuid, slug(group), index)}

    def _surge_manager(
        self,
        op: OperationInput,
        fleet: Fleet,
        swarm: Swarm,
        network: str,
        group: NodeGroupSpec,
        old: str,
        new: str,
    ) -> None:
        """Replace a manager without losing the swarm: join a new manager first (Raft copies
        the swarm's state to it), then remove the old one."""
        op.event(f"Replacing manager {old}: adding manager {new} first.")
        self._join_new(op, fleet, swarm, network, group, new)
        self._remove(swarm, old)
        op.event(f"{old} replaced by {new}.")

    def _replace_worker(
        self,
        op: OperationInput,
        fleet: Fleet,
        swarm: Swarm,
        network: str,
        group: NodeGroupSpec,
        old: NodeRecord,
    ) -> None:
        op.event(f"Upgrading {old.name}: draining.")
        self._remove(swarm, old.name)
        self._join_new(op, fleet, swarm, network, group, old.name)
        op.event(f"{old.name} upgraded and rejoined.")

    def _join_new(
        self,
        op: OperationInput,
        fleet: Fleet,
        swarm: Swarm,
        network: str,
        group: NodeGroupSpec,
        name: str,
    ) -> None:
        """Make node ``name`` of ``group`` (from the group's image) and join it."""
        made = fleet.ensure([(group, name)], partial(self._node_spec, op.cluster, network))
        swarm.run(name, "wait-engine")
        swarm.form(fleet.nodes(), joining=made)

    # heal

    def _forget(self, fleet: Fleet, names: Sequence[str]) -> dict[str, Any]:
        """Remove each failed node's container and its swarm entry (through a live manager,
        if any answers), so converging makes it anew."""
        swarm = self._swarm(fleet.cluster)
        nodes = fleet.nodes()
        live = [n for n in nodes if n.name not in names]
        for name in names:
            self.provider.delete_node(name)
        try:
            primary = swarm.primary(live)
            if swarm.state(primary) == "active":
                for name in names:
                    swarm.run(primary.name, "demote", name)
                    swarm.run(primary.name, "node-rm", name)
        except StepFailed:
            pass  # no manager left: converging forms the swarm anew
        return {"nodes": list(names)}

    def _restore_quorum(self, op: OperationInput, fleet: Fleet, swarm: Swarm) -> dict[str, Any]:
        """When no manager has a leader (more than half of them are gone), re-form the swarm
        from a surviving manager whose engine is still an active member, keeping its state
        (Docker's documented recovery); the others are then replaced as failed managers."""
        nodes = fleet.nodes()
        try:
            swarm.members_anywhere(nodes)
            return {}
        except CommandFailed:
            if not swarm.quorum_lost(nodes):
                raise  # an election in progress, or engines restarting: try again later
        managers = sorted((n for n in nodes if n.role == "master" and n.running), key=order)
        survivor = next((m for m in managers if swarm.state(m) == "active"), None)
        if survivor is None:
            op.event("Quorum lost and no manager survives: the swarm is formed anew.")
            return {}
        swarm.run(survivor.name, "force-new-cluster", survivor.address or "")
        op.event(f"Quorum lost: re-formed the swarm from {survivor.name}, keeping its state.")
        return {"survivor": survivor.name}

    # CA rotation

    def _new_tls(self, op: OperationInput, swarm: Swarm, node: NodeRecord) -> None:
        self.provider.put_files(node.name, engine.tls_files(op.cluster, node.name))
        swarm.run(node.name, "restart-engine")
        swarm.run(node.name, "wait-engine")
        op.event(f"{node.name}: engine restarted with certificates from the new CA.")


def _service_event(service: ServiceRecord) -> str:
    ports = ", ".join(f"{p} on 127.0.0.1:{h}" for p, h in sorted(service.host_ports.items()))
    if service.kind == "registry":
        port = service.host_ports.get(services.REGISTRY_PORT)
        return (
            f"Registry {service.name} ready: push to 127.0.0.1:{port}/<name>; "
            f"nodes pull localhost:{services.REGISTRY_PORT}/<name>."
        )
    return f"Load balancer {service.name} ready in front of the managers ({ports})."


def _deleting(group: NodeGroupSpec, op: OperationInput) -> bool:
    return op.kind == "delete-nodegroup" and op.params.get("nodegroup") == group.uuid


def _targets(cluster: ClusterSpec, params: Mapping[str, object]) -> list[NodeGroupSpec]:
    wanted = params.get("nodegroup")
    return [g for g in cluster.nodegroups if wanted in (None, g.uuid)]


def _make_room(cache: dict[Any, V], cluster_uuid: str, limit: int) -> list[V]:
    """Drop from a per-cluster cache (keys start with the cluster's uuid) the cluster's
    entries, made for another CA, then the oldest until one more fits; return them."""
    gone = [cache.pop(k) for k in [k for k in cache if k[0] == cluster_uuid]]
    while len(cache) >= limit:
        gone.append(cache.pop(next(iter(cache))))
    return gone
