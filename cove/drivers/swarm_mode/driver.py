"""The swarm-mode driver: Docker swarm clusters whose nodes come from a provider.

Create, for a normal and a resumed run alike (every step observes before it acts):
1. ensure the cluster network;
2. ensure every node (in parallel), its engine configuration and TLS written before start,
   and the cluster's service containers (load balancer, registry; see ``services``);
3. wait for each node's engine (in parallel);
4. init the swarm on the first manager unless it is already active;
5. join the other managers one at a time (Raft) while workers join in parallel;
6. read back addresses and versions.

Delete never waits on readiness: it removes everything labelled with the cluster.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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
from cove.drivers.swarm_mode import engine, plan, services
from cove.providers.base import NetworkSpec, NodeRecord, NodeSpec, Provider, ServiceRecord

log = logging.getLogger(__name__)

T = TypeVar("T")
SWARM_PORT = 2377
ENGINE_WAIT_SECONDS = 60


class EngineCommandFailed(Exception):
    """A command inside a node failed; temporary as far as the runner is concerned."""


class SwarmModeDriver:
    name = "swarm-mode-debian"
    provides = (DriverKey("vm", "debian", "swarm-mode"),)

    def __init__(self, provider: Provider | None = None) -> None:
        self._provider = provider

    @property
    def provider(self) -> Provider:
        # Made on first use: API processes build the registry but never talk to an engine.
        if self._provider is None:
            from cove.providers.docker import DockerProvider

            self._provider = DockerProvider()
        return self._provider

    def check_template(self, template: Mapping[str, Any]) -> list[str]:
        return engine.check_template(template)

    # -- operations ------------------------------------------------------------------------

    def create_cluster(self, op: OperationInput) -> ClusterReport:
        cluster = op.cluster
        network = self._ensure_network(cluster)
        op.event(f"Network {network} ready.")
        wanted = [
            (group, plan.node_name(cluster.uuid, _slug(group), index))
            for group in cluster.nodegroups
            for index in range(group.node_count)
        ]
        with ThreadPoolExecutor(max_workers=1) as pool:
            helpers = pool.submit(self._ensure_services, cluster, network)
            nodes = self._ensure_nodes(cluster, network, wanted)
            op.event(f"{len(nodes)} node(s) started; waiting for their engines.")
            _parallel(self._wait_engine, [n.name for n in nodes])
            for service in helpers.result():
                op.event(_service_event(service))
        primary = self._form_swarm(cluster, nodes)
        op.event("Swarm formed: all nodes joined.")
        # Complete once every member is Ready (the health check that follows agrees).
        return self.report(cluster, wait_ready_on=primary.name)

    def update_cluster(self, op: OperationInput) -> ClusterReport:
        """Resize (and node group create/delete): bring each group to its node_count."""
        cluster = op.cluster
        network = self._ensure_network(cluster)
        targets = _targets(cluster, op.params)
        existing = self.provider.find_nodes(cluster.uuid)
        remove = self._victims(cluster, existing, targets, op)
        add: list[tuple[NodeGroupSpec, str]] = []
        for group in targets:
            current = [n.name for n in existing if n.nodegroup_uuid == group.uuid]
            remaining = [n for n in current if n not in remove]
            slug = _slug(group)
            for index in plan.slots_to_add(
                remaining, group.node_count if not _deleting(group, op) else 0
            ):
                add.append((group, plan.node_name(cluster.uuid, slug, index)))
        if add:
            nodes = self._ensure_nodes(cluster, network, add)
            _parallel(self._wait_engine, [n.name for n in nodes])
            self._form_swarm(cluster, self.provider.find_nodes(cluster.uuid), joining=nodes)
            self._wait_swarm_ready(cluster)
            op.event(f"Added {len(add)} node(s): {', '.join(name for _, name in add)}.")
        if remove:
            self._remove_nodes(cluster, remove)
            op.event(f"Removed {len(remove)} node(s): {', '.join(remove)}.")
        return self.report(cluster)

    def upgrade_cluster(self, op: OperationInput) -> ClusterReport:
        """Rolling: one node at a time (``max_batch_size`` at most), each drained first,
        replaced by a node from the new image, and rejoined before the next."""
        cluster = op.cluster
        network = self._ensure_network(cluster)
        groups = {g.uuid: g for g in cluster.nodegroups}
        wanted = set(op.params.get("nodegroups") or groups)
        for node in self._upgrade_order(cluster):
            group = groups.get(node.nodegroup_uuid)
            if group is None or group.uuid not in wanted or node.image == group.node_image:
                continue
            if node.role == "master":
                self._surge_manager(op, cluster, network, group, node)
                continue
            op.event(f"Upgrading {node.name}: draining.")
            self._drain(cluster, [node.name])
            self._leave(cluster, node.name)
            self.provider.delete_node(node.name)
            new = self._ensure_nodes(cluster, network, [(group, node.name)])
            self._wait_engine(node.name)
            self._form_swarm(cluster, self.provider.find_nodes(cluster.uuid), joining=new)
            op.event(f"{node.name} upgraded and rejoined.")
        return self.report(cluster)

    def _surge_manager(
        self,
        op: OperationInput,
        cluster: ClusterSpec,
        network: str,
        group: NodeGroupSpec,
        old: NodeRecord,
    ) -> None:
        """Replace a manager without losing the swarm: join a new manager from the new image
        first (Raft copies the swarm's state to it), then demote and remove the old one. An
        in-place replacement would discard the state of a single-manager swarm."""
        members = [n.name for n in self.provider.find_nodes(cluster.uuid)
                   if n.nodegroup_uuid == group.uuid]  # fmt: skip
        index = plan.slots_to_add(members, len(members) + 1)[0]
        name = plan.node_name(cluster.uuid, _slug(group), index)
        op.event(f"Upgrading {old.name}: adding manager {name} from the new image first.")
        new = self._ensure_nodes(cluster, network, [(group, name)])
        self._wait_engine(name)
        self._form_swarm(cluster, self.provider.find_nodes(cluster.uuid), joining=new)
        self._drain(cluster, [old.name])
        self._leave(cluster, old.name)
        self.provider.delete_node(old.name)
        self._wait_swarm_ready(cluster)
        op.event(f"{old.name} replaced by {name}.")

    def delete_cluster(self, op: OperationInput) -> None:
        self.provider.delete_cluster(op.cluster.uuid)

    def rotate_ca(self, op: OperationInput) -> None:
        """New server certificates from the new CA on every manager; the engine reloads them
        when restarted, so client certificates from the old CA stop working."""
        cluster = op.cluster
        for node in self.provider.find_nodes(cluster.uuid):
            if node.role != "master" or cluster.template.get("tls_disabled"):
                continue
            self.provider.put_files(node.name, engine.tls_files(cluster, node.name))
            # The node's init restarts dockerd in place; its state (and the swarm's) stays.
            restart = (
                "old=$(pidof dockerd) || exit 0; kill $old; i=0; "
                "while kill -0 $old 2>/dev/null; do i=$((i+1)); [ $i -ge 1200 ] && exit 1; "
                "sleep 0.05; done"
            )
            self._exec(node.name, ["sh", "-c", restart])
            self._wait_engine(node.name)
            op.event(f"{node.name}: engine restarted with certificates from the new CA.")
        self._wait_swarm_ready(cluster)

    # -- health ----------------------------------------------------------------------------

    def check_health(self, cluster: ClusterSpec) -> HealthReport:
        """Every expected node must exist, run, and be Ready and Active in the swarm."""
        nodes = {n.name: n for n in self.provider.find_nodes(cluster.uuid)}
        expected = self._expected_names(cluster, nodes.values())
        try:
            swarm = {s.get("Hostname"): s for s in self.swarm_nodes(cluster.uuid)}
        except EngineCommandFailed:
            # No manager answers (e.g. during a leader election): nodes whose containers are
            # gone or stopped are failed all the same, and saying so lets healing start.
            reason = {"api": f"The cluster {cluster.name} is not accessible."}
            dead = tuple(n for n in expected if n not in nodes or not nodes[n].running)
            if not dead:
                return HealthReport("UNKNOWN", reason)
            reason.update({f"{n}.Ready": "False" for n in dead})
            return HealthReport("UNHEALTHY", reason, dead)
        reason = {"api": "ok"}
        failed = self._failed_services(cluster, reason)
        for name in expected:
            node, member = nodes.get(name), swarm.get(name)
            ready = (
                node is not None
                and node.running
                and member is not None
                and member.get("Status") == "Ready"
            )
            reason[f"{name}.Ready"] = str(ready)
            if not ready:
                failed.append(name)
                if node is None:
                    reason[f"{name}.reason"] = "node container is missing"
                elif not node.running:
                    reason[f"{name}.reason"] = "node container is not running"
                else:
                    state = member.get("Status", "absent") if member else "not in the swarm"
                    reason[f"{name}.reason"] = f"swarm reports {state}"
        return HealthReport("UNHEALTHY" if failed else "HEALTHY", reason, tuple(failed))

    def _failed_services(self, cluster: ClusterSpec, reason: dict[str, str]) -> list[str]:
        """Names of wanted service containers that are missing or stopped, with reasons."""
        present = {s.name: s for s in self.provider.find_services(cluster.uuid)}
        failed = []
        for name, what in self._wanted_services(cluster):
            service = present.get(name)
            if service is None or not service.running:
                failed.append(name)
                reason[f"{name}.Ready"] = "False"
                state = "missing" if service is None else "not running"
                reason[f"{name}.reason"] = f"{what} container is {state}"
        return failed

    def heal(self, op: OperationInput) -> ClusterReport:
        """Replace each failed node (params ``nodes``) by a fresh one of the same name;
        start the cluster's service containers again if any stopped."""
        cluster = op.cluster
        network = self._ensure_network(cluster)
        self._ensure_services(cluster, network)
        groups = {_slug(g): g for g in cluster.nodegroups}
        helpers = {name for name, _ in self._wanted_services(cluster)}
        names = [str(n) for n in op.params.get("nodes") or []]
        replace = [
            (groups[plan.slug_of(n)], n)
            for n in names
            if n not in helpers and plan.slug_of(n) in groups
        ]
        for _, name in replace:
            self._forget(cluster, name)
            self.provider.delete_node(name)
        self._ensure_nodes(cluster, network, replace)
        _parallel(self._wait_engine, [name for _, name in replace])
        self._form_swarm(cluster, self.provider.find_nodes(cluster.uuid))
        self._wait_swarm_ready(cluster)
        op.event(f"Replaced {len(replace)} failed node(s): {', '.join(names)}.")
        return self.report(cluster)

    def _expected_names(self, cluster: ClusterSpec, nodes: Iterable[NodeRecord]) -> list[str]:
        present = list(nodes)
        names: list[str] = []
        for group in cluster.nodegroups:
            members = [n.name for n in present if n.nodegroup_uuid == group.uuid]
            missing = plan.slots_to_add(members, group.node_count)
            names += sorted(members, key=plan.index_of)[: group.node_count]
            names += [plan.node_name(cluster.uuid, _slug(group), i) for i in missing]
        return names

    def _forget(self, cluster: ClusterSpec, name: str) -> None:
        """Remove a dead node from the swarm's membership, through any live manager."""
        managers = [
            n for n in self.provider.find_nodes(cluster.uuid)
            if n.role == "master" and n.running and n.name != name
        ]  # fmt: skip
        for manager in sorted(managers, key=_order):
            try:
                if self._swarm_state(manager.name) != "active":
                    continue
                self.provider.exec(manager.name, ["docker", "node", "demote", name])
                self.provider.exec(manager.name, ["docker", "node", "rm", "--force", name])
                return
            except Exception:  # an unreachable manager: try the next
                continue

    # -- reading back ----------------------------------------------------------------------

    def report(self, cluster: ClusterSpec, *, wait_ready_on: str | None = None) -> ClusterReport:
        """Addresses and versions read back from the nodes; with ``wait_ready_on`` (an active
        manager), first until every swarm member is Ready, in the same exec."""
        nodes = self.provider.find_nodes(cluster.uuid)
        groups: dict[str, NodeGroupReport] = {}
        for group in cluster.nodegroups:
            members = sorted((n for n in nodes if n.nodegroup_uuid == group.uuid), key=_order)
            groups[group.uuid] = NodeGroupReport(
                node_addresses=[n.address for n in members if n.address],
                node_count=len(members),
            )
        managers = sorted((n for n in nodes if n.role == "master"), key=_order)
        if not managers:
            raise StepFailed("The cluster has no manager node left.")
        primary = managers[0]
        version_of = "docker version --format '{{.Server.Version}}'"
        if wait_ready_on:
            script = f"{_READY_LOOP} && {version_of}"
            version = self._exec(wait_ready_on, ["sh", "-c", script])
        else:
            version = self._exec(primary.name, ["sh", "-c", version_of])
        port = engine.api_port(cluster)
        host_port = primary.host_ports.get(port)
        if services.lb_wanted(cluster):
            lb = {s.name: s for s in self.provider.find_services(cluster.uuid)}
            found = lb.get(services.lb_name(cluster))
            host_port = found.host_ports.get(port) if found else None
        api = f"tcp://127.0.0.1:{host_port}" if host_port else None
        return ClusterReport(
            api_address=api,
            coe_version=version.strip(),
            container_version=version.strip(),
            nodegroups=groups,
        )

    def swarm_nodes(self, cluster_uuid: str) -> list[dict[str, str]]:
        """``docker node ls`` as seen by a reachable manager."""
        managers = sorted(
            (n for n in self.provider.find_nodes(cluster_uuid) if n.role == "master" and n.running),
            key=_order,
        )
        last_error: Exception | None = None
        for manager in managers:
            try:
                out = self._exec(manager.name, ["docker", "node", "ls", "--format", "{{json .}}"])
            except Exception as exc:  # try the next manager
                last_error = exc
                continue
            return [json.loads(line) for line in out.splitlines() if line.strip()]
        raise EngineCommandFailed(f"no manager answers: {last_error}")

    # -- steps -----------------------------------------------------------------------------

    def _ensure_network(self, cluster: ClusterSpec) -> str:
        return self.provider.ensure_network(
            NetworkSpec(
                cluster_uuid=cluster.uuid,
                name=f"cove-{cluster.uuid[:8]}-net",
                existing=cluster.fixed_network or cluster.template.get("fixed_network"),
            )
        )

    def _wanted_services(self, cluster: ClusterSpec) -> list[tuple[str, str]]:
        """(container name, what it is) of each service container the cluster should have."""
        wanted = []
        if services.lb_wanted(cluster):
            wanted.append((services.lb_name(cluster), "load balancer"))
        if services.registry_wanted(cluster):
            wanted.append((services.registry_name(cluster), "registry"))
        return wanted

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
        return _parallel(self.provider.ensure_service, specs)

    def _ensure_nodes(
        self, cluster: ClusterSpec, network: str, wanted: Sequence[tuple[NodeGroupSpec, str]]
    ) -> list[NodeRecord]:
        def make(item: tuple[NodeGroupSpec, str]) -> NodeRecord:
            group, name = item
            if not group.node_image:
                raise StepFailed(
                    f"Node group {group.name}: image {group.image_id} has no node image; "
                    "run `cove image build` and use the image it registers."
                )
            storage = group.docker_volume_size or group.disk_gb or None
            master = group.role == "master"
            ports = {engine.api_port(cluster): 0} if master else {}
            files = engine.node_files(cluster, group, name)
            if services.registry_wanted(cluster):
                config = services.registry_proxy_config(cluster).encode()
                files[services.REGISTRY_PROXY_CONFIG] = config
            return self.provider.ensure_node(
                NodeSpec(
                    name=name,
                    hostname=name,
                    cluster_uuid=cluster.uuid,
                    nodegroup_uuid=group.uuid,
                    role=group.role,
                    image=group.node_image,
                    network=network,
                    cpus=group.cpus,
                    memory_mb=group.memory_mb,
                    storage_gb=storage,
                    dns=engine.dns_servers(cluster.template),
                    env=engine.proxy_env(cluster.template),
                    ports=ports,
                    files=files,
                    aliases=(services.managers_alias(cluster),) if master else (),
                )
            )

        return _parallel(make, wanted)

    def _exec(self, node: str, argv: Sequence[str]) -> str:
        result = self.provider.exec(node, argv)
        if result.exit_code != 0:
            tail = result.output.strip()[-400:]
            command = " ".join(argv)
            raise EngineCommandFailed(f"{node}: `{command}` exited {result.exit_code}: {tail}")
        return result.output

    def _wait_engine(self, node: str) -> None:
        # The engine's readiness is only observable from inside the node; this waits there,
        # in one exec, at a 50 ms grain, bounded.
        tries = int(ENGINE_WAIT_SECONDS / 0.05)
        script = (
            f"i=0; until docker info >/dev/null 2>&1; do i=$((i+1)); "
            f"[ $i -ge {tries} ] && exit 1; sleep 0.05; done"
        )
        self._exec(node, ["sh", "-c", script])

    def _wait_swarm_ready(self, cluster: ClusterSpec) -> None:
        """Until every swarm member is Ready (after a manager's engine restart, workers show
        Unknown until their next heartbeat), waiting inside a manager, bounded."""
        managers = [n for n in self.provider.find_nodes(cluster.uuid) if n.role == "master"]
        primary = self._primary(sorted(managers, key=_order))
        self._exec(primary.name, ["sh", "-c", _READY_LOOP])

    def _swarm_state(self, node: str) -> str:
        return self._exec(node, ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"]).strip()

    def _form_swarm(
        self,
        cluster: ClusterSpec,
        nodes: Iterable[NodeRecord],
        joining: Iterable[NodeRecord] | None = None,
    ) -> NodeRecord:
        """Init the swarm on the primary manager unless it is active, then join ``joining``
        (default: every other node; each one checks first, in the same exec, whether it is
        already a member). Managers join one at a time (Raft), workers in parallel. Returns
        the primary manager."""
        nodes = list(nodes)
        managers = sorted((n for n in nodes if n.role == "master"), key=_order)
        if not managers:
            raise StepFailed("A swarm needs at least one manager.")
        primary = self._primary(managers)
        init_and_tokens = (
            '[ "$(docker info --format "{{.Swarm.LocalNodeState}}")" = active ] || '
            f"docker swarm init --advertise-addr {_addr(primary)} >/dev/null; "
            "docker swarm join-token -q manager && docker swarm join-token -q worker"
        )
        out = self._exec(primary.name, ["sh", "-c", init_and_tokens]).split()
        tokens = {"manager": out[-2], "worker": out[-1]}
        remote = f"{_addr(primary)}:{SWARM_PORT}"
        names = {n.name for n in (nodes if joining is None else joining)} - {primary.name}

        def join(node: NodeRecord) -> None:
            role = "manager" if node.role == "master" else "worker"
            # A member of the primary's swarm is done; one stranded on a swarm whose managers
            # are gone (its only manager was replaced) leaves it and joins the live one.
            script = (
                "state=$(docker info --format "
                "'{{.Swarm.LocalNodeState}} {{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}'); "
                f'case " $state " in *" {remote} "*) exit 0 ;; esac; '
                '[ "${state%% *}" = active ] && docker swarm leave --force >/dev/null; '
                f"exec docker swarm join --token {tokens[role]} "
                f"--advertise-addr {_addr(node)} {remote}"
            )
            self._exec(node.name, ["sh", "-c", script])

        with ThreadPoolExecutor(max_workers=8) as pool:
            worker_joins = [
                pool.submit(join, n) for n in nodes if n.role != "master" and n.name in names
            ]
            for manager in managers:  # Raft membership changes one at a time
                if manager.name in names:
                    join(manager)
            for future in worker_joins:
                future.result()
        return primary

    def _primary(self, managers: Sequence[NodeRecord]) -> NodeRecord:
        """The manager the swarm is reached through: an active one if any (after a node was
        replaced, the lowest index may be new and not yet joined). States are read in
        parallel; the first manager in order wins."""
        running = [m for m in managers if m.running]
        if len(running) > 1:
            states = _parallel(self._quiet_state, [m.name for m in running])
        else:
            states = [self._quiet_state(m.name) for m in running]
        for manager, state in zip(running, states, strict=True):
            if state == "active":
                return manager
        return managers[0]

    def _quiet_state(self, node: str) -> str:
        try:
            return self._swarm_state(node)
        except Exception:  # an unreachable manager is not the primary
            return ""

    def _victims(
        self,
        cluster: ClusterSpec,
        existing: Sequence[NodeRecord],
        targets: Sequence[NodeGroupSpec],
        op: OperationInput,
    ) -> list[str]:
        requested = [str(x) for x in (op.params.get("nodes_to_remove") or [])]
        victims: list[str] = []
        swarm: list[dict[str, str]] | None = None
        for group in targets:
            members = [n for n in existing if n.nodegroup_uuid == group.uuid]
            want = 0 if _deleting(group, op) else group.node_count
            surplus = len(members) - want
            if surplus <= 0:
                continue
            if swarm is None:
                swarm = self.swarm_nodes(cluster.uuid)
            ids = {s.get("Hostname"): s.get("ID") for s in swarm}
            tasks = self._task_counts(existing, [n.name for n in members])
            candidates = [
                plan.Candidate(n.name, ids.get(n.name), n.address, tasks.get(n.name, 0))
                for n in members
            ]
            try:
                victims += plan.choose_victims(candidates, surplus, requested)
            except LookupError as exc:
                raise StepFailed(
                    f"nodes_to_remove names {exc.args[0]}, which is not a node of {group.name}."
                ) from None
        return victims

    def _task_counts(self, nodes: Sequence[NodeRecord], names: Sequence[str]) -> dict[str, int]:
        """Running tasks per node, from one `docker node ps` on a live manager."""
        primary = self._primary(sorted((n for n in nodes if n.role == "master"), key=_order))
        out = self._exec(
            primary.name,
            ["docker", "node", "ps", *names, "--filter", "desired-state=running",
             "--format", "{{.Node}}"],
        )  # fmt: skip
        counts: dict[str, int] = {}
        for line in out.splitlines():
            if line.strip():
                counts[line.strip()] = counts.get(line.strip(), 0) + 1
        return counts

    def _drain(self, cluster: ClusterSpec, names: Sequence[str]) -> None:
        managers = sorted(
            (n for n in self.provider.find_nodes(cluster.uuid) if n.role == "master"), key=_order
        )
        primary = self._primary([m for m in managers if m.name not in names] or managers)
        for name in names:
            self._exec(primary.name, ["docker", "node", "update", "--availability", "drain", name])
        # Wait until the swarm has moved the tasks away (inside the manager, bounded).
        for name in names:
            script = (
                'i=0; while [ -n "$(docker node ps '
                + name
                + ' --filter desired-state=running -q)" ]; '
                "do i=$((i+1)); [ $i -ge 1200 ] && exit 1; sleep 0.05; done"
            )
            self._exec(primary.name, ["sh", "-c", script])

    def _leave(self, cluster: ClusterSpec, name: str) -> None:
        managers = sorted(
            (
                n
                for n in self.provider.find_nodes(cluster.uuid)
                if n.role == "master" and n.name != name
            ),
            key=_order,
        )
        nodes = {n.name: n for n in self.provider.find_nodes(cluster.uuid)}
        if name in nodes and nodes[name].role == "master" and managers:
            self._exec(self._primary(managers).name, ["docker", "node", "demote", name])
        self.provider.exec(name, ["docker", "swarm", "leave", "--force"])
        if managers:
            self.provider.exec(
                self._primary(managers).name, ["docker", "node", "rm", "--force", name]
            )

    def _remove_nodes(self, cluster: ClusterSpec, names: Sequence[str]) -> None:
        self._drain(cluster, names)
        for name in names:
            self._leave(cluster, name)
            self.provider.delete_node(name)

    def _upgrade_order(self, cluster: ClusterSpec) -> list[NodeRecord]:
        nodes = self.provider.find_nodes(cluster.uuid)
        # Workers first: the managers keep the swarm's quorum the longest.
        return sorted(nodes, key=lambda n: (n.role == "master", _order(n)))


# Until `docker node ls` (on an active manager) lists only Ready members; 60 s at most.
_READY_LOOP = (
    "i=0; until s=$(docker node ls --format '{{.Status}}') && ! echo \"$s\" | grep -qv '^Ready$'; "
    "do i=$((i+1)); [ $i -ge 600 ] && exit 1; sleep 0.1; done"
)


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


def _targets(cluster: ClusterSpec, params: dict[str, object]) -> list[NodeGroupSpec]:
    wanted = params.get("nodegroup")
    return [g for g in cluster.nodegroups if wanted in (None, g.uuid)]


def _slug(group: NodeGroupSpec) -> str:
    return plan.group_slug(group.name, group.role, group.is_default)


def _order(node: NodeRecord) -> tuple[str, int]:
    return (node.nodegroup_uuid, plan.index_of(node.name))


def _addr(node: NodeRecord) -> str:
    if not node.address:
        raise EngineCommandFailed(f"{node.name} has no address on the cluster network yet")
    return node.address


def _parallel(func: Callable[[T], object], items: Sequence[T]) -> list:  # type: ignore[type-arg]
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
        return list(pool.map(func, items))
