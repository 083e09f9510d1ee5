"""The health policy at work: every container cluster with an enabled
``senlin.policy.health`` is looked at once per its ``detection.interval``; a member whose
container is gone, stopped or unhealthy, or whose host node is lost, is marked ERROR and a
CLUSTER_RECOVER action is started with the policy's recovery action (RECREATE re-places a
container whose host node is lost). One listing per host cluster per look, whatever the
number of members. A cluster already running an action is looked at again next tick."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cove.conductor.clustering.actions import Actions
from cove.conductor.clustering.hosted import start_recover
from cove.db import clustering as m
from cove.db.session import transaction
from cove.domain.clustering.statuses import ClusterStatus, NodeStatus
from cove.services import operations

log = logging.getLogger(__name__)

# Clusters in these states are being made or removed: their nodes are not yet (or no
# longer) expected to run.
_SETTLING = {str(ClusterStatus.INIT), str(ClusterStatus.CREATING), str(ClusterStatus.DELETING)}


@dataclass(frozen=True)
class Watch:
    cluster_id: int
    interval: float
    recovery: str  # RECREATE | REBOOT
    all_failed: bool  # recovery_conditional ALL_FAILED: act only when every member failed


def watch_of(cluster_id: int, properties: dict[str, Any]) -> Watch:
    detection = properties.get("detection") or {}
    interval = detection.get("interval")
    if interval is None:  # version 1.0 kept it in the detection options
        interval = (detection.get("options") or {}).get("interval", 60)
    actions = (properties.get("recovery") or {}).get("actions") or [{"name": "RECREATE"}]
    return Watch(
        cluster_id,
        float(interval),
        str(actions[0].get("name", "RECREATE")).upper(),
        detection.get("recovery_conditional") == "ALL_FAILED",
    )


class ContainerHealth:
    def __init__(
        self,
        factory: sessionmaker[Session],
        actions: Actions,
        clock: Callable[[], datetime],
    ) -> None:
        self.factory = factory
        self.actions = actions
        self.clock = clock
        self._looked: dict[int, datetime] = {}

    def tick(self) -> int:
        """Look at the clusters that are due; returns how many recoveries were started."""
        started = 0
        now = self.clock()
        for watch in self._watches():
            last = self._looked.get(watch.cluster_id)
            if last is not None and now - last < timedelta(seconds=watch.interval):
                continue
            self._looked[watch.cluster_id] = now
            try:
                started += self._look(watch)
            except Exception:
                log.warning(
                    "health check of container cluster %s failed", watch.cluster_id, exc_info=True
                )
        return started

    def _watches(self) -> list[Watch]:
        with transaction(self.factory, write=False) as session:
            rows = session.execute(
                select(m.PolicyBinding.cluster_id, m.Policy.spec)
                .join(m.Policy, m.Policy.id == m.PolicyBinding.policy_id)
                .join(m.ContainerCluster, m.ContainerCluster.id == m.PolicyBinding.cluster_id)
                .where(
                    m.PolicyBinding.enabled.is_(True),
                    m.Policy.type.startswith("senlin.policy.health"),
                    m.ContainerCluster.status.not_in(_SETTLING),
                )
            ).all()
        return [
            watch_of(cluster_id, dict(spec.get("properties") or {})) for cluster_id, spec in rows
        ]

    def _look(self, watch: Watch) -> int:
        view = self.actions.store.cluster(watch.cluster_id)
        seen = self.actions.observe(view.nodes)
        failed = {uuid: o for uuid, o in seen.items() if o.status is not NodeStatus.ACTIVE}
        if not failed or (watch.all_failed and len(failed) < len(view.nodes)):
            return 0
        with transaction(self.factory) as session:
            cluster = session.get(m.ContainerCluster, watch.cluster_id, with_for_update=True)
            if cluster is None or operations.find_active(session, cluster) is not None:
                return 0
            for node in session.scalars(
                select(m.ContainerNode).where(m.ContainerNode.uuid.in_(failed))
            ):
                node.status, node.status_reason = str(NodeStatus.ERROR), failed[node.uuid].reason
            started = start_recover(
                session,
                cluster,
                cause="Health policy",
                message=f"Health policy: {len(failed)} member(s) failed; recovering.",
                operation=watch.recovery,
            )
        return int(started)
