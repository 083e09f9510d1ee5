"""What each of Senlin's actions does, in named steps so a conductor killed at any point
resumes with the same plan: decisions (counts, victims, placements) are recorded once;
containers are ensured by name and removed tolerantly, so repeating them is harmless.

Independent containers are made and removed in parallel. A container that cannot be made
(a permanent refusal) leaves its node ERROR and fails the action after the others are done;
an engine that does not answer retries the whole action, which skips what is done."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from cove.clustering import policies
from cove.clustering.balancing import check_published
from cove.clustering.containers import container_name, container_spec, host_of, resources
from cove.clustering.placement import Placer
from cove.clustering.policies import Member, PolicyRefusal, Sizes
from cove.conductor.clustering.balancers import Balancers
from cove.conductor.clustering.hosts import Hosts
from cove.conductor.clustering.members import containers_of
from cove.conductor.clustering.store import ERROR, Bindings, ClusterView, NodeView, Store
from cove.conductor.reconcilers import OperationRun
from cove.domain.clustering import sizes
from cove.domain.clustering.actions import ActionName
from cove.domain.clustering.statuses import NodeStatus
from cove.drivers.base import StepFailed
from cove.drivers.containerhost import NODE_LABEL, OWNER_LABEL, ContainerHost, ContainerRecord
from cove.drivers.fleet import parallel
from cove.failures import Pause, is_permanent

Outputs = dict[str, Any]


@dataclass(frozen=True)
class Made:
    node: str
    error: Exception | None = None


class Actions:
    def __init__(
        self, store: Store, bindings: Bindings, hosts: Hosts, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.bindings = bindings
        self.hosts = hosts
        self.balancers = Balancers(store, hosts)
        self.clock = clock

    # -- cluster actions ----------------------------------------------------------------------

    def cluster(self, op: OperationRun) -> Outputs:
        view = self.store.cluster(op.subject_id)
        inputs = dict(op.params.get("inputs") or {})
        kind = ActionName(op.kind)
        handler: Callable[[OperationRun, ClusterView, dict[str, Any]], Outputs] = getattr(
            self, "_" + kind.lower()
        )
        outputs = handler(op, view, inputs)
        if kind is not ActionName.CLUSTER_DELETE:
            self.balancers.converge(view.id)
        return outputs

    def _cluster_create(self, op: OperationRun, view: ClusterView, _: dict[str, Any]) -> Outputs:
        missing = max(0, view.desired - len(view.nodes))
        made = self._grow(op, view, missing)
        return {"nodes_added": made}

    def _cluster_scale_out(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        decision = op.steps.run("decide", lambda: self._scale_decision(view, inputs, out=True))
        self.store.set_desired(view.id, decision["desired"])
        return {"nodes_added": self._grow(op, view, decision["count"])}

    def _cluster_scale_in(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        decision = op.steps.run("decide", lambda: self._scale_decision(view, inputs, out=False))
        self.store.set_desired(view.id, decision["desired"])
        return {"nodes_removed": self._shrink(op, view, decision["victims"])}

    def _scale_decision(self, view: ClusterView, inputs: dict[str, Any], out: bool) -> Outputs:
        sizes = _sizes(view)
        event = ActionName.CLUSTER_SCALE_OUT if out else ActionName.CLUSTER_SCALE_IN
        policy = policies.scaling_policy(view.policies, event)
        best_effort = False
        if inputs.get("count") is not None:
            count = int(inputs["count"])
        elif policy is not None:
            policies.check_cooldown(policy, self.clock())
            count = policies.adjustment_count(policy, sizes, out)
            best_effort = bool((policy.properties.get("adjustment") or {}).get("best_effort"))
        else:
            count = 1
        count = policies.bounded_count(count, sizes, out, best_effort)
        if out:
            return {"count": count, "desired": sizes.desired + count}
        return {
            "victims": self._victims(view, count),
            "desired": sizes.desired - count,
        }

    def _cluster_resize(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        decision = op.steps.run("decide", lambda: _resize_decision(view, inputs))
        self.store.resize_bounds(
            view.id, decision["desired"], decision["min_size"], decision["max_size"]
        )
        change = decision["change"]
        if change > 0:
            return {"nodes_added": self._grow(op, view, change)}
        if change < 0:
            victims = op.steps.run("victims", lambda: {"nodes": self._victims(view, -change)})[
                "nodes"
            ]
            return {"nodes_removed": self._shrink(op, view, victims)}
        return {}

    def _cluster_add_nodes(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        nodes = [str(n) for n in inputs.get("nodes") or []]
        fresh = [n for n in nodes if view.node(n) is None]
        self.store.adopt_nodes(view.id, fresh)
        self.store.set_desired(view.id, view.desired + len(fresh))
        return {"nodes_added": nodes}

    def _cluster_del_nodes(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        nodes = [str(n) for n in inputs.get("nodes") or [] if view.node(str(n)) is not None]
        deletion = policies.deletion_of(view.policies)
        destroy = bool(inputs.get("destroy_after_deletion", deletion.destroy_after_deletion))
        if deletion.reduce_desired_capacity:
            self.store.set_desired(view.id, max(0, view.desired - len(nodes)))
        return {"nodes_removed": self._shrink(op, view, nodes, destroy=destroy)}

    def _cluster_replace_nodes(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        pairs = {str(k): str(v) for k, v in (inputs.get("nodes") or {}).items()}
        old = [k for k in pairs if view.node(k) is not None]
        self._shrink(op, view, old, destroy=False)  # as Senlin: the replaced stand alone
        self.store.adopt_nodes(view.id, pairs.values())
        return {"nodes_replaced": pairs}

    def _cluster_check(self, op: OperationRun, view: ClusterView, _: dict[str, Any]) -> Outputs:
        return {"nodes": self._check(view.nodes, str(op.kind))}

    def _cluster_recover(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        return {"nodes_recovered": self._recover(op, view.nodes, inputs, view)}

    def _cluster_attach_policy(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        policy = self.store.policy(str(inputs["policy_id"]))
        if policy.family == "loadbalance":
            check_published(policy, view.profile_spec)
        self.bindings.attach(view.id, str(inputs["policy_id"]), bool(inputs.get("enabled", True)))
        return {"policy_id": inputs["policy_id"]}

    def _cluster_detach_policy(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        self.bindings.detach(view.id, str(inputs["policy_id"]))
        return {"policy_id": inputs["policy_id"]}

    def _cluster_update_policy(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        self.bindings.update(view.id, str(inputs["policy_id"]), bool(inputs.get("enabled", True)))
        return {"policy_id": inputs["policy_id"]}

    def _cluster_operation(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        wanted = {str(n) for n in inputs.get("nodes") or []}
        nodes = [n for n in view.nodes if not wanted or n.uuid in wanted]
        operation = str(inputs.get("operation", ""))
        parallel(lambda n: self._operate(n, operation, inputs.get("params") or {}), nodes)
        return {"operation": operation, "nodes": [n.uuid for n in nodes]}

    def _cluster_update(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        """A new profile replaces each member's container, in the batches the batch policy
        sets (one at a time without one), pausing between batches; the balancer follows
        each batch. Name/metadata/timeout changes were applied by the API."""
        if not inputs.get("profile_id"):
            return {}
        profile = str(inputs["profile_id"])
        plan = op.steps.run("plan", lambda: _update_plan(view, profile))
        self.store.switch_profile(view.id, profile)
        groups: list[list[str]] = plan["batches"]
        for number, batch in enumerate(groups, start=1):
            update = partial(self._update_batch, op, batch, view, profile)
            done = op.steps.run(f"batch {number}", update)
            if number < len(groups):
                self._pause_after(number, len(groups), str(done["at"]), int(plan["pause"]))
        return {"nodes_updated": [uuid for batch in groups for uuid in batch], "batches": groups}

    def _update_batch(
        self, op: OperationRun, batch: list[str], view: ClusterView, profile: str
    ) -> Outputs:
        def update(uuid: str) -> None:
            node = self.store.node(uuid)
            if node is None:  # deleted meanwhile
                return
            if node.profile_uuid != profile:
                self.store.switch_node_profile(uuid, profile)
                node = self.store.node(uuid)
            if node is not None:
                self._recreate(op, node, view, avoid=frozenset())

        parallel(update, batch)
        self.balancers.converge(view.id)
        op.event(f"Updated {len(batch)} member(s) to profile {profile}: {', '.join(batch)}.")
        return {"at": self.clock().isoformat()}

    def _pause_after(self, number: int, total: int, at: str, pause: int) -> None:
        left = pause - (self.clock() - datetime.fromisoformat(at)).total_seconds()
        if left > 0:
            raise Pause(
                f"Batch {number} of {total} updated; the next starts in {left:.0f}s "
                "(batch policy pause_time).",
                delay=left,
            )

    def _cluster_delete(self, op: OperationRun, view: ClusterView, _: dict[str, Any]) -> Outputs:
        self.balancers.remove_all(view)
        self._remove_all(view)
        return {}

    # node actions on a clustered node run with the cluster as subject
    def _node_create(self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]) -> Outputs:
        """A node made into the cluster (``openstack cluster node create --cluster``): placed
        among the members by the cluster's rules; the cluster grows by one, as in Senlin."""
        node = self._member(view, inputs)
        if not node.host_node:
            others = replace(view, nodes=tuple(n for n in view.nodes if n is not node))
            target = op.steps.run("place", lambda: self._place_member(others, node))
            self.store.place(node.uuid, target)
        desired = op.steps.run("decide", lambda: {"desired": view.desired + 1})["desired"]
        self.store.set_desired(view.id, desired)
        _raise_first(self._materialise([node.uuid], str(op.kind)))
        return {"node": node.uuid}

    def _place_member(self, view: ClusterView, node: NodeView) -> dict[str, Any]:
        host_uuid, host = self.hosts.resolve(view.project_id, host_of(view.profile_spec))
        return {
            "host_cluster": host_uuid,
            "host_node": self.placer(view, host).place(),
            "container": container_name(node.profile_spec, node.name, node.uuid),
        }

    def _node_delete(self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]) -> Outputs:
        node = self._member(view, inputs)
        deletion = policies.deletion_of(view.policies)
        if deletion.reduce_desired_capacity:
            self.store.set_desired(view.id, max(0, view.desired - 1))
        return {"nodes_removed": self._shrink(op, view, [node.uuid])}

    def _node_check(self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]) -> Outputs:
        return {"nodes": self._check([self._member(view, inputs)], str(op.kind))}

    def _node_recover(self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]) -> Outputs:
        return {"nodes_recovered": self._recover(op, [self._member(view, inputs)], inputs, view)}

    def _node_operation(
        self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]
    ) -> Outputs:
        node = self._member(view, inputs)
        self._operate(node, str(inputs.get("operation", "")), inputs.get("params") or {})
        return {"operation": inputs.get("operation"), "nodes": [node.uuid]}

    def _node_update(self, op: OperationRun, view: ClusterView, inputs: dict[str, Any]) -> Outputs:
        self._update(op, self._member(view, inputs), view, inputs)
        return {"node": inputs["node"]}

    def _update(
        self, op: OperationRun, node: NodeView, view: ClusterView | None, inputs: dict[str, Any]
    ) -> None:
        """A new profile remakes the container; the name and the taint are the node's own;
        the node ends ACTIVE (Senlin's "Update succeeded")."""
        if inputs.get("profile_id") and inputs["profile_id"] != node.profile_uuid:
            self.store.switch_node_profile(node.uuid, str(inputs["profile_id"]))
            fresh = self.store.node(node.uuid)
            assert fresh is not None
            self._recreate(op, fresh, view, avoid=frozenset())
        self.store.updated_node(node.uuid, inputs.get("name"), inputs.get("tainted"))

    def _member(self, view: ClusterView, inputs: dict[str, Any]) -> NodeView:
        node = view.node(str(inputs.get("node")))
        if node is None:
            raise StepFailed(f"The node '{inputs.get('node')}' is not in cluster {view.name}.")
        return node

    # -- orphan nodes ---------------------------------------------------------------------------

    def orphan(self, op: OperationRun, node_uuid: str) -> Outputs:
        node = self.store.node(node_uuid)
        assert node is not None  # the runner checked
        kind = ActionName(op.kind)
        inputs = dict(op.params.get("inputs") or {})
        if kind is ActionName.NODE_CREATE:
            self._place_orphan(node)
            made = self._materialise([node_uuid], str(kind))
            _raise_first(made)
            return {"node": node_uuid}
        if kind is ActionName.NODE_DELETE:
            self._remove_container(node, grace=10.0)  # the row goes when the action ends
            return {}
        if kind is ActionName.NODE_CHECK:
            return {"nodes": self._check([node], str(kind))}
        if kind is ActionName.NODE_RECOVER:
            return {"nodes_recovered": self._recover(op, [node], inputs, None)}
        if kind is ActionName.NODE_OPERATION:
            self._operate(node, str(inputs.get("operation", "")), inputs.get("params") or {})
            return {"operation": inputs.get("operation")}
        if kind is ActionName.NODE_UPDATE:
            self._update(op, node, None, inputs)
            return {"node": node_uuid}
        raise StepFailed(f"{kind} does not apply to a node outside a cluster.")

    def _place_orphan(self, node: NodeView) -> None:
        if node.host_node:
            return
        host_uuid, host = self.hosts.resolve(
            self.store.project_of(node.uuid), host_of(node.profile_spec)
        )
        ref = host_of(node.profile_spec)
        rules = policies.placement_rules((), ref.node)
        cpus, memory = resources(node.profile_spec)
        placer = Placer(host.nodes(), self.hosts.loads.of(host), Counter(), rules, cpus, memory)
        target = placer.place()
        self.store.place(
            node.uuid,
            {
                "host_cluster": host_uuid,
                "host_node": target,
                "container": container_name(node.profile_spec, node.name, node.uuid),
            },
        )

    # -- the work -----------------------------------------------------------------------------

    def _grow(self, op: OperationRun, view: ClusterView, count: int) -> list[str]:
        # A resumed action counts its planned members among the cluster's nodes: the plan
        # recorded by the first attempt decides, not a count made again.
        if count <= 0 and not op.steps.done("plan"):
            return []
        planned = op.steps.run("plan", lambda: {"nodes": self._plan(op, view, count)})["nodes"]
        made = self._materialise(planned, "NODE_CREATE")
        _raise_first(made)
        return list(planned)

    def _plan(self, op: OperationRun, view: ClusterView, count: int) -> list[str]:
        earlier = self.store.created_by(view.id, op.id)
        if earlier:  # planned and committed by an attempt that died before recording it
            return earlier
        ref = host_of(view.profile_spec)
        host_uuid, host = self.hosts.resolve(view.project_id, ref)
        placer = self.placer(view, host)
        placements = []
        for _ in range(count):
            placements.append({"host_cluster": host_uuid, "host_node": placer.place()})
        return self.store.plan_nodes(view.id, op.id, placements)

    def placer(self, view: ClusterView, host: ContainerHost) -> Placer:
        ref = host_of(view.profile_spec)
        cpus, memory = resources(view.profile_spec)
        members = Counter(n.host_node for n in view.nodes if n.host_node)
        rules = policies.placement_rules(view.policies, ref.node)
        loads = self.hosts.loads.of(host)
        return Placer(host.nodes(), loads, Counter(members), rules, cpus, memory)

    def _materialise(self, node_uuids: Sequence[str], action: str) -> list[Made]:
        return parallel(lambda uuid: self._make(uuid, action), list(node_uuids))

    def _make(self, node_uuid: str, action: str) -> Made:
        node = self.store.node(node_uuid)
        if node is None:  # deleted meanwhile
            return Made(node_uuid)
        try:
            record = self.ensure(node)
        except Exception as exc:
            if not is_permanent(exc):
                return Made(node_uuid, exc)
            self.store.set_node(
                node_uuid, NodeStatus.ERROR, f"Creation failed: {exc}", action=action, level=ERROR
            )
            return Made(node_uuid, exc)
        self.store.set_node(
            node_uuid,
            NodeStatus.ACTIVE,
            f"Creation succeeded on {node.host_node}",
            physical_id=record.id,
            action=action,
        )
        return Made(node_uuid)

    def ensure(self, node: NodeView) -> ContainerRecord:
        host = self.host_of_node(node)
        name = node.container or container_name(node.profile_spec, node.name, node.uuid)
        if node.container is None:
            self.store.place(node.uuid, {**node.placement, "container": name})
        spec = container_spec(
            node.profile_spec,
            name=name,
            cluster_uuid=node.cluster_uuid,
            node_uuid=node.uuid,
            profile_uuid=node.profile_uuid,
        )
        assert node.host_node is not None
        return host.ensure_container(node.host_node, spec)

    def host_of_node(self, node: NodeView) -> ContainerHost:
        ref = host_of(node.profile_spec)
        cluster = node.placement.get("host_cluster")
        if cluster:
            ref = type(ref)(cluster, ref.node)
        _, host = self.hosts.resolve(self.store.project_of(node.uuid), ref)
        return host

    def _victims(self, view: ClusterView, count: int) -> list[str]:
        deletion = policies.deletion_of(view.policies)
        members = [
            Member(n.uuid, n.status, n.created_at, n.profile_created_at, n.tainted)
            for n in view.nodes
        ]
        return policies.victims(members, count, deletion.criteria)

    def _shrink(
        self,
        op: OperationRun,
        view: ClusterView,
        victims: Sequence[str],
        *,
        destroy: bool | None = None,
    ) -> list[str]:
        deletion = policies.deletion_of(view.policies)
        destroy = deletion.destroy_after_deletion if destroy is None else destroy
        nodes = [n for n in (view.node(v) for v in victims) if n is not None]
        if destroy:
            parallel(lambda n: self._remove(n, grace=float(deletion.grace_period or 10)), nodes)
        else:
            self.store.detach_nodes([n.uuid for n in nodes], str(op.kind))
        return [n.uuid for n in nodes]

    def _remove(self, node: NodeView, *, grace: float) -> None:
        self._remove_container(node, grace=grace)
        self.store.delete_nodes([node.uuid], "NODE_DELETE")

    def _remove_container(self, node: NodeView, *, grace: float) -> None:
        if node.host_node and node.container:
            # StepFailed: the host cluster is gone, and its containers with it.
            with contextlib.suppress(StepFailed):
                self.host_of_node(node).remove_container(
                    node.host_node, node.container, grace=grace
                )

    def _remove_all(self, view: ClusterView) -> None:
        parallel(lambda n: self._remove(n, grace=10.0), list(view.nodes))
        try:
            _, host = self.hosts.resolve(view.project_id, host_of(view.profile_spec))
        except StepFailed:
            return
        # Whatever a superseded action made after the listing above, but not the container
        # of a node that left for another cluster or stands alone (it keeps this label).
        for leftover in host.find_containers({OWNER_LABEL: view.uuid}):
            owner = self.store.node(leftover.labels.get(NODE_LABEL, ""))
            if owner is None or owner.cluster_uuid == view.uuid:
                host.remove_container(leftover.node, leftover.name, grace=0)

    def _check(self, nodes: Sequence[NodeView], action: str) -> list[dict[str, str]]:
        seen = self.observe(nodes)
        for node in nodes:
            found = seen[node.uuid]
            if str(found.status) != node.status or found.status is not NodeStatus.ACTIVE:
                self.store.set_node(node.uuid, found.status, found.reason, action=action)
        return [
            {"node": n.uuid, "status": str(seen[n.uuid].status), "reason": seen[n.uuid].reason}
            for n in nodes
        ]

    def observe(self, nodes: Sequence[NodeView]) -> dict[str, Observation]:
        """Each node's container as its engine reports it: one listing of the host's
        nodes and one of its containers per host cluster, whatever the number of nodes."""
        seen: dict[str, Observation] = {}
        by_host: dict[str, list[NodeView]] = {}
        for node in nodes:
            if not node.host_node or not node.container:
                seen[node.uuid] = Observation(NodeStatus.ERROR, "The node has no container.")
            else:
                by_host.setdefault(str(node.placement.get("host_cluster")), []).append(node)
        for group in by_host.values():
            try:
                host = self.host_of_node(group[0])
                ready = {n.name for n in host.nodes() if n.ready}
                records = containers_of(host, group)
            except StepFailed as exc:
                seen.update({n.uuid: Observation(NodeStatus.ERROR, str(exc)) for n in group})
                continue
            for node in group:
                seen[node.uuid] = _observation(node, ready, records.get(node.uuid))
        return seen

    def _recover(
        self,
        op: OperationRun,
        nodes: Sequence[NodeView],
        inputs: dict[str, Any],
        view: ClusterView | None,
    ) -> list[str]:
        operation = str(inputs.get("operation") or "RECREATE").upper()
        seen = self.observe(nodes)
        done = []
        for node in nodes:
            found = seen[node.uuid]
            if found.status is NodeStatus.ACTIVE and not inputs.get("force"):
                if node.status != NodeStatus.ACTIVE:  # recovered by an attempt that died
                    self.store.set_node(node.uuid, NodeStatus.ACTIVE, found.reason)
                continue
            avoid = frozenset({node.host_node}) if found.host_lost and node.host_node else None
            if operation in ("REBOOT", "RESTART") and avoid is None and found.exists:
                self._operate(node, "restart", {})
            else:
                self._recreate(op, node, view, avoid=avoid or frozenset())
            done.append(node.uuid)
        return done

    def _recreate(
        self, op: OperationRun, node: NodeView, view: ClusterView | None, avoid: frozenset[str]
    ) -> None:
        """Remove the node's container and make it again, elsewhere when its host node is
        lost (``avoid``)."""
        self.store.set_node(node.uuid, NodeStatus.RECOVERING, "Recovery in progress")
        step = f"re-place {node.uuid}"
        if avoid and not op.steps.done(step):
            try:
                host = self.host_of_node(node)
                if node.container and node.host_node:
                    host.remove_container(node.host_node, node.container, grace=0)
            except Exception as exc:  # the lost node's engine may not answer
                if is_permanent(exc):
                    raise
            placer = self.placer(view, host) if view is not None else None
            target = (
                placer.place(avoid)
                if placer is not None
                else Placer(host.nodes(), self.hosts.loads.of(host)).place(avoid)
            )
            op.steps.run(step, lambda: {"host_node": target})
            self.store.place(node.uuid, {**node.placement, "host_node": target})
        elif node.container and node.host_node:
            self.host_of_node(node).remove_container(node.host_node, node.container, grace=0)
        made = self._make(node.uuid, "NODE_RECOVER")
        _raise_first([made])

    def _operate(self, node: NodeView, operation: str, params: dict[str, Any]) -> None:
        if not node.host_node or not node.container:
            raise StepFailed(f"Node {node.name} has no container to {operation}.")
        host = self.host_of_node(node)
        grace = float(params.get("wait_time") or params.get("timeout") or 10)
        if operation == "restart":
            host.restart_container(node.host_node, node.container, grace=grace)
        elif operation == "pause":
            host.pause_container(node.host_node, node.container)
        elif operation == "unpause":
            host.unpause_container(node.host_node, node.container)
        else:
            raise StepFailed(f"Unknown operation '{operation}' (restart, pause, unpause).")
        self.store.set_node(
            node.uuid,
            NodeStatus.ACTIVE,
            f"Operation {operation} succeeded",
            action="NODE_OPERATION",
        )


