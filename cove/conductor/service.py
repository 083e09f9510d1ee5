"""The conductor process: workers that claim and drive operations, woken at once by an
in-process signal when the API records work (no polling on the critical path), with a
periodic scan as the fallback for work recorded by other processes or backed off."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cove.conductor import faults, leases, sweeper
from cove.conductor.clustering.health import ContainerHealth
from cove.conductor.kinds import every_reconciler
from cove.conductor.monitor import HealthMonitor
from cove.conductor.runner import Runner
from cove.db import models, notify
from cove.db.session import transaction
from cove.drivers.registry import DriverRegistry
from cove.services import operations
from cove.settings import Settings

log = logging.getLogger(__name__)

BINARY = "magnum-conductor"  # the name Magnum's clients expect in `service list`


CONTAINER_HEALTH_TICK = 1.0  # seconds; a health policy's interval is whole seconds


def default_workers() -> int:
    """Operations run at once: two per core this process may use. A cluster operation mostly
    waits for node engines that boot on the same cores; more at once only makes each wait
    longer (10 clusters on 2 cores: 4 at a time were done in 0.64-0.71x the time of starting
    all 30 nodes at once)."""
    return 2 * len(os.sched_getaffinity(0))


class Conductor:
    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        registry: DriverRegistry,
        *,
        workers: int | None = None,
        host: str | None = None,
        clock: leases.Clock = models.utcnow,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.host = host or socket.gethostname()
        self.owner = f"{self.host}:{id(self):x}"
        self.drivers = registry
        self.workers = workers or default_workers()
        self.health = HealthMonitor(factory, registry, parallel=self.workers)
        # Clusters whose operation just succeeded, for an immediate health check on a thread
        # of its own: a worker goes straight on to the next operation.
        self._completed: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.reconcilers, containers = every_reconciler(
            factory, registry, after_success=self._completed.put, clock=clock
        )
        self.container_health = ContainerHealth(factory, containers.actions, clock)
        self.runner = Runner(
            factory,
            self.reconcilers,
            self.owner,
            lease_seconds=settings.lease_seconds,
            clock=clock,
            after_step=faults.kill_after_step(settings.fault_kill_after_step),
        )
        self.clock = clock
        self._wake = threading.Condition()
        self._pending_wakeups = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _check_completed(self) -> None:
        """Right after an operation: a cluster's health is known when it completes, not at
        the monitor's next round."""
        while (cluster_id := self._completed.get()) is not None:
            try:
                if self.health.check(cluster_id):
                    self.wakeup()  # it started a heal
            except Exception:
                log.warning("health check of cluster %s failed", cluster_id, exc_info=True)

    def _prepare_drivers(self) -> None:
        """The drivers' one-time probes, now rather than in the first operation; one that
        fails is left to that operation, which reports what went wrong."""
        for name in self.drivers.names():
            prepare = getattr(self.drivers.find_by_name(name), "prepare", None)
            if prepare is None:
                continue
            try:
                prepare()
            except Exception as exc:
                log.info("driver %s: start-up probe skipped: %s", name, exc)

    def wakeup(self) -> None:
        with self._wake:
            self._pending_wakeups += 1
            self._wake.notify_all()

    def start(self) -> None:
        self._report_alive()
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"conductor-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        for target, name in (
            (self._monitor, "conductor-health"),
            (self._check_completed, "conductor-health-now"),
            (self._watch_containers, "conductor-container-health"),
            (self._sample_loads, "conductor-container-loads"),
            (self._prepare_drivers, "conductor-prepare"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        beat = threading.Thread(target=self._service_heartbeat, name="conductor-beat", daemon=True)
        beat.start()
        self._threads.append(beat)
        # Work an API in another process records wakes a worker at its commit; listening
        # (re)starts with a wake-up, to catch up on what was recorded before.
        listener = threading.Thread(
            target=notify.listen,
            args=(self.factory.kw["bind"], operations.CHANNEL, lambda _: self.wakeup(), self._stop),
            kwargs={"on_ready": self.wakeup},
            name="conductor-listen",
            daemon=True,
        )
        listener.start()
        self._threads.append(listener)
        log.info("conductor %s started with %d workers", self.owner, self.workers)

    def stop(self) -> None:
        self._stop.set()
        self._completed.put(None)
        self.wakeup()
        for thread in self._threads:
            thread.join(timeout=10)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                did_work = self.runner.run_one()
            except Exception:
                log.exception("conductor worker error")
                did_work = False
            if did_work:
                continue
            self._idle()

    def _idle(self) -> None:
        timeout = self.settings.scan_interval
        try:
            due = leases.next_due(self.factory, self.clock)
        except Exception:
            due = None
        if due is not None:
            timeout = min(timeout, due + 0.01)
        with self._wake:
            if self._pending_wakeups:
                self._pending_wakeups -= 1
                return
            self._wake.wait(timeout)
            if self._pending_wakeups:
                self._pending_wakeups -= 1

    def _watch_containers(self) -> None:
        """Health policies of container clusters, each at its own interval (a tick is one
        small query when none is due)."""
        while not self._stop.wait(CONTAINER_HEALTH_TICK):
            try:
                if self.container_health.tick():
                    self.wakeup()
            except Exception:
                log.exception("container health pass failed")

    def _sample_loads(self) -> None:
        """Keeps the load samples of host clusters in use fresh, so placement does not
        wait for a Docker engine's stats tick (cove.conductor.clustering.loads)."""
        while not self._stop.wait(CONTAINER_HEALTH_TICK):
            self.container_health.actions.hosts.loads.refresh()

    def _monitor(self) -> None:
        while not self._stop.wait(self.settings.health_interval):
            try:
                if self.health.check_all():
                    self.wakeup()
            except Exception:
                log.exception("health monitor pass failed")
            try:
                sweeper.sweep(self.factory, self.drivers)
            except Exception:
                log.warning("orphan sweep failed", exc_info=True)

    def _service_heartbeat(self) -> None:
        while not self._stop.wait(self.settings.lease_seconds):
            try:
                self._report_alive()
            except Exception:
                log.exception("could not record the conductor's heartbeat")

    def _report_alive(self) -> None:
        now: datetime = self.clock()
        with transaction(self.factory) as session:
            svc = session.scalar(
                select(models.Service).where(
                    models.Service.host == self.host, models.Service.binary == BINARY
                )
            )
            if svc is None:
                svc = models.Service(host=self.host, binary=BINARY, report_count=0)
                session.add(svc)
            svc.report_count += 1
            svc.last_seen_up = now
            svc.updated_at = now
