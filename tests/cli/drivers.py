"""A test driver whose creates and deletes take a while (os_distro ``slow``; labels
``slow_seconds``, default 2, and ``slow_delete_seconds``, default 0), so the CLI tests can
watch a wait in progress, interrupt it, and see ``--no-wait`` return before the end.
Everything else it does at once, as the instant driver."""

from __future__ import annotations

import time

from cove.drivers.base import ClusterReport, DriverKey, OperationInput
from tests.support.drivers import COES, InstantDriver

DEFAULT_SECONDS = 2.0


def _pause(op: OperationInput, label: str, share: float = 1.0) -> None:
    """Sleep for a share of the cluster's ``label`` seconds (drivers run in a conductor
    worker thread, so nothing else waits on it)."""
    default = DEFAULT_SECONDS if label == "slow_seconds" else 0.0
    time.sleep(float(op.cluster.labels.get(label, default)) * share)


class SlowDriver(InstantDriver):
    name = "slow"
    provides = tuple(DriverKey(st, "slow", coe) for st in ("vm", "bm") for coe in COES)

    def create_cluster(self, op: OperationInput) -> ClusterReport:
        op.event("slow: starting the nodes")
        _pause(op, "slow_seconds", 0.5)
        op.event("slow: half of the nodes are up")
        _pause(op, "slow_seconds", 0.5)
        return super().create_cluster(op)

    def delete_cluster(self, op: OperationInput) -> None:
        _pause(op, "slow_delete_seconds")