@dataclass(frozen=True)
class Observation:
    status: NodeStatus
    reason: str
    exists: bool = False  # the container is there (stopped perhaps)
    host_lost: bool = False  # its host node is not ready: recovery places it elsewhere


def _observation(node: NodeView, ready: set[str], record: ContainerRecord | None) -> Observation:
    if node.host_node not in ready:
        return Observation(
            NodeStatus.ERROR, f"Host node {node.host_node} is not ready.", host_lost=True
        )
    if record is None:
        return Observation(NodeStatus.ERROR, f"Container {node.container} is gone.")
    if record.state != "running":
        code = f" (exit code {record.exit_code})" if record.exit_code is not None else ""
        return Observation(
            NodeStatus.ERROR, f"Container {node.container} is {record.state}{code}.", exists=True
        )
    if record.health == "unhealthy":
        return Observation(
            NodeStatus.ERROR, f"Container {node.container} fails its health check.", exists=True
        )
    return Observation(NodeStatus.ACTIVE, "Check: container is running.", exists=True)


def _sizes(view: ClusterView) -> Sizes:
    return Sizes(len(view.nodes), view.desired, view.min_size, view.max_size)


def _resize_decision(view: ClusterView, inputs: dict[str, Any]) -> Outputs:
    """Senlin's resize, worked out against the cluster as it is when the action runs (the
    API checked the same against the cluster as it was)."""
    current = sizes.Sizes(view.desired, view.min_size, view.max_size)
    try:
        plan = sizes.parse_resize(current, sizes.Resize.of(inputs))
    except ValueError as exc:
        raise PolicyRefusal(str(exc)) from None
    return {
        "desired": plan.desired,
        "min_size": plan.min_size,
        "max_size": plan.max_size,
        "change": plan.desired - len(view.nodes),
    }


def _raise_first(made: Sequence[Made]) -> None:
    """After every container was tried: a temporary error retries the action (what is done
    stays done); a permanent one fails it, naming how many nodes failed."""
    errors = [m.error for m in made if m.error is not None]
    temporary = [e for e in errors if not is_permanent(e)]
    if temporary:
        raise temporary[0]
    if errors:
        raise StepFailed(f"Failed in creating {len(errors)} of {len(made)} nodes: {errors[0]}")


def _update_plan(view: ClusterView, profile: str) -> dict[str, Any]:
    stale = [n.uuid for n in view.nodes if n.profile_uuid != profile]
    batching = policies.batching_of(view.policies, len(view.nodes))
    return {"batches": policies.batches(stale, batching.size), "pause": batching.pause}
