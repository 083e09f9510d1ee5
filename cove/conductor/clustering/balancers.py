"""Balancers of container clusters kept in step with their members: after every action on a
cluster with an enabled loadbalance policy, its balancer is given the ACTIVE members as
backends (an unchanged set changes nothing); a detached policy's balancer goes, and a
deleted cluster's. Where clients reach each balancer is in the cluster's ``data``."""

from __future__ import annotations

from cove.clustering.balancing import Member, balancer_name, policies_of, spec_of
from cove.clustering.containers import host_of
from cove.conductor.clustering.hosts import Hosts
from cove.conductor.clustering.members import containers_of
from cove.conductor.clustering.store import ClusterView, Store
from cove.domain.clustering.statuses import NodeStatus

DATA_KEY = "loadbalancers"


class Balancers:
    def __init__(self, store: Store, hosts: Hosts) -> None:
        self.store = store
        self.hosts = hosts

    def converge(self, cluster_id: int) -> None:
        view = self.store.cluster(cluster_id)
        wanted = policies_of(view.policies)
        if not wanted and not view.data.get(DATA_KEY):
            return
        _, host = self.hosts.resolve(view.project_id, host_of(view.profile_spec))
        addresses = {n.name: n.address for n in host.nodes()}
        records = containers_of(host, view.nodes)
        members = [
            Member(n.uuid, addresses.get(n.host_node or "", ""), records.get(n.uuid))
            for n in view.nodes
            if n.status == NodeStatus.ACTIVE
        ]
        endpoints = {}
        for policy in wanted:
            spec = spec_of(view.uuid, policy, members)
            record = host.ensure_balancer(spec)
            endpoints[policy.uuid] = {
                "vip_address": record.address,
                "vip_port": record.port,
                "members": [b.name for b in spec.backends],
            }
        for stale in set(view.data.get(DATA_KEY) or {}) - set(endpoints):
            host.remove_balancer(balancer_name(view.uuid, stale))
        self.store.set_data(view.id, DATA_KEY, endpoints)

    def remove_all(self, view: ClusterView) -> None:
        if not view.data.get(DATA_KEY):
            return
        _, host = self.hosts.resolve(view.project_id, host_of(view.profile_spec))
        for policy_uuid in view.data[DATA_KEY]:
            host.remove_balancer(balancer_name(view.uuid, policy_uuid))
