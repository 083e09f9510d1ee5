"""Health monitoring and auto-healing. Each pass asks the driver of every settled cluster for
its nodes' health, records ``health_status`` and ``health_status_reason`` (with an event when
the status changes), and, when the cluster's label ``auto_healing_enabled`` is true, starts a
heal operation for the nodes that failed two checks in a row. Drivers without the capability
are skipped."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from cove import errors
from cove.conductor import snapshot
from cove.db import models
from cove.db.session import transaction
from cove.domain import labels
from cove.domain.statuses import STABLE, Operation, Status, allows, start_status
from cove.drivers.base import ClusterSpec, DriverKey, HealthReport
from cove.drivers.registry import DriverRegistry, NoDriver
from cove.services import operations

log = logging.getLogger(__name__)

WATCHED = tuple(str(s) for s in STABLE | {Status.UPDATE_FAILED})
PAGE = 100  # clusters read in one transaction; their checks run before the next page is read


@dataclass(frozen=True)
class Watched:
    """A cluster as the page read it: its snapshot and the health it has on record."""

    cluster_id: int
    spec: ClusterSpec
    recorded: tuple[str | None, dict[str, Any]]


class HealthMonitor:
    """``parallel``: driver checks run at once (each mostly waits for a node's engine)."""

    def __init__(
        self, factory: sessionmaker[Session], registry: DriverRegistry, parallel: int = 4
    ) -> None:
        self.factory = factory
        self.registry = registry
        self.parallel = parallel

    def check_all(self) -> int:
        """One pass over every settled cluster; returns how many heal operations it started.
        Clusters are read a page at a time (a few statements per page, not per cluster) and
        each page's checks run in parallel."""
        with transaction(self.factory, write=False) as session:
            ids = list(
                session.scalars(select(models.Cluster.id).where(models.Cluster.status.in_(WATCHED)))
            )
        started = 0
        with ThreadPoolExecutor(self.parallel, thread_name_prefix="health-check") as pool:
            for first in range(0, len(ids), PAGE):
                started += self._check_page(ids[first : first + PAGE], pool)
        return started

    def check(self, cluster_id: int) -> int:
        """One cluster now (just after an operation succeeded)."""
        return self._check_page([cluster_id], None)

    def _check_page(self, ids: list[int], pool: ThreadPoolExecutor | None) -> int:
        try:
            watched = self._read(ids)
        except Exception:
            log.exception("reading clusters %s for their health check failed", ids)
            return 0
        checks = pool.map(self._check_one, watched) if pool else map(self._check_one, watched)
        return sum(checks)

    def _read(self, ids: list[int]) -> list[Watched]:
        with transaction(self.factory, write=False) as session:
            clusters = list(
                session.scalars(
                    select(models.Cluster)
                    .where(models.Cluster.id.in_(ids), models.Cluster.status.in_(WATCHED))
                    .options(selectinload(models.Cluster.nodegroups))
                )
            )
            if not clusters:
                return []
            specs = snapshot.cluster_specs(session, clusters)
            return [
                Watched(c.id, spec, (c.health_status, dict(c.health_status_reason or {})))
                for c, spec in zip(clusters, specs, strict=True)
            ]

    def _check_one(self, watched: Watched) -> int:
        spec = watched.spec
        try:
            try:
                driver = self.registry.find(
                    DriverKey(spec.server_type, spec.os_distro, spec.coe),
                    spec.template.get("driver"),
                )
            except NoDriver:
                return 0
            if not hasattr(driver, "check_health"):
                return 0
            report: HealthReport = driver.check_health(spec)
            if not report.failed_nodes and watched.recorded == (report.status, report.reason):
                # The steady state: nothing to record and nothing to heal, so no write (a
                # write transaction per cluster per pass took SQLite's write lock 10,000
                # times a pass).
                return 0
            return self._record(watched.cluster_id, report)
        except Exception:
            log.exception("health check of cluster %s failed", spec.name)
            return 0

    def _record(self, cluster_id: int, report: HealthReport) -> int:
        with transaction(self.factory) as session:
            # Locked like an API write's (SQLite: the writing transaction), so the check for
            # an active operation below sees what writes committed before.
            cluster = session.get(models.Cluster, cluster_id, with_for_update=True)
            if cluster is None:
                return 0
            if cluster.health_status != report.status:
                failed = ", ".join(report.failed_nodes)
                message = f"Health is now {report.status}" + (
                    f": {failed} failed." if failed else "."
                )
                operations.record_event(
                    session, cluster, message,
                    level="info" if report.status == "HEALTHY" else "warning",
                )  # fmt: skip
            # Grace: heal only what failed in the previous check too (one health interval),
            # so a node restarting or briefly unreachable is not replaced.
            previous = cluster.health_status_reason or {}
            confirmed = [n for n in report.failed_nodes if previous.get(f"{n}.Ready") == "False"]
            cluster.health_status = report.status
            cluster.health_status_reason = report.reason
            if not (confirmed and _auto_healing(cluster.labels)):
                return 0
            if operations.find_active(session, cluster) is not None:
                return 0
            if not allows(cluster.status, Operation.HEAL):
                return 0
            try:
                operations.start(
                    session, cluster, Operation.HEAL, {"nodes": confirmed},
                    message=f"Auto-healing: replacing {', '.join(confirmed)}.",
                )  # fmt: skip
            except errors.ClusterBusy as busy:
                # Another operation won the race to the cluster: it is busy, heal later.
                # The health observed above is still recorded.
                log.info("not healing cluster %s now: %s", cluster.name, busy)
                return 0
            operations.set_status(cluster, start_status(Operation.HEAL))
            return 1


def _auto_healing(cluster_labels: dict[str, object]) -> bool:
    value = cluster_labels.get("auto_healing_enabled")
    try:
        return value is not None and labels.parse_bool(str(value))
    except ValueError:
        return False
